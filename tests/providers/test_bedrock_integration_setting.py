"""The Bedrock provider's integration override and mantle endpoint: form, settings, calls, config.yml,
Claude Code; and the beta flags every provider can configure, with the table on the provider page."""
import pytest
import yaml
from django.urls import reverse

from providers.call_records import CallContext
from providers.calls import invoke
from providers.config_export import export_config
from providers.config_yaml import ConfigFileError, import_config, parse_config
from providers.models import ProviderConfig
from providers.resolve import build_settings
from tests.providers.conftest import AKID, AWS_SECRET, make_bedrock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]
PING = {"max_tokens": 8, "messages": [{"role": "user", "content": "ping"}]}


@pytest.fixture(scope="module")
def mantle_api():
    from providers.fakes import FakeBedrockMantle

    server = FakeBedrockMantle(credentials={AKID: AWS_SECRET}).start()
    yield server
    server.stop()


def bedrock_form(**changes):
    data = {"kind": "bedrock", "name": "bedrock-int", "enabled": "on", "timeout_seconds": "20", "verify_tls": "on",
            "aws_region": "us-east-1", "auth_mode": "static_keys", "aws_access_key_id": AKID,
            "aws_secret_access_key": AWS_SECRET, "bedrock_api_key_source": "env",
            "bedrock_api_key_env": "AWS_BEARER_TOKEN_BEDROCK", "role_session_name": "moments-admin",
            "role_duration_seconds": "3600", "bedrock_integration": "auto"}
    data.update(changes)
    return data


def test_the_form_stores_the_override_and_the_mantle_endpoint(staff_client):
    page = staff_client.get(reverse("providers:create") + "?kind=bedrock").content.decode()
    assert 'name="bedrock_integration"' in page and "bedrock-mantle only" in page
    response = staff_client.post(reverse("providers:create") + "?kind=bedrock", bedrock_form(
        bedrock_integration="mantle", mantle_endpoint_url="https://mantle.example.internal",
        beta_flags="context-1m-2025-08-07, effort-2025-11-24"))
    assert response.status_code == 302, response.content.decode()[:1500]
    config = ProviderConfig.objects.get(name="bedrock-int")
    assert (config.bedrock_integration, config.mantle_endpoint_url) == ("mantle", "https://mantle.example.internal")
    assert config.beta_flags == ["context-1m-2025-08-07", "effort-2025-11-24"]
    settings = build_settings(config).settings
    assert settings.bedrock_integration == "mantle" and settings.beta_flags == ("context-1m-2025-08-07",
                                                                                 "effort-2025-11-24")


def test_bad_values_are_refused_with_a_reason(staff_client):
    response = staff_client.post(reverse("providers:create") + "?kind=bedrock", bedrock_form(
        bedrock_integration="converse", mantle_endpoint_url="ftp://x", beta_flags="Not A Beta!"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "converse is not one of the available choices" in html
    assert "is not an http(s) URL" in html and "is not a beta flag name" in html


def test_a_stored_provider_with_the_mantle_override_calls_mantle(mantle_api):
    mantle_api.reset()
    config = make_bedrock(bedrock_integration="mantle", mantle_endpoint_url=mantle_api.url)
    result = invoke([build_settings(config).settings], {"model": "sonnet", **PING}, CallContext(purpose="test"))
    assert result.model_id == "anthropic.claude-sonnet-5-5"
    assert [r.path for r in mantle_api.requests] == ["/anthropic/v1/messages"]


def test_config_yml_carries_the_override_and_round_trips():
    import_config("model_provider:\n  bedrock:\n    aws_region: us-west-2\n    bedrock_integration: mantle\n"
                  "    mantle_endpoint_url: https://mantle.example.internal\n    beta_flags: [effort-2025-11-24]\n")
    config = ProviderConfig.objects.get(name="bedrock")
    assert (config.bedrock_integration, config.beta_flags) == ("mantle", ["effort-2025-11-24"])
    text = export_config()
    doc = yaml.safe_load(text)["model_provider"]["bedrock"]
    assert doc["bedrock_integration"] == "mantle" and doc["mantle_endpoint_url"] == "https://mantle.example.internal"
    assert doc["beta_flags"] == ["effort-2025-11-24"]
    import_config(text)
    assert ProviderConfig.objects.get(name="bedrock").bedrock_integration == "mantle"


@pytest.mark.parametrize("line, message", [
    ("bedrock_integration: converse", "Unknown Bedrock integration 'converse'"),
    ("beta_flags: context-1m-2025-08-07", "Expected a list"),
    ("beta_flags: [Bad Flag]", "is not a beta flag name"),
])
def test_config_yml_rules(line, message):
    with pytest.raises(ConfigFileError) as caught:
        parse_config(f"model_provider:\n  bedrock:\n    aws_region: us-east-1\n    {line}\n")
    assert message in str(caught.value.issues)


def test_claude_code_uses_mantle_ids_and_variables_for_the_mantle_override(member_client):
    make_bedrock(bedrock_integration="mantle", mantle_endpoint_url="https://mantle.example.internal")
    html = member_client.get(reverse("providers:claude-code")).content.decode()
    assert "export CLAUDE_CODE_USE_MANTLE=1" in html and "CLAUDE_CODE_USE_BEDROCK=1" not in html
    assert "export ANTHROPIC_BEDROCK_MANTLE_BASE_URL=https://mantle.example.internal" in html
    assert "export ANTHROPIC_MODEL=anthropic.claude-sonnet-5-5" in html


def test_the_provider_page_shows_which_betas_each_provider_accepts(staff_client):
    config = make_bedrock()
    html = staff_client.get(reverse("providers:edit", args=[config.pk])).content.decode()
    assert 'id="beta-table"' in html and "Bedrock Messages API" in html and "Claude Platform on AWS" in html
    assert "as tool-search-tool-2025-10-19" in html
