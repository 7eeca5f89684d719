"""Test connection against the fakes: every auth mode passes step by step; failures name the step and the field."""
import json
import logging
import re

import pytest
from django.urls import reverse

from providers.connection_test import STEPS
from providers.models import ProviderConfig
from tests.providers.conftest import (
    AKID,
    ANTHROPIC_KEY,
    AWS_SECRET,
    BEDROCK_API_KEY,
    ROLE_ARN,
    assert_no_secrets,
    bedrock_endpoints,
    make_bedrock,
    start_bedrock,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]


def bedrock_form(server, **changes):
    data = {"kind": "bedrock", "name": "bedrock-test", "enabled": "on", "timeout_seconds": "20",
            "verify_tls": "on", "aws_region": "us-east-1", "auth_mode": "static_keys", "aws_access_key_id": AKID,
            "aws_secret_access_key": AWS_SECRET, "bedrock_api_key_source": "env",
            "bedrock_api_key_env": "AWS_BEARER_TOKEN_BEDROCK", "role_session_name": "moments-admin",
            "role_duration_seconds": "3600", "batch_s3_prefix": "moments-batch",  # as the edit page posts it
            **bedrock_endpoints(server)}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def anthropic_form(server, **changes):
    data = {"kind": "anthropic", "name": "anthropic-test", "enabled": "on", "timeout_seconds": "20",
            "verify_tls": "on", "api_key_source": "stored", "api_key": ANTHROPIC_KEY, "api_key_env": "",
            "base_url": server.url}
    data.update(changes)
    return data


def run_all(client, data):
    """Post each step as the page does (run id carried along); returns {step: html} up to the first failure."""
    seen, run = {}, ""
    for step in STEPS:
        response = client.post(reverse("providers:test-connection", args=[step]), {**data, "run": run})
        assert response.status_code == 200
        html = response.content.decode()
        seen[step] = html
        match = re.search(r'"run": "([0-9a-f]{32})"', html)
        if 'class="step bad"' in html or match is None:
            break
        run = match.group(1)
    return seen


def shown_policy(html):
    return json.loads(re.search(r'<pre class="policy">(.*?)</pre>', html, re.S).group(1).replace("&quot;", '"'))


def passed(html):
    return 'class="step ok"' in html and 'class="step bad"' not in html


def write_profile(tmp_path, name="moments-test", sso=False):
    if sso:
        (tmp_path / "aws-config").write_text(
            f"[profile {name}]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n"
            "region = us-east-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
            "sso_region = us-east-1\n")
    else:
        (tmp_path / "aws-credentials").write_text(
            f"[{name}]\naws_access_key_id = {AKID}\naws_secret_access_key = {AWS_SECRET}\n")


# --- every auth mode passes ------------------------------------------------------------------------

def test_static_keys_pass_every_step_with_times(staff_client, bedrock_api):
    seen = run_all(staff_client, bedrock_form(bedrock_api))
    assert list(seen) == list(STEPS)
    assert all(passed(html) for html in seen.values())
    assert "Account 123456789012" in seen["credentials"]
    assert re.search(r'class="elapsed">\d+ ms', seen["permissions"])
    assert "First token after" in seen["streaming"] and "All checks passed." in seen["streaming"]


def test_profile_mode_passes(staff_client, bedrock_api, aws_env):
    write_profile(aws_env)
    seen = run_all(staff_client, bedrock_form(bedrock_api, auth_mode="profile", aws_profile="moments-test",
                                              aws_access_key_id="", aws_secret_access_key=""))
    assert list(seen) == list(STEPS) and all(passed(h) for h in seen.values())


@pytest.mark.parametrize("mode", ["env", "default_chain"])
def test_environment_and_default_chain_pass(staff_client, bedrock_api, monkeypatch, mode):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    seen = run_all(staff_client, bedrock_form(bedrock_api, auth_mode=mode, aws_access_key_id="",
                                              aws_secret_access_key=""))
    assert list(seen) == list(STEPS) and all(passed(h) for h in seen.values())


