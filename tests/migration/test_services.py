"""The wizard's services on the fakes: start and one-at-a-time, mapping, verification, cost, switch, rollback."""
import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from providers.clients.usage import Usage
from providers.fakes import Fault
from providers.migration import cost, mapping, state, switch, verification
from providers.migration.checklist import items
from providers.migration.models import Migration
from providers.migration.providers_of import resolved_named, settings_named
from providers.models import ConfigRevision, ProviderConfig, ProviderRouting
from usage.models import UsageRecord
from usage.services import record_usage

pytestmark = pytest.mark.django_db


def test_only_one_migration_is_in_progress(pair, staff_user):
    first = state.start("to_bedrock", "anthropic", "bedrock", staff_user)
    assert first.step == 2 and first.updated_by == "alice"
    with pytest.raises(state.WizardError, match=f"#{first.pk} is already in progress"):
        state.start("to_bedrock", "anthropic", "bedrock", staff_user)
    with pytest.raises(IntegrityError), transaction.atomic():  # the database itself refuses a second one
        Migration.objects.create(direction="to_bedrock", source="anthropic", target="bedrock")
    state.finish(first, "cancelled", staff_user)
    assert state.start("to_bedrock", "anthropic", "bedrock", staff_user).pk != first.pk


def test_a_direction_that_does_not_match_the_providers_says_what_to_fix(pair, staff_user):
    with pytest.raises(state.WizardError, match="bedrock provider; this direction needs anthropic"):
        state.start("to_bedrock", "bedrock", "anthropic", staff_user)
    with pytest.raises(state.WizardError, match="another provider"):
        state.start("to_bedrock", "anthropic", "anthropic", staff_user)
    with pytest.raises(ValueError, match="No provider is named 'nope'"):
        state.start("to_bedrock", "anthropic", "nope", staff_user)
    assert not Migration.objects.exists()


def test_every_logical_model_resolves_on_the_bedrock_target(pair):
    result = mapping.check(settings_named("anthropic"), settings_named("bedrock"))
    logical = {row["name"]: row for row in result["rows"] if row["origin"] == "logical"}
    assert result["ok"] and set(logical) >= {"sonnet", "haiku", "opus"}
    assert logical["haiku"]["source_id"] == "claude-haiku-5-5"
    assert logical["haiku"]["target_id"].endswith("anthropic.claude-haiku-5-5")


def test_a_retired_model_in_recent_usage_is_flagged_with_its_replacement(pair):
    record_usage(provider_name="anthropic", provider_kind="anthropic", model_id="claude-sonnet-4-20250514",
                 logical_model="", usage=Usage(100, 50), occurred_at=timezone.now() - dt.timedelta(days=3))
    record_usage(provider_name="anthropic", provider_kind="anthropic", model_id="claude-3-5-haiku-20241022",
                 logical_model="", usage=Usage(100, 50), purpose="wizard")  # the wizard's own calls: not traffic
    result = mapping.check(settings_named("anthropic"), settings_named("bedrock"))
    rows = {row["name"]: row for row in result["rows"] if row["origin"] == "usage"}
    assert list(rows) == ["claude-sonnet-4-20250514"]
    row = rows["claude-sonnet-4-20250514"]
    assert row["blocking"] and row["replacement"] == "claude-sonnet-5-5"
    assert "change them to 'sonnet'" in row["fix"]
    assert not result["ok"] and mapping.blocking(result) == [row]


def test_the_suite_passes_on_healthy_fakes_and_records_every_probe_as_wizard_usage(pair):
    result = verification.run_suite(settings_named("anthropic"), settings_named("bedrock"))
    outcomes = {row["name"]: row["outcome"] for row in result["probes"]}
    assert result["passed"], result["failures"]
    assert set(outcomes) == {"plain_text", "system_prompt", "multi_turn", "streaming", "tool_use",
                             "prompt_caching", "extended_thinking", "limits", "count_tokens"}
    caching = next(row for row in result["probes"] if row["name"] == "prompt_caching")
    assert caching["target"]["cache"]["second"]["cache_read"] > 0
    wizard_rows = UsageRecord.objects.filter(purpose="wizard")
    assert set(wizard_rows.values_list("provider_name", flat=True)) == {"anthropic", "bedrock"}
    assert wizard_rows.filter(provider_name="bedrock", cache_read_tokens__gt=0).exists()
    assert not wizard_rows.filter(cost_total__isnull=True).exists()  # each probe's cost is recorded


