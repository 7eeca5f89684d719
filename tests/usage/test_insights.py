"""Recommendations, provider comparison and lifecycle warnings, computed from the data."""
import datetime
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from providers.clients.catalog import CATALOG_PATH, Catalog
from usage import lifecycle
from usage.comparison import compare
from usage.models import BatchableAgent, Recommendation
from usage.pricing import price_book
from usage.queries import Filters, read_consistently
from usage.recommendations import refresh_recommendations
from usage.rollups import update_rollups

from .conftest import NOW

pytestmark = pytest.mark.django_db
B_SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def by_kind():
    return {item.kind: item for item in Recommendation.objects.all()}


def test_simple_sonnet_requests_to_haiku(record):
    for _ in range(10):  # short answers, no tools: $0.003 + $0.0015 each on Sonnet, a third on Haiku
        record({"input_tokens": 1000, "output_tokens": 100})
    record({"input_tokens": 1000, "output_tokens": 100}, has_tools=True)  # tools: not simple
    record({"input_tokens": 1000, "output_tokens": 2000})  # long answer: not simple
    refresh_recommendations(now=NOW + datetime.timedelta(days=1))
    item = by_kind()["haiku"]
    # 10 x (0.0045 - 0.0015) = $0.03 over 1 day observed, scaled to 30 days
    assert item.monthly_saving_usd == Decimal("0.90")
    assert "10 requests" in item.detail and item.period_days == 1


def test_simple_5x_requests_are_priced_on_haiku_4_5_with_its_own_token_counts(record):
    for _ in range(10):  # Sonnet 5.5 at $2/$10: $0.003 each
        record({"input_tokens": 1000, "output_tokens": 100}, model_id="claude-sonnet-5-5")
    refresh_recommendations(now=NOW + datetime.timedelta(days=1))
    item = by_kind()["haiku"]
    # Haiku 4.5 counts the same text with the older tokenizer: 769 input and 76 output tokens ($1/$5:
    # $0.001149), not the 5.x counts ($0.0015). 10 x (0.003 - 0.001149) = $0.01851 in 1 day, x 30.
    assert item.monthly_saving_usd == Decimal("0.55")  # 0.45 on the 5.x counts
    assert item.title == "Move simple requests from Sonnet 5.5 to Haiku 4.5 (anthropic)"


def test_prompt_caching_for_repeated_prefixes(record):
    for minute in range(5):  # the same 10K-token prefix five times in one hour, no caching
        record({"input_tokens": 10_000, "output_tokens": 500}, prompt_prefix_hash="abc",
               occurred_at=NOW + datetime.timedelta(minutes=minute))
    record({"input_tokens": 10_000, "output_tokens": 500}, prompt_prefix_hash="once")  # never repeats
    refresh_recommendations(now=NOW + datetime.timedelta(days=1))
    item = by_kind()["caching"]
    # 4 reads x 10K x (3 - 0.30) - 1 write x 10K x (3.75 - 3) per million = 0.108 - 0.0075 = $0.1005/day
    assert item.monthly_saving_usd == Decimal("3.02")  # 0.1005 x 30 = 3.015, rounded half-even
    assert "1 long prompt prefixes were sent 5 times" in item.detail


def test_prompt_caching_is_recommended_only_above_the_models_own_minimum(record):
    """The call path's minimum cacheable prefix per model (providers.clients.prompt_caching) decides,
    5.x models included: Haiku 5.5 takes the Haiku family's 2,048 tokens, so a repeated 1,500-token
    prefix is no saving there, while on Sonnet 5.5 (1,024) it is."""
    for minute in range(5):
        for model_id, prefix in (("claude-haiku-5-5", "haiku"), ("claude-sonnet-5-5", "sonnet")):
            record({"input_tokens": 1_500, "output_tokens": 100}, model_id=model_id, prompt_prefix_hash=prefix,
                   occurred_at=NOW + datetime.timedelta(minutes=minute))
    refresh_recommendations(now=NOW + datetime.timedelta(days=1))
    caching = Recommendation.objects.filter(kind="caching")
    assert [item.base_model for item in caching] == ["claude-sonnet-5-5"]
    assert caching.get().title == "Turn on prompt caching for repeated prompts on Sonnet 5.5 (anthropic)"