def test_bedrock_api_key_from_env_passes_over_https(staff_client, bedrock_tls_api, monkeypatch):
    monkeypatch.setenv("MY_BEDROCK_KEY", BEDROCK_API_KEY)
    seen = run_all(staff_client, bedrock_form(bedrock_tls_api, auth_mode="api_key", bedrock_api_key_env="MY_BEDROCK_KEY",
                                              aws_access_key_id="", aws_secret_access_key=""))
    assert list(seen) == list(STEPS) and all(passed(h) for h in seen.values())
    assert "bedrock:CallWithBearerToken" in seen["permissions"]
    assert_no_secrets("".join(seen.values()))


def test_stored_bedrock_api_key_passes(staff_client, bedrock_tls_api):
    seen = run_all(staff_client, bedrock_form(bedrock_tls_api, auth_mode="api_key", bedrock_api_key_source="stored",
                                              bedrock_api_key=BEDROCK_API_KEY, aws_access_key_id="",
                                              aws_secret_access_key=""))
    assert list(seen) == list(STEPS) and all(passed(h) for h in seen.values())


def test_assume_role_on_static_keys_passes_and_shows_the_role():
    server = start_bedrock(allowed_roles={ROLE_ARN: None}, external_id="ext-123")
    try:
        from django.test import Client

        client = _staff_client(Client())
        seen = run_all(client, bedrock_form(server, role_arn=ROLE_ARN, external_id="ext-123"))
        assert list(seen) == list(STEPS) and all(passed(h) for h in seen.values())
        assert "assumed-role/moments-bedrock" in seen["credentials"]
        wrong = run_all(client, bedrock_form(server, role_arn=ROLE_ARN, external_id="wrong"))
        assert list(wrong) == ["credentials"]
        assert 'id="test-error-role_arn"' in wrong["credentials"]
    finally:
        server.stop()


def _staff_client(client):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("carol", "carol@example.test", "pw-carol-12345", is_staff=True)
    client.force_login(user)
    return client


def test_anthropic_passes_every_step(staff_client, anthropic_api):
    seen = run_all(staff_client, anthropic_form(anthropic_api))
    assert list(seen) == list(STEPS) and all(passed(h) for h in seen.values())
    assert "…" in seen["credentials"]  # the key hint, not the key
    assert_no_secrets("".join(seen.values()))


# --- failures ---------------------------------------------------------------------------------------

def test_wrong_secret_fails_at_credentials_on_the_secret_field(staff_client, bedrock_api):
    seen = run_all(staff_client, bedrock_form(bedrock_api, aws_secret_access_key="wrong-secret-value-0000"))
    assert list(seen) == ["credentials"]
    html = seen["credentials"]
    assert 'class="step bad"' in html
    assert re.search(r'id="test-error-aws_secret_access_key"[^>]*hx-swap-oob="true">[^<]+', html)
    assert "--aws-sigv4" in html and "$AWS_SECRET_ACCESS_KEY" in html  # copyable curl, placeholder only
    assert "wrong-secret-value-0000" not in html


def test_wrong_anthropic_key_fails_on_the_key_field(staff_client, anthropic_api):
    seen = run_all(staff_client, anthropic_form(anthropic_api, api_key="sk-ant-wrong-0000000000000000"))
    assert list(seen) == ["credentials"]
    assert re.search(r'id="test-error-api_key"[^>]*hx-swap-oob="true">[^<]+', seen["credentials"])
    assert "sk-ant-wrong-0000000000000000" not in seen["credentials"]


