"""Claude Platform on AWS as a provider kind: the form, test connection (SigV4 and a workspace API key),
calls through providers.calls.invoke, config.yml, the Claude Code block, the provider list, pricing."""
import json
import re

import anthropic
import pytest
import yaml
from django.urls import reverse

from providers import crypto
from providers.call_records import CallContext
from providers.calls import invoke
from providers.config_export import export_config
from providers.config_yaml import ConfigFileError, import_config, parse_config
from providers.connection_test import STEPS
from providers.display import effective_rows
from providers.models import ProviderConfig, ProviderRouting
from providers.resolve import build_settings
from providers.revisions import snapshot
from tests.providers.conftest import AKID, AWS_SECRET, assert_no_secrets, catalog_models

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]

WORKSPACE = "wrkspc_cfgtest_0001"
WORKSPACE_KEY = "sk-ant-wskey-cfgtest-0001-LEAKCHECK-WORKSPACE"
PING = {"max_tokens": 8, "messages": [{"role": "user", "content": "ping"}]}


@pytest.fixture(scope="module")
def platform_api():
    from providers.fakes import FakeAwsPlatform
    from providers.fakes.anthropic_models import DEFAULT_MODELS

    ids = list(dict.fromkeys([m.id for m in DEFAULT_MODELS] + [m.key for m in catalog_models()]))
    server = FakeAwsPlatform(credentials={AKID: AWS_SECRET}, api_keys={WORKSPACE_KEY}, workspace_ids={WORKSPACE},
                             models=ids).start()
    yield server
    server.stop()


@pytest.fixture
def platform(platform_api):
    platform_api.reset()
    yield platform_api
    platform_api.reset()


def platform_form(server, **changes):
    data = {"kind": "aws_platform", "name": "platform-test", "enabled": "on", "timeout_seconds": "20",
            "verify_tls": "on", "aws_region": "us-east-1", "workspace_id": WORKSPACE, "auth_mode": "static_keys",
            "aws_access_key_id": AKID, "aws_secret_access_key": AWS_SECRET, "api_key_source": "env",
            "api_key_env": "ANTHROPIC_AWS_API_KEY", "role_session_name": "moments-admin",
            "role_duration_seconds": "3600", "base_url": server.url}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def make_platform(server, name="platform", **fields):
    values = {"kind": "aws_platform", "aws_region": "us-east-1", "workspace_id": WORKSPACE,
              "auth_mode": "static_keys", "aws_access_key_id": AKID,
              "aws_secret_access_key_encrypted": crypto.encrypt(AWS_SECRET), "base_url": server.url,
              "api_key_env": "ANTHROPIC_AWS_API_KEY"}
    values.update(fields)
    return ProviderConfig.objects.create(name=name, **values)


def run_all(client, data):
    seen, run = {}, ""
    for step in STEPS:
        response = client.post(reverse("providers:test-connection", args=[step]), {**data, "run": run})
        assert response.status_code == 200
        html = response.content.decode()
        assert_no_secrets(html)
        assert WORKSPACE_KEY not in html
        seen[step] = html
        match = re.search(r'"run": "([0-9a-f]{32})"', html)
        if 'class="step bad"' in html or match is None:
            break
        run = match.group(1)
    return seen


def passed(html):
    return 'class="step ok"' in html and 'class="step bad"' not in html


# --- the form -------------------------------------------------------------------------------------

def test_the_form_creates_a_provider_with_its_workspace(staff_client, platform):
    page = staff_client.get(reverse("providers:create") + "?kind=aws_platform")
    assert page.status_code == 200
    assert 'name="workspace_id"' in page.content.decode()
    response = staff_client.post(reverse("providers:create") + "?kind=aws_platform", platform_form(platform))
    assert response.status_code == 302, response.content.decode()[:2000]
    config = ProviderConfig.objects.get(name="platform-test")
    assert (config.kind, config.workspace_id, config.auth_mode) == ("aws_platform", WORKSPACE, "static_keys")
    assert crypto.decrypt(config.aws_secret_access_key_encrypted) == AWS_SECRET
    listing = staff_client.get(reverse("providers:list")).content.decode()
    assert "Claude Platform on AWS" in listing and WORKSPACE in listing and "?kind=aws_platform" in listing