def test_a_failing_target_blocks_the_switch_until_acknowledged(pair, fresh_bedrock, staff_user):
    migration = state.start("to_bedrock", "anthropic", "bedrock", staff_user)
    state.save_data(migration.pk, "mapping", {"result": mapping.check(settings_named("anthropic"),
                                                                       settings_named("bedrock"))})
    fresh_bedrock.inject(Fault("access_denied", times=None))
    result = verification.run_suite(settings_named("anthropic"), settings_named("bedrock"))
    fresh_bedrock.reset()
    assert not result["passed"]
    assert all(f["reason"].startswith("The target failed: permission") for f in result["failures"])
    migration = state.save_data(migration.pk, "verification", {"result": result})
    reasons = [text for step, text in switch.blockers(migration)]
    assert any("Verification failed: Plain text: The target failed: permission" in r for r in reasons)
    with pytest.raises(state.WizardError, match="The switch is blocked"):
        switch.switch(migration, staff_user)
    with pytest.raises(state.WizardError, match="Write a note"):
        state.acknowledge(migration, "plain_text", "ok", staff_user)
    for failure in result["failures"]:
        migration = state.acknowledge(migration, failure["probe"], "Known IAM gap, fixed before go-live", staff_user)
    assert switch.blockers(migration) == []
    assert migration.acknowledged[0]["user"] == "alice"


def _ready(staff_user):
    migration = state.start("to_bedrock", "anthropic", "bedrock", staff_user)
    source, target = settings_named("anthropic"), settings_named("bedrock")
    state.save_data(migration.pk, "mapping", {"result": mapping.check(source, target)})
    return state.save_data(migration.pk, "verification", {"result": verification.summarize([], "haiku")})


def test_the_switch_is_one_revision_and_one_click_rolls_it_back(pair, staff_user):
    migration = _ready(staff_user)
    before = ConfigRevision.objects.count()
    revision = switch.switch(migration, staff_user, keep_source_as_fallback=True)
    assert ConfigRevision.objects.count() == before + 1
    routing = ProviderRouting.load()
    assert (routing.primary, routing.fallbacks) == ("bedrock", ["anthropic"])
    assert revision.summary == f"Migration #{migration.pk}: bedrock primary, anthropic as fallback"
    migration.refresh_from_db()
    assert migration.status == "switched" and migration.switch_revision == revision.pk
    assert state.current() is None  # a new migration may start

    switch.rollback(migration, staff_user)
    routing = ProviderRouting.load()
    assert (routing.primary, routing.fallbacks) == ("anthropic", [])
    migration.refresh_from_db()
    assert migration.status == "rolled_back"
    with pytest.raises(state.WizardError, match="Only a switched migration"):
        switch.rollback(migration, staff_user)


def test_a_switch_without_the_source_as_fallback_drops_it(pair, staff_user):
    switch.switch(_ready(staff_user), staff_user, keep_source_as_fallback=False)
    routing = ProviderRouting.load()
    assert (routing.primary, routing.fallbacks) == ("bedrock", [])


def test_the_cost_of_recent_traffic_is_priced_on_the_target(pair):
    for _ in range(3):
        record_usage(provider_name="anthropic", provider_kind="anthropic", model_id="claude-haiku-5-5",
                     logical_model="haiku", usage=Usage(1_000_000, 100_000), occurred_at=timezone.now())
    record_usage(provider_name="anthropic", provider_kind="anthropic", model_id="claude-haiku-5-5",
                 logical_model="haiku", usage=Usage(1_000_000, 0), occurred_at=timezone.now() - dt.timedelta(days=40))
    result = cost.compare_cost("anthropic", settings_named("bedrock"))
    [line] = result["lines"]
    assert line["requests"] == 3 and line["target_id"].endswith("anthropic.claude-haiku-5-5")
    recorded = sum(r.cost_total for r in UsageRecord.objects.filter(occurred_at__gte=timezone.now()
                                                                     - dt.timedelta(days=30)))
    assert Decimal(result["source_cost"]) == recorded
    assert result["complete"] and float(result["target_cost"]) > 0
    assert float(result["difference"]) == pytest.approx(float(result["target_cost"]) - float(recorded))