def test_batch_for_non_interactive_agents(record):
    record({"input_tokens": 1000, "output_tokens": 1000}, agent="nightly", stream=False)  # $0.018
    record({"input_tokens": 1000, "output_tokens": 1000}, agent="chat", stream=True)  # interactive
    record({"input_tokens": 1000, "output_tokens": 1000}, agent="", stream=False)  # no agent
    refresh_recommendations(now=NOW + datetime.timedelta(days=1))
    assert by_kind()["batch"].monthly_saving_usd == Decimal("0.27")  # 0.018 x 50% x 30
    BatchableAgent.objects.create(name="chat")
    refresh_recommendations(now=NOW + datetime.timedelta(days=1))
    assert by_kind()["batch"].monthly_saving_usd == Decimal("0.54")
    assert "chat" in by_kind()["batch"].detail
    assert "Submit them on the Batches page" in by_kind()["batch"].detail  # where the saving is taken


def test_global_profile_instead_of_geo(record):
    record({"input_tokens": 100_000, "output_tokens": 10_000}, provider_kind="bedrock", model_id="us." + B_SONNET)
    update_rollups(assume_settled=True)
    refresh_recommendations(now=NOW + datetime.timedelta(days=1))
    item = by_kind()["global_profile"]
    # us.: 0.33 + 0.165 = 0.495; global.: 0.45; saving 0.045 a day -> 1.35 a month
    assert item.monthly_saving_usd == Decimal("1.35")
    assert "Sonnet 4.5" in item.title


def test_no_traffic_means_no_recommendations():
    Recommendation.objects.create(kind="haiku", title="stale", detail="", monthly_saving_usd=1, period_days=1,
                                  computed_at=NOW)
    assert refresh_recommendations(now=NOW) == {"recommendations": 0}
    assert not Recommendation.objects.exists()


def test_comparison_reprices_the_same_tokens_elsewhere(record):
    record({"input_tokens": 100_000, "output_tokens": 10_000})  # Anthropic API: 0.30 + 0.15 = 0.45
    record({"input_tokens": 100_000, "output_tokens": 10_000}, provider_kind="bedrock",
           model_id="us." + B_SONNET)  # geo: 0.495
    update_rollups(assume_settled=True)
    filters = Filters(start=NOW.date(), end=NOW.date())
    rows = read_consistently(lambda reader: reader.sums(filters, ["provider_kind", "base_model", "scope", "batch",
                                                                  "long_context"]))
    result = compare(rows, price_book(), NOW.date())
    lines = {line["scope"]: line for line in result["lines"]}
    assert result["recorded"] == Decimal("0.945000")
    assert lines["standard"]["on_demand"] == Decimal("0.900000")
    assert lines["global"]["on_demand"] == Decimal("0.900000")
    assert lines["geo"]["on_demand"] == Decimal("0.990000")
    assert lines["geo"]["batch"] == Decimal("0.495000")
    assert lines["geo"]["current"] and lines["standard"]["current"] and not lines["global"]["current"]


def test_comparison_leaves_out_models_without_a_price_there(record):
    record({"input_tokens": 1000}, provider_kind="bedrock", model_id="anthropic.claude-3-5-haiku-20241022-v1:0")
    update_rollups(assume_settled=True)
    filters = Filters(start=NOW.date(), end=NOW.date())
    rows = read_consistently(lambda reader: reader.sums(filters, ["provider_kind", "base_model", "scope", "batch",
                                                                  "long_context"]))
    lines = {line["scope"]: line for line in compare(rows, price_book(), NOW.date())["lines"]}
    assert lines["global"]["missing"] == ["claude-3-5-haiku"]  # no global profile for Haiku 3.5
    assert lines["standard"]["on_demand"] == Decimal("0.000800")


@pytest.fixture
def catalog(monkeypatch):
    """The shipped catalog with dates relative to today, so the test never expires."""
    today = datetime.date.today()
    data = json.loads(CATALOG_PATH.read_text())
    data["models"]["claude-3-5-haiku-20241022"].update(
        deprecated=True, retires_on=(today + datetime.timedelta(days=20)).isoformat())
    data["models"]["claude-opus-4-1-20250805"].update(
        deprecated=True, retires_on=(today + datetime.timedelta(days=200)).isoformat(), retired_without_date=False)
    data["models"]["claude-sonnet-4-5-20250929"].update(deprecated=False, retires_on=None)
    patched = Catalog(data)
    monkeypatch.setattr(lifecycle, "load_catalog", lambda: patched)
    return patched