def test_denied_permission_names_the_action_and_shows_a_policy():
    server = start_bedrock(denied_actions=["bedrock:InvokeModelWithResponseStream"])
    try:
        from django.test import Client

        client = _staff_client(Client())
        seen = run_all(client, bedrock_form(server))
        assert list(seen) == ["credentials", "permissions"]
        html = seen["permissions"]
        assert "Missing permission bedrock:InvokeModelWithResponseStream" in html
        assert "Denied: bedrock:InvokeModelWithResponseStream." in html
        policy = shown_policy(html)
        # The policy covers everything the provider uses, not only the denied action.
        statements = {s["Sid"]: s for s in policy["Statement"]}
        assert statements["InvokeClaude"]["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
        assert any("claude-sonnet-5-5" in r for r in statements["InvokeClaude"]["Resource"])  # every mapped model
        assert any("claude-haiku-5-5" in r for r in statements["InvokeClaude"]["Resource"])
        assert "bedrock:ListFoundationModels" in statements["ReadModelCatalog"]["Action"]
        assert "BatchJobs" not in statements  # no batch settings, no batch grants
        assert 'id="test-error-permissions" class="test-error error" role="alert" hx-swap-oob="true">Missing' in html
    finally:
        server.stop()


def test_expired_sso_profile_says_how_to_log_in(staff_client, bedrock_api, aws_env):
    write_profile(aws_env, name="corp-dev", sso=True)
    cache = aws_env / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    import hashlib

    (cache / (hashlib.sha1(b"corp").hexdigest() + ".json")).write_text(json.dumps(
        {"accessToken": "x", "expiresAt": "2020-01-01T00:00:00Z", "startUrl": "https://corp.awsapps.com/start"}))
    seen = run_all(staff_client, bedrock_form(bedrock_api, auth_mode="profile", aws_profile="corp-dev",
                                              aws_access_key_id="", aws_secret_access_key=""))
    assert list(seen) == ["credentials"]
    assert "aws sso login --profile corp-dev" in seen["credentials"]
    assert 'id="test-error-aws_profile"' in seen["credentials"]


def test_unknown_profile_lists_the_profiles_found(staff_client, bedrock_api, aws_env):
    write_profile(aws_env, name="moments-test")
    seen = run_all(staff_client, bedrock_form(bedrock_api, auth_mode="profile", aws_profile="nope",
                                              aws_access_key_id="", aws_secret_access_key=""))
    assert "No profile named nope" in seen["credentials"] and "moments-test" in seen["credentials"]


def test_model_not_in_region_fails_on_the_mapping_row(staff_client, bedrock_api):
    seen = run_all(staff_client, bedrock_form(bedrock_api, map_opus="eu.anthropic.claude-opus-4-1-20250805-v1:0"))
    assert list(seen) == ["credentials", "permissions", "models"]
    assert re.search(r'id="test-error-map_opus"[^>]*hx-swap-oob="true">opus: ', seen["models"])


def test_the_models_step_looks_up_a_custom_profile_as_calls_do(staff_client, bedrock_api):
    # The live step's client asks GetInferenceProfile; the models step must too, or the two disagree.
    missing = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/doesnotexist"
    bedrock_api.reset()
    seen = run_all(staff_client, bedrock_form(bedrock_api, inference_profile=missing))
    assert list(seen) == ["credentials", "permissions", "models"] and not passed(seen["models"])
    assert "does not exist in us-east-1" in seen["models"]
    assert any(r.path.startswith("/inference-profiles/") for r in bedrock_api.requests)


def test_unreachable_endpoint_points_at_the_endpoint_field(staff_client, bedrock_api):
    # STS and the control plane both unreachable (STS alone falls back: tests/onboarding/test_credentials.py).
    data = bedrock_form(bedrock_api, sts_endpoint_url="http://127.0.0.1:9", control_endpoint_url="http://127.0.0.1:9")
    seen = run_all(staff_client, data)
    assert list(seen) == ["credentials"]
    assert re.search(r'id="test-error-sts_endpoint_url"[^>]*hx-swap-oob="true">[^<]+', seen["credentials"])


def test_invalid_form_stops_before_any_request(staff_client, bedrock_api):
    bedrock_api.reset()
    response = staff_client.post(reverse("providers:test-connection", args=["credentials"]),
                                 bedrock_form(bedrock_api, aws_region="mars-1", role_arn="not-an-arn"))
    html = response.content.decode()
    assert "nothing was sent" in html
    assert 'id="test-error-role_arn"' in html and 'id="test-error-aws_region"' in html
    assert bedrock_api.requests == []


# --- the stored last result ---------------------------------------------------------------------

def test_saved_provider_stores_the_last_result(staff_client, bedrock_api):
    config = make_bedrock(server=bedrock_api)
    data = bedrock_form(bedrock_api, name="bedrock", aws_secret_access_key="", provider_id=str(config.pk),
                        timeout_seconds="60")  # the saved values: only those are stored as the last test
    seen = run_all(staff_client, data)
    assert all(passed(h) for h in seen.values())
    config.refresh_from_db()
    assert config.last_test_ok is True
    assert [s["step"] for s in config.last_test_steps] == list(STEPS)
    assert config.last_test_summary.startswith("Passed 5 checks")
    page = staff_client.get(reverse("providers:list")).content.decode()
    assert "passed" in page and "Passed 5 checks" in page


def test_failed_run_is_stored_as_failed(staff_client, bedrock_api):
    from providers import crypto

    config = make_bedrock(server=bedrock_api, aws_secret_access_key_encrypted=crypto.encrypt("bad-secret-000000"))
    run_all(staff_client, bedrock_form(bedrock_api, name="bedrock", aws_secret_access_key="",
                                       provider_id=str(config.pk), timeout_seconds="60"))
    config.refresh_from_db()
    assert config.last_test_ok is False and config.last_test_summary.startswith("Failed at credentials")


def test_a_run_of_unsaved_values_is_shown_but_not_stored_as_the_last_test(staff_client, bedrock_api):
    config = make_bedrock(server=bedrock_api)
    seen = run_all(staff_client, bedrock_form(bedrock_api, name="bedrock", aws_secret_access_key="bad-secret-000000",
                                              provider_id=str(config.pk), timeout_seconds="60"))
    assert 'class="step bad"' in seen["credentials"]
    config.refresh_from_db()
    assert config.last_test_at is None and config.last_test_steps == []
    # The stored secret was not replaced by testing other values.
    from providers import crypto

    assert crypto.decrypt(config.aws_secret_access_key_encrypted) == AWS_SECRET
    assert "never tested" in staff_client.get(reverse("providers:list")).content.decode()


def test_stored_steps_show_their_labels_on_the_edit_page(staff_client, bedrock_api):
    from providers import crypto

    config = make_bedrock(server=bedrock_api, aws_secret_access_key_encrypted=crypto.encrypt("bad-secret-000000"))
    run_all(staff_client, bedrock_form(bedrock_api, name="bedrock", aws_secret_access_key="",
                                       provider_id=str(config.pk), timeout_seconds="60"))
    page = staff_client.get(reverse("providers:edit", args=[config.pk])).content.decode()
    assert "<strong>Credentials resolve</strong>" in page
    assert "<strong>credentials</strong>" not in page


def test_no_secret_in_any_step_or_log(staff_client, bedrock_tls_api, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    html = "".join(run_all(staff_client, bedrock_form(bedrock_tls_api)).values())
    html += "".join(run_all(staff_client, bedrock_form(bedrock_tls_api, auth_mode="api_key",
                                                       bedrock_api_key_source="stored",
                                                       bedrock_api_key=BEDROCK_API_KEY + "x")).values())
    assert_no_secrets(html)
    assert_no_secrets(caplog.text, "logs")
    assert BEDROCK_API_KEY + "x" not in caplog.text


def test_members_cannot_run_tests(member_client, bedrock_api):
    response = member_client.post(reverse("providers:test-connection", args=["credentials"]), bedrock_form(bedrock_api))
    assert response.status_code == 403
    assert ProviderConfig.objects.count() == 0


def test_a_secret_inside_an_unexpected_error_is_scrubbed_from_result_and_log(monkeypatch, caplog):
    from providers import connection_test, crypto
    from providers.models import ProviderConfig as Config
    from providers.resolve import build_settings

    def explode(resolved):
        raise RuntimeError(f"botocore said: bad key {AWS_SECRET} for {AKID}")

    monkeypatch.setitem(connection_test._STEP_FUNCTIONS, "credentials", explode)
    caplog.set_level(logging.DEBUG)
    config = Config(name="unsaved", kind="bedrock", aws_region="us-east-1", auth_mode="static_keys",
                    aws_access_key_id=AKID, aws_secret_access_key_encrypted=crypto.encrypt(AWS_SECRET))
    result = connection_test.run_step("credentials", build_settings(config, for_test=True))
    assert not result.ok and "RuntimeError" in result.summary
    shown = json.dumps(result.as_dict())
    assert AWS_SECRET not in shown and "[redacted]" in shown
    assert AWS_SECRET not in caplog.text


def test_a_denied_assume_role_offers_a_policy_for_the_base_identity_and_the_trust_policy():
    other = "arn:aws:iam::123456789012:role/somebody-elses-role"
    server = start_bedrock(allowed_roles={other: None})
    try:
        from django.test import Client

        client = _staff_client(Client())
        seen = run_all(client, bedrock_form(server, role_arn=ROLE_ARN))
        html = seen["credentials"]
        assert list(seen) == ["credentials"] and "sts:AssumeRole" in html
        assert "trust policy" in html
        assert ROLE_ARN in html and "foundation-model" not in html  # not a Bedrock model policy
    finally:
        server.stop()
