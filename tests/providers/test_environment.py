"""Environment-specific selection: strict parsing, each rule, the logged reasons, and where values came from."""
import logging

import pytest
from django.urls import reverse

from providers.environment import EnvironmentError_, read_environment
from providers.models import ProviderRouting
from providers.resolve import active_chain, build_settings
from providers.selection import SelectionError, select_providers
from tests.providers.conftest import ANTHROPIC_KEY, assert_no_secrets, make_anthropic, make_bedrock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]


@pytest.mark.parametrize("name, value", [
    ("MOMENTS_ENV", "prod"), ("CLAUDE_CODE_USE_BEDROCK", "maybe"), ("AWS_REGION", "us east 1"),
    ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "4k"), ("MAX_THINKING_TOKENS", "0"),
    ("MOMENTS_PROVIDER_OVERRIDE", "bedrock; rm -rf"),
])
def test_malformed_values_raise_naming_the_variable(name, value):
    with pytest.raises(EnvironmentError_) as caught:
        read_environment({name: value})
    assert caught.value.variable == name and name in caught.value.message


def test_values_are_parsed():
    env = read_environment({"MOMENTS_ENV": "production", "CLAUDE_CODE_USE_BEDROCK": "1", "AWS_REGION": "eu-west-1",
                            "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "4096", "MAX_THINKING_TOKENS": "1024"})
    assert (env.moments_env, env.use_bedrock, env.aws_region, env.max_output_tokens, env.max_thinking_tokens) == (
        "production", True, "eu-west-1", 4096, 1024)


@pytest.fixture
def two_providers():
    return make_anthropic(name="anthropic", position=0), make_bedrock(name="bedrock", position=1)


def primary(**env):
    selection = select_providers(env)
    return selection.primary.name, [p.name for p in selection.fallbacks], selection.reasons


def test_development_prefers_anthropic_and_production_bedrock(two_providers):
    assert primary(MOMENTS_ENV="development")[0] == "anthropic"
    assert primary(MOMENTS_ENV="production")[0] == "bedrock"
    assert primary()[0] == "anthropic"  # development is the default


def test_configured_primary_wins_over_the_environment_preference(two_providers):
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic"})
    assert primary(MOMENTS_ENV="production")[0] == "anthropic"
    ProviderRouting.objects.filter(pk=1).update(environment_primary={"production": "bedrock"})
    assert primary(MOMENTS_ENV="production")[0] == "bedrock"
    assert primary(MOMENTS_ENV="development")[0] == "anthropic"


def test_override_forces_a_provider_by_name_or_kind(two_providers):
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic"})
    name, _, reasons = primary(MOMENTS_PROVIDER_OVERRIDE="bedrock")
    assert name == "bedrock" and "MOMENTS_PROVIDER_OVERRIDE=bedrock" in reasons[0]
    with pytest.raises(SelectionError, match="MOMENTS_PROVIDER_OVERRIDE=vertex"):
        select_providers({"MOMENTS_PROVIDER_OVERRIDE": "vertex"})


def test_claude_code_use_bedrock_selects_bedrock(two_providers):
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic"})
    name, _, reasons = primary(CLAUDE_CODE_USE_BEDROCK="1")
    assert name == "bedrock" and "CLAUDE_CODE_USE_BEDROCK=1" in reasons[0]
    assert primary(CLAUDE_CODE_USE_BEDROCK="0")[0] == "anthropic"


def test_disabled_providers_are_skipped_with_a_reason(two_providers):
    anthropic, _ = two_providers
    anthropic.enabled = False
    anthropic.save()
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic"})
    name, _, reasons = primary()
    assert name == "bedrock"
    assert any("anthropic is disabled" in r for r in reasons)


def test_fallbacks_follow_the_configured_order_unless_auto_fallback_is_off(two_providers):
    make_bedrock(name="bedrock-eu", aws_region="eu-west-1", position=2)
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic",
                                                             "fallbacks": ["bedrock-eu", "bedrock"]})
    assert primary()[1] == ["bedrock-eu", "bedrock"]
    ProviderRouting.objects.filter(pk=1).update(auto_fallback=False)
    _, fallbacks, reasons = primary()
    assert fallbacks == [] and "auto_fallback is off" in reasons[-1]


def test_each_decision_is_logged_with_its_reason(two_providers, caplog):
    caplog.set_level(logging.DEBUG, logger="providers.selection")
    select_providers({"MOMENTS_ENV": "production"})
    assert "primary bedrock: MOMENTS_ENV=production prefers bedrock" in caplog.text


def test_aws_region_fills_in_only_a_region_the_configuration_leaves_blank(two_providers, monkeypatch):
    monkeypatch.setenv("MOMENTS_ENV", "production")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")  # always set on Lambda, ECS and Fargate
    monkeypatch.setenv("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "4096")
    monkeypatch.setenv("MAX_THINKING_TOKENS", "1024")
    bedrock = active_chain()[0]
    assert bedrock.settings.aws_region == "us-east-1" and bedrock.sources["aws_region"] == "stored configuration"
    assert bedrock.settings.max_output_tokens == 4096 and bedrock.settings.max_thinking_tokens == 1024
    _, stored = two_providers
    stored.aws_region = ""
    stored.save()
    bedrock = active_chain()[0]
    assert bedrock.settings.aws_region == "eu-central-1" and bedrock.sources["aws_region"].startswith("env AWS_REGION")
    monkeypatch.setenv("AWS_REGION", "us-west-2")  # read again on the next call, no restart
    assert active_chain()[0].settings.aws_region == "us-west-2"


def test_legacy_next_public_key_still_works(monkeypatch):
    config = make_anthropic(api_key_env="ANTHROPIC_API_KEY", api_key_encrypted="")
    monkeypatch.setenv("NEXT_PUBLIC_ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    resolved = build_settings(config)
    assert resolved.settings.api_key == ANTHROPIC_KEY
    assert resolved.sources["api_key"].startswith("env NEXT_PUBLIC_ANTHROPIC_API_KEY")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-preferred-0000000000")
    assert build_settings(config).settings.api_key == "sk-ant-preferred-0000000000"


def test_stored_config_to_settings_for_the_choke_point(monkeypatch):
    config = make_anthropic(api_key_env="MY_KEY", api_key_encrypted="")
    monkeypatch.setenv("MY_KEY", ANTHROPIC_KEY)
    assert build_settings(config).settings.api_key == ANTHROPIC_KEY


def test_environment_page_shows_values_and_their_sources(member_client, two_providers, monkeypatch):
    monkeypatch.setenv("MOMENTS_ENV", "production")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("NEXT_PUBLIC_ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    html = member_client.get(reverse("providers:environment")).content.decode()
    assert "AWS_REGION" in html and "eu-central-1" in html
    assert "MOMENTS_ENV=production prefers bedrock" in html
    assert_no_secrets(html)


def test_environment_page_shows_a_bad_variable_instead_of_failing(member_client, two_providers, monkeypatch):
    monkeypatch.setenv("CLAUDE_CODE_USE_BEDROCK", "perhaps")
    response = member_client.get(reverse("providers:environment"))
    assert response.status_code == 200
    assert "CLAUDE_CODE_USE_BEDROCK must be 1 or 0" in response.content.decode()