def test_lifecycle_warnings_show_share_of_traffic_and_cost(record, catalog, member_client):
    today = datetime.date.today()
    record({"input_tokens": 1000, "output_tokens": 100}, model_id="claude-3-5-haiku-20241022")  # $0.0012
    record({"input_tokens": 1000, "output_tokens": 100}, model_id="claude-opus-4-1-20250805")  # $0.0225
    record({"input_tokens": 1000, "output_tokens": 100})  # Sonnet 4.5: $0.0045
    record({"input_tokens": 1000, "output_tokens": 100})
    update_rollups(assume_settled=True)
    rows = [{"base_model": model, "requests": requests, "cost_total": cost} for model, requests, cost in (
        ("claude-3-5-haiku", 1, Decimal("0.0012")), ("claude-opus-4-1", 1, Decimal("0.0225")),
        ("claude-sonnet-4-5", 2, Decimal("0.009")))]
    warnings = lifecycle.lifecycle_warnings(rows, today)
    assert [(w["model"], w["state"]) for w in warnings] == [("claude-3-5-haiku", "retiring"),
                                                           ("claude-opus-4-1", "deprecated")]
    assert warnings[0]["days_left"] == 20 and warnings[0]["request_share"] == 25
    assert round(warnings[1]["cost_share"], 1) == Decimal("68.8")  # 0.0225 of 0.0327
    html = member_client.get(reverse("usage:dashboard"), {"start": "2026-11-20", "end": "2026-11-20"}).content
    retires = (today + datetime.timedelta(days=20)).isoformat()
    assert f"retires {retires} (in 20 days)".encode() in html and reverse("providers:list").encode() in html


def test_retired_models_and_models_outside_the_catalog(catalog):
    later = datetime.date.today() + datetime.timedelta(days=30)
    rows = [{"base_model": "claude-3-5-haiku", "requests": 1, "cost_total": Decimal(1)},
            {"base_model": "claude-unknown-9", "requests": 5, "cost_total": Decimal(1)}]
    assert [(w["model"], w["state"]) for w in lifecycle.lifecycle_warnings(rows, later)] == \
        [("claude-3-5-haiku", "retired")]


@pytest.mark.django_db
def test_a_retiring_model_is_remapped_to_its_successor_in_one_revision(record, catalog, staff_client):
    from providers.models import ConfigRevision, ProviderConfig
    from providers.revisions import record_revision, restore

    config = ProviderConfig.objects.create(name="anthropic", kind="anthropic", api_key_env="ANTHROPIC_API_KEY",
                                           model_mapping={"haiku": "claude-3-5-haiku-20241022", "opus": ""})
    before = record_revision(None, "Added provider anthropic")
    record({"input_tokens": 100_000, "output_tokens": 10_000}, model_id="claude-3-5-haiku-20241022")
    update_rollups(assume_settled=True)
    html = staff_client.get(reverse("usage:dashboard"), {"start": "2026-11-20", "end": "2026-11-20"}).content.decode()
    assert "Remap to Claude Haiku 5.5" in html
    assert "tokenizer" in html  # Haiku 3.5 -> 5.5 is priced on the new tokenizer's counts
    warning = next(w for w in lifecycle.lifecycle_warnings(
        [{"base_model": "claude-3-5-haiku", "requests": 1, "cost_total": Decimal("0.12")}], datetime.date.today(),
        detail_rows=[{"provider_kind": "anthropic", "base_model": "claude-3-5-haiku", "scope": "standard",
                      "batch": False, "long_context": False, "requests": 1, "input_tokens": 100_000,
                      "output_tokens": 10_000, "cache_write_5m_tokens": 0, "cache_write_1h_tokens": 0,
                      "cache_read_tokens": 0}], book=price_book(), when=NOW.date()))
    # Haiku 3.5 at $0.80/$4: $0.12. Haiku 5.5 on the new tokenizer's 130,000 / 13,000 tokens, in the band the
    # recorded requests were in (rollups keep sums, not each prompt's size): $0.10/$0.50, $0.0195.
    assert warning["cost_now"] == Decimal("0.12") and warning["cost_successor"] == Decimal("0.0195")
    assert warning["cost_difference"] == Decimal("-0.1005")
    response = staff_client.post(reverse("providers:remap-model"),
                                 {"model": "claude-3-5-haiku-20241022", "next": reverse("usage:dashboard")})
    assert response.status_code == 302 and response["Location"] == reverse("usage:dashboard")
    config.refresh_from_db()
    assert "haiku" not in config.model_mapping  # the catalog default is the successor: override dropped
    revision = ConfigRevision.objects.first()
    assert revision.summary.startswith("Remapped Claude Haiku 3.5 to Claude Haiku 5.5")
    restore(before, None)  # one click back, like any revision
    config.refresh_from_db()
    assert config.model_mapping["haiku"] == "claude-3-5-haiku-20241022"


@pytest.mark.django_db
def test_remapping_needs_staff(member_client):
    response = member_client.post(reverse("providers:remap-model"), {"model": "claude-3-5-haiku-20241022"})
    assert response.status_code == 403
