"""Bedrock specifics: auth modes, STS, assume role, permissions, availability, Bedrock-only errors."""
import dataclasses

import pytest

from providers.clients.aws_credentials import _assumed
from providers.clients.catalog import iam_policy_for
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.registry import get_client
from providers.fakes import FakeBedrock, Fault
from tests.fake_providers import (
    AWS_KEY_ID,
    AWS_SECRET,
    BEDROCK_API_KEY,
    DictCache,
    bedrock_settings,
    model_calls,
)

# Haiku 4.5 by ID: it has a us. profile, which these tests route through.
HELLO = {"model": "claude-haiku-4-5", "max_tokens": 32, "messages": [{"role": "user", "content": "Hi"}]}
HAIKU_US = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.mark.parametrize("fault, kind", [
    ("throttling", ErrorKind.RATE_LIMITED),
    ("service_unavailable_400", ErrorKind.UNAVAILABLE),
    ("model_not_ready", ErrorKind.UNAVAILABLE),
    ("model_timeout", ErrorKind.TIMEOUT),
    ("overloaded", ErrorKind.UNAVAILABLE),
])
def test_bedrock_errors_map_to_retryable_failover_kinds(bedrock_fake, fault, kind):
    bedrock_fake.inject(Fault(fault, times=None))
    with pytest.raises(ProviderError) as caught:
        get_client(bedrock_settings(bedrock_fake)).create_message(HELLO)
    assert caught.value.kind is kind
    assert caught.value.retryable and caught.value.triggers_failover
    # A timed-out attempt may have been billed: not retried on the same provider by default.
    assert len(model_calls(bedrock_fake)) == (1 if kind is ErrorKind.TIMEOUT else 3)


def test_service_unavailable_as_http_400_is_not_an_invalid_request(bedrock_fake):
    bedrock_fake.inject(Fault("service_unavailable_400", times=1))
    result = get_client(bedrock_settings(bedrock_fake)).create_message(HELLO)
    assert result.attempts == 2  # retried, unlike a ValidationException


def test_access_denied_names_the_missing_action(bedrock_fake):
    bedrock_fake.inject(Fault("access_denied"))
    with pytest.raises(ProviderError) as caught:
        get_client(bedrock_settings(bedrock_fake)).create_message(HELLO)
    assert caught.value.kind is ErrorKind.PERMISSION
    assert caught.value.missing_action == "bedrock:InvokeModel"


def test_on_demand_error_names_the_inference_profile(bedrock_fake):
    # Force the base ID through (as an unaware caller would) to see Bedrock's real refusal.
    settings = bedrock_settings(bedrock_fake, inference_profile="anthropic.claude-haiku-4-5-20251001-v1:0")
    with pytest.raises(ProviderError) as caught:
        get_client(settings).create_message(HELLO)
    assert caught.value.kind is ErrorKind.MODEL_NOT_AVAILABLE
    assert HAIKU_US in str(caught.value)


@pytest.mark.parametrize("fault", ["stream_break", "malformed_frame"])
def test_broken_event_stream_is_stream_interrupted(bedrock_fake, fault):
    bedrock_fake.inject(Fault(fault, after_events=2))
    stream = get_client(bedrock_settings(bedrock_fake)).stream_message(HELLO)
    with pytest.raises(ProviderError) as caught:
        list(stream)
    assert caught.value.kind is ErrorKind.STREAM_INTERRUPTED


def test_throttled_stream_open_is_retried(bedrock_fake):
    bedrock_fake.inject(Fault("throttling", times=2))
    stream = get_client(bedrock_settings(bedrock_fake)).stream_message(HELLO)
    assert [e["type"] for e in stream][-1] == "message_stop"
    assert stream.attempts == 3


def test_beta_flags_reach_bedrock_in_the_body(bedrock_fake):
    get_client(bedrock_settings(bedrock_fake, beta_flags=("context-1m-2025-08-07",))).create_message(HELLO)
    [call] = model_calls(bedrock_fake)
    assert call.json["anthropic_beta"] == ["context-1m-2025-08-07"]
    assert call.json["anthropic_version"] and "model" not in call.json and "stream" not in call.json


def test_bedrock_api_key_as_bearer_token(bedrock_fake):
    settings = bedrock_settings(bedrock_fake, auth_mode="api_key", bedrock_api_key=BEDROCK_API_KEY,
                                aws_access_key_id=None, aws_secret_access_key=None)
    client = get_client(settings)
    assert client.create_message(HELLO).model_id == HAIKU_US
    assert client.identity().key_hint.endswith(BEDROCK_API_KEY[-4:])
    checks = client.check_permissions([HAIKU_US])
    assert all(c.allowed for c in checks)
    assert not client.capabilities(HAIKU_US).token_counting
    with pytest.raises(ProviderError) as unsupported:
        client.count_tokens(HELLO)
    assert unsupported.value.kind is ErrorKind.UNSUPPORTED
    assert "bedrock:CallWithBearerToken" in {c.action for c in checks}
    with pytest.raises(ProviderError) as caught:
        get_client(dataclasses.replace(settings, bedrock_api_key="bedrock-api-key-wrong")).identity()
    assert caught.value.kind is ErrorKind.AUTHENTICATION


def test_identity_from_sts(bedrock_fake):
    identity = get_client(bedrock_settings(bedrock_fake)).identity()
    assert identity.account == "123456789012"
    assert identity.arn.startswith("arn:aws:iam::123456789012:")