def test_the_form_says_what_is_missing(staff_client, platform):
    response = staff_client.post(reverse("providers:create") + "?kind=aws_platform",
                                 platform_form(platform, workspace_id="", auth_mode="api_key", api_key_source="stored"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter the workspace ID" in html and "Enter the workspace API key to store." in html
    bad = staff_client.post(reverse("providers:create") + "?kind=aws_platform",
                            platform_form(platform, workspace_id="not-a-workspace"))
    assert bad.status_code == 400 and "wrkspc_" in bad.content.decode()
    assert not ProviderConfig.objects.filter(name="platform-test").exists()


# --- test connection ------------------------------------------------------------------------------

def test_sigv4_passes_every_step(staff_client, platform):
    seen = run_all(staff_client, platform_form(platform))
    assert list(seen) == list(STEPS) and all(passed(html) for html in seen.values())
    assert "aws-external-anthropic:CreateInference" in seen["permissions"]
    requests = [r for r in platform.requests if r.path == "/v1/messages"]
    assert requests and all(r.headers.get("anthropic-workspace-id") == WORKSPACE for r in requests)
    # Signed (the fake verifies SigV4 for aws-external-anthropic), never with a key
    assert not any("x-api-key" in {k.lower() for k in r.headers} for r in requests)
    assert all("x-amz-date" in {k.lower() for k in r.headers} for r in requests)


def test_a_workspace_api_key_passes_every_step(staff_client, platform):
    data = platform_form(platform, auth_mode="api_key", api_key_source="stored", api_key=WORKSPACE_KEY,
                         aws_access_key_id="", aws_secret_access_key="")
    seen = run_all(staff_client, data)
    assert list(seen) == list(STEPS) and all(passed(html) for html in seen.values())
    assert "Workspace API key" in seen["credentials"]


def test_a_denied_inference_action_names_it_and_the_policy_grants_it(staff_client, platform):
    platform.denied_actions.add("aws-external-anthropic:CreateInference")
    seen = run_all(staff_client, platform_form(platform))
    html = seen["permissions"]
    assert 'class="step bad"' in html and "aws-external-anthropic:CreateInference" in html
    assert f"arn:aws:aws-external-anthropic:us-east-1:*:workspace/{WORKSPACE}" in html
    # The policy covers everything the provider uses, not only the denied action.
    from providers.clients.aws_platform import INFERENCE_ACTIONS

    policy = html.split('<pre class="policy">', 1)[1].split("</pre>", 1)[0]
    assert all(f"&quot;{action}&quot;" in policy for action in INFERENCE_ACTIONS)


def test_a_workspace_the_credentials_may_not_use_blames_the_workspace(staff_client, platform):
    seen = run_all(staff_client, platform_form(platform, workspace_id="wrkspc_someone_else"))
    assert 'class="step bad"' in seen["credentials"]
    assert "workspace_id" in seen["credentials"]


# --- calls ----------------------------------------------------------------------------------------

def test_calls_go_through_the_one_call_path_with_the_workspace(platform):
    settings = build_settings(make_platform(platform)).settings
    result = invoke([settings], {"model": "sonnet", **PING}, CallContext(purpose="test"))
    assert result.provider_kind == "aws_platform" and result.model_id.startswith("claude-sonnet-5")
    [call] = [r for r in platform.requests if r.path == "/v1/messages"]
    assert call.headers["anthropic-workspace-id"] == WORKSPACE


def test_the_fake_refuses_a_request_without_the_workspace_header(platform):
    from anthropic.lib.aws import AnthropicAWS

    # The SDK always sends the header it is given: blank it, as a client that forgot it would.
    sdk = AnthropicAWS(api_key=WORKSPACE_KEY, workspace_id=WORKSPACE, aws_region="us-east-1", base_url=platform.url,
                       max_retries=0, default_headers={"anthropic-workspace-id": anthropic.Omit()})
    with pytest.raises(anthropic.BadRequestError) as caught:
        sdk.messages.create(model="claude-sonnet-5-5", **PING)
    assert "anthropic-workspace-id" in str(caught.value)
    assert not any(r.headers.get("anthropic-workspace-id") for r in platform.requests)


def test_usage_is_priced_as_the_claude_api():
    from providers.clients.usage import Usage
    from usage.models import ModelPrice
    from usage.pricing import compute_cost, parse_model_id

    parsed = parse_model_id("aws_platform", "claude-opus-5-5")
    assert (parsed.base_model, parsed.scope) == ("claude-opus-5-5", "standard")
    platform_price = ModelPrice.objects.filter(provider_kind="aws_platform", base_model="claude-opus-5-5").latest(
        "effective_from")
    api_price = ModelPrice.objects.filter(provider_kind="anthropic", base_model="claude-opus-5-5").latest(
        "effective_from")
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000)
    assert compute_cost(platform_price, usage).total == compute_cost(api_price, usage).total
    us_only = compute_cost(platform_price, usage, inference_geo="us").total
    assert us_only == (compute_cost(platform_price, usage).total * 11 / 10).quantize(us_only)


# --- config.yml and Claude Code -------------------------------------------------------------------

PLATFORM_YML = """
model_provider:
  type: aws_platform
  aws_platform:
    aws_region: us-west-2
    workspace_id: wrkspc_yaml_0001
    auth_mode: api_key
    api_key_env: ANTHROPIC_AWS_API_KEY
    beta_flags: [context-1m-2025-08-07]
  providers:
    platform-sso:
      kind: aws_platform
      aws_region: us-east-1
      workspace_id: wrkspc_yaml_0002
      auth_mode: profile
      aws_profile: platform
"""


def test_config_yml_imports_exports_and_round_trips():
    import_config(PLATFORM_YML)
    first = ProviderConfig.objects.get(name="aws_platform")
    assert (first.kind, first.workspace_id, first.auth_mode, first.api_key_env) == (
        "aws_platform", "wrkspc_yaml_0001", "api_key", "ANTHROPIC_AWS_API_KEY")
    assert first.beta_flags == ["context-1m-2025-08-07"]
    assert ProviderRouting.load().primary == "aws_platform"
    text = export_config()
    doc = yaml.safe_load(text)["model_provider"]
    assert doc["aws_platform"]["workspace_id"] == "wrkspc_yaml_0001"
    assert doc["providers"]["platform-sso"]["aws_profile"] == "platform"
    assert "api_key_env" not in doc["providers"]["platform-sso"]  # unused by a SigV4 mode

    def providers():
        return sorted(({k: v for k, v in p.items() if k != "position"} for p in snapshot()["providers"]),
                      key=lambda p: p["name"])

    before = providers()
    import_config(text)
    assert providers() == before


@pytest.mark.parametrize("block, message", [
    ("aws_platform:\n    aws_region: us-east-1\n", "workspace_id"),
    ("aws_platform:\n    aws_region: us-east-1\n    workspace_id: nope\n", "wrkspc_"),
    ("aws_platform:\n    aws_region: us-east-1\n    workspace_id: wrkspc_a\n    auth_mode: api_key\n"
     "    api_key_env: null\n", "api_key_env"),
    ("aws_platform:\n    aws_region: us-east-1\n    workspace_id: wrkspc_a\n    inference_profile: us\n",
     "Unknown key"),
])
def test_config_yml_rules(block, message):
    with pytest.raises(ConfigFileError) as caught:
        parse_config("model_provider:\n  " + block)
    assert message in str(caught.value.issues)


def test_claude_code_block(member_client, platform):
    make_platform(platform, auth_mode="api_key", api_key_env="ANTHROPIC_AWS_API_KEY", aws_access_key_id="",
                  aws_secret_access_key_encrypted="")
    response = member_client.get(reverse("providers:claude-code"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "export CLAUDE_CODE_USE_ANTHROPIC_AWS=1" in html
    assert f"export ANTHROPIC_AWS_WORKSPACE_ID={WORKSPACE}" in html
    assert "export AWS_REGION=us-east-1" in html
    assert "ANTHROPIC_AWS_API_KEY" in html and "CLAUDE_CODE_USE_BEDROCK=1" not in html
    assert re.search(r"ANTHROPIC_MODEL=claude-sonnet-5", html)


def test_effective_configuration_shows_the_workspace_never_the_key(staff_client, platform, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_AWS_API_KEY", WORKSPACE_KEY)
    config = make_platform(platform, auth_mode="api_key", aws_access_key_id="", aws_secret_access_key_encrypted="")
    rows = {name: (value, source) for name, value, source in effective_rows(build_settings(config))}
    assert rows["workspace_id"][0] == WORKSPACE
    assert rows["api_key"] == ("set", "env ANTHROPIC_AWS_API_KEY (set)")
    assert WORKSPACE_KEY not in json.dumps(rows)


def test_demo_mode_seeds_all_three_kinds():
    from django.core.management import call_command

    from providers import demo

    call_command("seed_demo_providers")
    kinds = dict(ProviderConfig.objects.values_list("name", "kind"))
    assert kinds == {"demo-anthropic": "anthropic", "demo-bedrock": "bedrock", "demo-aws-platform": "aws_platform"}
    platform_config = ProviderConfig.objects.get(name="demo-aws-platform")
    resolved = build_settings(platform_config)
    assert not resolved.problems
    assert (resolved.settings.workspace_id, resolved.settings.base_url) == (demo.AWS_PLATFORM_WORKSPACE_ID,
                                                                            demo.aws_platform_url())
    assert ProviderRouting.load().fallbacks == ["demo-bedrock", "demo-aws-platform"]
    # The demo Anthropic key is stored, so a terminal without the launcher's environment reaches it too.
    anthropic_demo = build_settings(ProviderConfig.objects.get(name="demo-anthropic"), environment={})
    assert not anthropic_demo.problems and anthropic_demo.settings.api_key == demo.ANTHROPIC_KEY


def test_demo_aws_platform_provider_is_served_by_the_demo_fake():
    """The seeded provider's credentials and workspace are the ones run_demo_fakes serves (on a free port here)."""
    from django.core.management import call_command

    from providers import demo
    from providers.fakes import FakeAwsPlatform

    server = FakeAwsPlatform(credentials={demo.AWS_ACCESS_KEY_ID: demo.AWS_SECRET_ACCESS_KEY},
                             workspace_ids={demo.AWS_PLATFORM_WORKSPACE_ID}).start()
    try:
        call_command("seed_demo_providers")
        config = ProviderConfig.objects.get(name="demo-aws-platform")
        config.base_url = server.url
        result = invoke([build_settings(config).settings], {"model": "haiku", **PING}, CallContext(purpose="test"))
    finally:
        server.stop()
    assert result.provider_kind == "aws_platform" and result.usage.output_tokens > 0


def test_choosing_the_workspace_key_mode_shows_its_fields(staff_client):
    response = staff_client.post(reverse("providers:form-fields"), {
        "kind": "aws_platform", "auth_mode": "api_key", "api_key_source": "env", "workspace_id": WORKSPACE})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="api_key_env"' in html and "Workspace API key" in html and 'name="aws_access_key_id"' not in html
    static = staff_client.post(reverse("providers:form-fields"), {"kind": "aws_platform", "auth_mode": "static_keys"})
    assert 'name="aws_access_key_id"' in static.content.decode()