def test_the_cost_on_a_newer_target_model_uses_the_target_models_token_counts(pair):
    # The source's traffic ran on Sonnet 4.6; the Bedrock target resolves sonnet to Sonnet 5.5, whose
    # tokenizer counts about 30% more tokens for the same text: the target is priced on 1.3x the tokens.
    record_usage(provider_name="anthropic", provider_kind="anthropic", model_id="claude-sonnet-4-6",
                 logical_model="sonnet", usage=Usage(1_000_000, 100_000), occurred_at=timezone.now())
    result = cost.compare_cost("anthropic", settings_named("bedrock"))
    [line] = result["lines"]
    assert line["target_id"].endswith("anthropic.claude-sonnet-5-5") and line["token_factor"] == 1.3
    book = cost.price_book()
    parsed = book.parse("bedrock", line["target_id"])
    price = book.price_for("bedrock", parsed.base_model, parsed.scope, timezone.now())
    # 1,300,000 input and 130,000 output tokens at the target's price (global $2/$10: $3.90)
    expected = (1_300_000 * price.input + 130_000 * price.output) / 1_000_000
    assert Decimal(line["target_cost"]) == expected
    assert Decimal(line["source_cost"]) == Decimal("4.500000")  # as recorded: Sonnet 4.6 at $3/$15


def test_the_cost_within_one_generation_keeps_the_recorded_token_counts(pair):
    record_usage(provider_name="anthropic", provider_kind="anthropic", model_id="claude-sonnet-5-5",
                 logical_model="sonnet", usage=Usage(1_000_000, 100_000), occurred_at=timezone.now())
    [line] = cost.compare_cost("anthropic", settings_named("bedrock"))["lines"]
    assert line["token_factor"] == 1.0