def test_assume_role_on_top_of_static_keys(bedrock_fake):
    _assumed.clear()
    role = "arn:aws:iam::123456789012:role/MomentsBedrock"
    settings = bedrock_settings(bedrock_fake, role_arn=role, role_session_name="moments-test")
    client = get_client(settings)
    identity = client.identity()
    assert identity.arn == "arn:aws:sts::123456789012:assumed-role/MomentsBedrock/moments-test"
    assert identity.expires_at
    assert client.create_message(HELLO).usage.output_tokens > 0
    [call] = model_calls(bedrock_fake)
    assert call.headers.get("X-Amz-Security-Token") == "<redacted>"  # signed with the temporary credentials
    # The assumed credentials are reused, not fetched again for every client.
    get_client(settings).identity()
    assert sum(1 for r in bedrock_fake.requests if (r.form or {}).get("Action") == "AssumeRole") == 1


def test_environment_credentials(bedrock_fake, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    settings = bedrock_settings(bedrock_fake, auth_mode="env", aws_access_key_id=None, aws_secret_access_key=None)
    assert get_client(settings).create_message(HELLO).model_id == HAIKU_US


def test_named_profile_from_shared_files(bedrock_fake, monkeypatch, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[moments]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    settings = bedrock_settings(bedrock_fake, auth_mode="profile", aws_profile="moments",
                                aws_access_key_id=None, aws_secret_access_key=None)
    client = get_client(settings)
    assert client.identity().account == "123456789012"
    assert client.create_message(HELLO).usage.output_tokens > 0


def test_missing_profile_is_a_configuration_error(bedrock_fake, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    settings = bedrock_settings(bedrock_fake, auth_mode="profile", aws_profile="nope",
                                aws_access_key_id=None, aws_secret_access_key=None)
    with pytest.raises(ProviderError) as caught:
        get_client(settings).identity()
    assert caught.value.kind is ErrorKind.CONFIGURATION and "nope" in caught.value.message


def test_expired_sso_profile_says_how_to_renew(bedrock_fake, monkeypatch, tmp_path):
    config = tmp_path / "config"
    config.write_text(
        "[profile corp]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = us-east-1\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("HOME", str(tmp_path))  # no cached SSO token here
    settings = bedrock_settings(bedrock_fake, auth_mode="profile", aws_profile="corp",
                                aws_access_key_id=None, aws_secret_access_key=None)
    with pytest.raises(ProviderError) as caught:
        get_client(settings).identity()
    assert caught.value.kind is ErrorKind.AUTHENTICATION
    assert "aws sso login --profile corp" in str(caught.value)


def test_permission_probe_spends_no_tokens_and_names_what_is_missing():
    denied = {AWS_KEY_ID: {"bedrock:InvokeModelWithResponseStream"}}
    with FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}, denied_actions=denied).start() as fake:
        checks = get_client(bedrock_settings(fake)).check_permissions([HAIKU_US])
        assert [(c.action, c.allowed) for c in checks] == [
            ("bedrock:InvokeModel", True), ("bedrock:InvokeModelWithResponseStream", False)]
        assert all(r.status in (400, 403) for r in model_calls(fake))  # every probe was refused: no tokens
        policy = iam_policy_for({c.action for c in checks if not c.allowed}, [HAIKU_US], "us-east-1")
        assert policy["Statement"][0]["Action"] == ["bedrock:InvokeModelWithResponseStream"]


def test_availability_comes_from_the_control_plane(bedrock_fake):
    client = get_client(bedrock_settings(bedrock_fake))
    ids = client.available_model_ids()
    assert HAIKU_US in ids and "global.anthropic.claude-haiku-4-5-20251001-v1:0" in ids
    assert "anthropic.claude-haiku-4-5-20251001-v1:0" not in ids  # profile-only: no on-demand base ID


def test_control_plane_is_cached(bedrock_fake):
    cache = {}

    settings = bedrock_settings(bedrock_fake, aws_region="us-west-2")
    for _ in range(3):
        get_client(settings, availability_cache=DictCache(cache)).create_message(HELLO)
    listings = [r for r in bedrock_fake.requests if r.path.startswith("/foundation-models")]
    assert len(listings) == 1


def test_region_without_the_model_falls_back():
    # This region's Bedrock lists only Claude Sonnet 5 for Sonnet (no Sonnet 5.5).
    region_models = {"eu-west-3": ["anthropic.claude-sonnet-5"]}
    with FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}, region_models=region_models).start() as fake:
        client = get_client(bedrock_settings(fake, aws_region="eu-west-3"))
        resolution = client.resolution("sonnet")
        assert resolution.fallback_used and resolution.model_id == "eu.anthropic.claude-sonnet-5"
        assert client.create_message({**HELLO, "model": "sonnet"}).model_id == resolution.model_id


def test_https_endpoint_with_a_private_ca():
    with FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}, bearer_tokens={BEDROCK_API_KEY}, tls=True).start() as fake:
        assert fake.url.startswith("https://")
        client = get_client(bedrock_settings(fake))
        assert client.create_message(HELLO).usage.output_tokens > 0
        assert client.identity().account == "123456789012"
        assert client.count_tokens(HELLO) > 0


def test_custom_profile_arn_resolves_to_its_model_through_get_inference_profile(bedrock_fake):
    arn = f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/{HAIKU_US}"
    client = get_client(bedrock_settings(bedrock_fake, inference_profile=arn))
    resolution = client.resolution("sonnet")
    assert (resolution.model_id, resolution.scope) == (arn, "custom")
    assert resolution.base_model_id == "anthropic.claude-haiku-4-5-20251001-v1:0"  # what the profile routes to
    assert resolution.catalog_key == "claude-haiku-4-5-20251001" and resolution.available
    assert client.create_message({**HELLO, "model": "sonnet"}).model_id == arn


def test_unknown_profile_is_reported_unavailable(bedrock_fake):
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/doesnotexist"
    resolution = get_client(bedrock_settings(bedrock_fake, inference_profile=arn)).resolution("haiku")
    assert resolution.available is False and "does not exist" in resolution.note
