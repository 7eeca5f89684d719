"""Health checks against the real fakes: which check runs, what it spends, what it records."""
import pytest
from django.core.management import CommandError, call_command

from providers.clients.catalog import load_catalog
from providers.health import checks
from providers.health.checks import check_model
from providers.health.models import CheckResult
from providers.health.rounds import run_round
from providers.resolve import build_settings
from tests.fake_providers import model_calls
from tests.providers.conftest import make_anthropic, make_bedrock
from usage.models import UsageRecord

LOGICAL = load_catalog().logical_names()  # every logical model is checked

pytestmark = pytest.mark.django_db


def test_anthropic_round_counts_tokens_for_every_model_and_spends_nothing(aws_env, fresh_anthropic, health_settings):
    make_anthropic(server=fresh_anthropic)
    result = run_round()
    assert [(o.model, o.ok, o.check, o.tokens_spent) for o in result.outcomes] == [
        (logical, True, "count_tokens", 0) for logical in LOGICAL]
    assert sum(r.path == "/v1/messages/count_tokens" for r in fresh_anthropic.requests) == len(LOGICAL)
    assert model_calls(fresh_anthropic) == []
    assert UsageRecord.objects.count() == 0
    rows = list(CheckResult.objects.order_by("pk"))
    assert [(r.provider_name, r.model, r.ok, r.check_kind) for r in rows] == [
        *(("anthropic", logical, True, "count_tokens") for logical in LOGICAL), ("anthropic", "", True, "round")]
    assert all(r.latency_ms is not None for r in rows) and all(r.model_id for r in rows[:len(LOGICAL)])


def test_bedrock_with_keys_counts_tokens_and_with_an_api_key_probes_permissions(aws_env, bedrock_api,
                                                                                 health_settings):
    from providers import crypto
    from tests.providers.conftest import BEDROCK_API_KEY

    bedrock_api.reset()
    make_bedrock("sigv4", server=bedrock_api)
    make_bedrock("apikey", server=bedrock_api, auth_mode="api_key", bedrock_api_key_env="",
                 bedrock_api_key_encrypted=crypto.encrypt(BEDROCK_API_KEY), aws_access_key_id="",
                 aws_secret_access_key_encrypted="")
    result = run_round()
    by_provider = {}
    for outcome in result.outcomes:
        by_provider.setdefault(outcome.provider_name, set()).add((outcome.ok, outcome.check, outcome.tokens_spent))
    assert by_provider == {"sigv4": {(True, "count_tokens", 0)}, "apikey": {(True, "permission_probe", 0)}}
    assert UsageRecord.objects.count() == 0


def test_a_kind_without_a_free_check_sends_one_token_through_the_choke_point(aws_env, bedrock_api, monkeypatch):
    from providers import crypto
    from tests.providers.conftest import BEDROCK_API_KEY

    monkeypatch.setattr(checks, "PROBING_KINDS", set())
    config = make_bedrock("apikey", server=bedrock_api, auth_mode="api_key", bedrock_api_key_env="",
                          bedrock_api_key_encrypted=crypto.encrypt(BEDROCK_API_KEY))
    outcome = check_model(build_settings(config).settings, "haiku")
    assert (outcome.ok, outcome.check) == (True, "one_token")
    assert outcome.tokens_spent > 0
    record = UsageRecord.objects.get()
    assert (record.purpose, record.provider_name, record.status) == ("health", "apikey", "ok")


def test_bad_credentials_fail_every_model_with_the_error_kind(aws_env, fresh_anthropic, health_settings):
    from providers import crypto

    make_anthropic(server=fresh_anthropic, api_key_encrypted=crypto.encrypt("sk-ant-wrong-key-0000"))
    result = run_round()
    assert {(o.ok, o.error_kind) for o in result.outcomes} == {(False, "authentication")}
    assert "sk-ant-wrong-key-0000" not in " ".join(o.message for o in result.outcomes)


def test_check_providers_command_prints_each_model_and_what_it_spent(aws_env, fresh_anthropic, health_settings,
                                                                     capsys):
    make_anthropic(server=fresh_anthropic)
    call_command("check_providers")
    out = capsys.readouterr().out
    assert "anthropic (anthropic)" in out
    for model in ("sonnet", "haiku", "opus"):
        assert model in out
    assert out.count("count_tokens, no tokens") == len(LOGICAL)


def test_check_providers_command_exits_non_zero_when_a_model_is_down(aws_env, fresh_anthropic, health_settings,
                                                                     capsys):
    from providers.fakes import Fault

    make_anthropic(server=fresh_anthropic)
    fresh_anthropic.inject(Fault("unavailable", times=1))
    with pytest.raises(CommandError) as raised:
        call_command("check_providers")
    assert raised.value.returncode == 1
    assert "DOWN unavailable" in capsys.readouterr().out


def test_check_providers_command_says_when_nothing_is_configured(db):
    with pytest.raises(CommandError, match="No enabled provider"):
        call_command("check_providers")


def test_an_unreadable_provider_fails_its_checks_and_the_round_goes_on(aws_env, fresh_anthropic, health_settings):
    make_anthropic("broken", server=fresh_anthropic, api_key_encrypted="not-a-fernet-token", position=0)
    make_anthropic("working", server=fresh_anthropic, position=1)
    result = run_round()
    by_provider = {}
    for outcome in result.outcomes:
        by_provider.setdefault(outcome.provider_name, set()).add((outcome.ok, outcome.error_kind))
    assert by_provider["working"] == {(True, "")}
    assert by_provider["broken"] == {(False, "configuration")}