def test_the_checklist_checks_what_it_can_and_leaves_the_rest_to_tick(pair, staff_user, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    migration = state.start("to_bedrock", "anthropic", "bedrock", staff_user)
    state.save_data(migration.pk, "checklist", {"ticked": ["quotas"]})
    migration.refresh_from_db()
    rows, block = items(migration, ProviderConfig.objects.get(name="bedrock"), resolved_named("bedrock"))
    by_key = {row["key"]: row for row in rows}
    assert by_key["aws_region"]["auto"] is True
    assert by_key["quotas"]["auto"] is None and by_key["quotas"]["done"]
    assert by_key["iam_policy"]["auto"] is None  # never tested: unknown, ticked by hand
    assert by_key["verified"]["auto"] is False
    assert ("CLAUDE_CODE_USE_BEDROCK", "1") in [(name, value) for name, value, _ in block]


def test_only_this_environments_own_primary_moves_with_the_switch(pair, staff_user, monkeypatch):
    monkeypatch.setenv("MOMENTS_ENV", "production")
    routing = ProviderRouting.load()
    routing.environment_primary = {"production": "anthropic", "development": "anthropic"}
    routing.save()
    switch.switch(_ready(staff_user), staff_user)
    assert ProviderRouting.load().environment_primary == {"production": "bedrock", "development": "anthropic"}


def test_an_application_profile_arn_has_no_claude_api_equivalent(pair):
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    record_usage(provider_name="bedrock", provider_kind="bedrock", model_id=arn, logical_model="",
                 usage=Usage(10, 5), occurred_at=timezone.now())
    result = mapping.check(settings_named("bedrock"), settings_named("anthropic"))
    [row] = [row for row in result["rows"] if row["name"] == arn]
    assert row["blocking"] and "no Claude API equivalent" in row["problem"]


def test_the_cost_on_the_target_counts_cache_tokens_batch_and_the_bedrock_scope(pair, fresh_bedrock):
    from tests.providers.conftest import make_bedrock

    # In us-east-1 the target prefers the us. profile (the geo scope); this one prefers global. profiles.
    make_bedrock("bedrock-global", server=fresh_bedrock, geo_preference="global")
    now = timezone.now()
    for batch in (False, True):  # Claude Sonnet 5: $2/M input on a global profile, 10% more on a geo one
        record_usage(provider_name="anthropic", provider_kind="anthropic", model_id="claude-sonnet-5",
                     logical_model="", usage=Usage(50_000, 0), batch=batch, occurred_at=now)
    record_usage(provider_name="anthropic", provider_kind="anthropic", model_id="claude-haiku-5-5",
                 logical_model="", usage=Usage(0, 0, 40_000, 0, 40_000), occurred_at=now)

    def lines(target):
        result = cost.compare_cost("anthropic", settings_named(target))
        assert result["complete"]
        total = sum(Decimal(line["target_cost"]) for line in result["lines"])
        assert Decimal(result["target_cost"]) == total
        return {(line["model_id"], line["batch"]): line for line in result["lines"]}

    on_geo, on_global = lines("bedrock"), lines("bedrock-global")
    assert on_geo[("claude-sonnet-5", False)]["target_id"] == "us.anthropic.claude-sonnet-5"
    assert on_global[("claude-sonnet-5", False)]["target_id"] == "global.anthropic.claude-sonnet-5"
    assert Decimal(on_global[("claude-sonnet-5", False)]["target_cost"]) == Decimal("0.1")
    assert Decimal(on_geo[("claude-sonnet-5", False)]["target_cost"]) == Decimal("0.11")  # the geo premium
    assert Decimal(on_global[("claude-sonnet-5", True)]["target_cost"]) == Decimal("0.05")  # the batch discount
    assert Decimal(on_geo[("claude-sonnet-5", True)]["target_cost"]) == Decimal("0.055")
    # Claude Haiku 5.5 ($0.10/M input): 40,000 tokens written to the 5-minute cache (1.25x), 40,000 read (0.1x).
    assert Decimal(on_geo[("claude-haiku-5-5", False)]["target_cost"]) == Decimal("0.005") + Decimal("0.0004")


def test_a_capability_the_target_lacks_is_shown_without_blocking(pair, fresh_bedrock):
    from providers import crypto
    from tests.providers.conftest import BEDROCK_API_KEY, make_bedrock

    make_bedrock("bedrock-key", server=fresh_bedrock, auth_mode="api_key", aws_access_key_id="",
                 aws_secret_access_key_encrypted="", bedrock_api_key_env="",
                 bedrock_api_key_encrypted=crypto.encrypt(BEDROCK_API_KEY))
    result = verification.run_suite(settings_named("anthropic"), settings_named("bedrock-key"))
    outcomes = {row["name"]: row for row in result["probes"]}
    assert outcomes["count_tokens"]["outcome"] == "capability"
    assert "Only the source offers this: Token counting on Bedrock needs SigV4" in outcomes["count_tokens"]["reason"]
    assert result["passed"] and result["failures"] == []  # a difference to know about, not a blocker


def test_the_comparison_fails_on_another_stop_reason_shape_or_missing_cache_tokens():
    from providers.migration.comparison import compare

    usage = {"input": 10, "output": 5, "cache_write": 0, "cache_read": 0}
    same = {"ok": True, "stop_reason": "end_turn", "blocks": ["text"], "usage": usage}
    assert compare("plain_text", same, {**same, "blocks": ["text", "text"]})["outcome"] == "passed"
    stopped = compare("limits", same, {**same, "stop_reason": "max_tokens"})
    assert (stopped["outcome"], stopped["reason"]) == (
        "failed", "Stop reason end_turn on the source, max_tokens on the target.")
    shaped = compare("tool_use", {**same, "blocks": ["tool_use"]}, same)
    assert shaped["reason"] == "Content blocks ['tool_use'] on the source, ['text'] on the target."
    cached = compare("prompt_caching", {**same, "usage": {**usage, "cache_read": 4000}}, same)
    assert (cached["outcome"], cached["reason"]) == ("failed", "The target reports no cache read tokens.")
    source_down = compare("plain_text", {"ok": False, "error": "overloaded"}, same)
    assert source_down["outcome"] == "source_failed"  # not the target's fault: does not block
    assert verification.summarize([{"name": "plain_text", "label": "Plain text", **source_down}], "haiku")["passed"]


def test_models_the_target_region_does_not_serve_block_and_deprecated_ones_warn(pair, fresh_bedrock):
    from tests.providers.conftest import make_bedrock

    make_bedrock("bedrock-eu", server=fresh_bedrock, aws_region="eu-west-1")
    for model_id in ("claude-opus-4-1-20250805", "claude-mythos-5", "claude-opus-4-7"):
        record_usage(provider_name="anthropic", provider_kind="anthropic", model_id=model_id, logical_model="",
                     usage=Usage(10, 5), occurred_at=timezone.now() - dt.timedelta(days=29))
    result = mapping.check(settings_named("anthropic"), settings_named("bedrock-eu"))
    rows = {row["name"]: row for row in result["rows"] if row["origin"] == "usage"}
    assert rows["claude-opus-4-7"]["target_id"] == "eu.anthropic.claude-opus-4-7" and not rows["claude-opus-4-7"]["problem"]
    only_us = rows["claude-opus-4-1-20250805"]  # its only profile is us.: nothing serves it from eu-west-1
    assert only_us["blocking"] and only_us["problem"] == "Claude Opus 4.1 is not available to eu-west-1 (profiles: us)."
    assert only_us["replacement"] == "claude-opus-5-5" and "change them to 'opus'" in only_us["fix"]
    not_on_bedrock = rows["claude-mythos-5"]
    assert not_on_bedrock["blocking"] and not_on_bedrock["fix"] == (
        "Claude Mythos 5 is not offered on Bedrock in any region: use a model Bedrock serves instead.")
    assert not result["ok"] and {row["name"] for row in mapping.blocking(result)} == {
        "claude-opus-4-1-20250805", "claude-mythos-5"}

    # From us-east-1 its us. profile serves it: deprecated (no retirement date), a warning with its replacement.
    result = mapping.check(settings_named("anthropic"), settings_named("bedrock"))
    deprecated = next(row for row in result["rows"] if row["name"] == "claude-opus-4-1-20250805")
    assert deprecated["target_id"] == "us.anthropic.claude-opus-4-1-20250805-v1:0"
    assert (deprecated["status"], deprecated["problem"]) == ("deprecated", "Claude Opus 4.1 is deprecated.")
    assert not deprecated["blocking"] and deprecated["replacement"] == "claude-opus-5-5"


def test_the_iam_policy_of_step_two_is_the_providers_own_for_the_mapped_models_and_region(pair, fresh_bedrock):
    import json

    from providers import crypto
    from providers.migration import credentials
    from tests.providers.conftest import BEDROCK_API_KEY, make_bedrock

    make_bedrock("bedrock-eu", server=fresh_bedrock, aws_region="eu-west-1", guardrail_identifier="gr-1",
                 guardrail_version="1", model_mapping={"sonnet": "claude-sonnet-4-6"})
    guide = credentials.guide(settings_named("bedrock-eu"))
    statements = {s["Sid"]: s for s in json.loads(guide["policy"])["Statement"]}
    invoke = statements["InvokeClaude"]
    assert invoke["Action"] == ["bedrock:CountTokens", "bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert "arn:aws:bedrock:eu-west-1:*:inference-profile/eu.anthropic.claude-sonnet-4-6" in invoke["Resource"]
    assert "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-6" in invoke["Resource"]
    assert "arn:aws:bedrock:eu-west-1:*:inference-profile/global.anthropic.claude-haiku-5-5" in invoke["Resource"]
    # ListFoundationModels and ListInferenceProfiles take no resource: they are only granted on "*".
    assert statements["ReadModelCatalog"]["Resource"] == "*"
    assert statements["ApplyGuardrail"]["Resource"] == "arn:aws:bedrock:eu-west-1:*:guardrail/gr-1"
    assert "Claude Sonnet 4.6" in guide["access"] and guide["env"][1] == "AWS_REGION=eu-west-1"

    make_bedrock("bedrock-key", server=fresh_bedrock, auth_mode="api_key", aws_access_key_id="",
                 aws_secret_access_key_encrypted="", bedrock_api_key_env="",
                 bedrock_api_key_encrypted=crypto.encrypt(BEDROCK_API_KEY))
    statements = {s["Sid"]: s for s in json.loads(credentials.guide(settings_named("bedrock-key"))["policy"])["Statement"]}
    assert "bedrock:CountTokens" not in statements["InvokeClaude"]["Action"]  # no SigV4, no CountTokens
    assert statements["UseBedrockApiKeys"]["Action"] == ["bedrock:CallWithBearerToken"]

    make_bedrock("bedrock-mantle", server=fresh_bedrock, bedrock_integration="mantle")
    statements = {s["Sid"]: s for s in json.loads(credentials.guide(settings_named("bedrock-mantle"))["policy"])
                  ["Statement"]}
    assert statements["InvokeClaudeOnMantle"]["Action"] == ["bedrock-mantle:CreateInference"]
    assert "InvokeClaude" not in statements
