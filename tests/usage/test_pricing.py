"""The cost calculator against hand-computed cases on both providers."""
import datetime
from decimal import Decimal

import pytest

from usage.models import ModelPrice, ProfileMapping, UsageRecord
from usage.pricing import ParsedModel, parse_model_id

pytestmark = pytest.mark.django_db
D = Decimal
SONNET = "claude-sonnet-4-5-20250929"
B_SONNET = "anthropic.claude-sonnet-4-5-20250929-v1:0"
B_HAIKU45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
B_HAIKU35 = "anthropic.claude-3-5-haiku-20241022-v1:0"
ALL_KINDS = {"input_tokens": 2000, "output_tokens": 1000, "cache_write_5m_tokens": 4000,
             "cache_write_1h_tokens": 1000, "cache_read_tokens": 20000}

# (provider kind, model ID, tokens, batch, expected total in USD) -- worked out by hand
# from the per-million prices: Sonnet 4.x 3/15, Haiku 4.5 1/5, Haiku 3.5 0.80/4,
# Opus 4.5 5/25, Opus 4/4.1 15/75; writes 1.25x (5m) / 2x (1h), reads 0.1x;
# batch half; Bedrock geo and in-region +10% for the 4.5 generation.
CASES = [
    ("anthropic", SONNET, {"input_tokens": 100_000}, False, "0.300000"),
    ("anthropic", SONNET, {"input_tokens": 1000, "output_tokens": 500}, False, "0.010500"),
    ("anthropic", SONNET, {"cache_write_5m_tokens": 10_000}, False, "0.037500"),
    ("anthropic", SONNET, {"cache_write_1h_tokens": 10_000}, False, "0.060000"),
    ("anthropic", SONNET, {"cache_read_tokens": 100_000}, False, "0.030000"),
    # 0.006 in + 0.015 out + 0.015 5m write + 0.006 1h write + 0.006 read
    ("anthropic", SONNET, ALL_KINDS, False, "0.048000"),
    ("anthropic", SONNET, ALL_KINDS, True, "0.024000"),
    ("anthropic", "claude-sonnet-4-5", {"input_tokens": 1000, "output_tokens": 500}, False, "0.010500"),
    ("anthropic", "claude-opus-4-5-20251101", {"input_tokens": 1000, "output_tokens": 1000}, False, "0.030000"),
    ("anthropic", "claude-opus-4-1-20250805", {"input_tokens": 1000, "output_tokens": 1000}, False, "0.090000"),
    ("anthropic", "claude-opus-4-20250514", {"cache_read_tokens": 10_000}, False, "0.015000"),
    ("anthropic", "claude-haiku-4-5-20251001", {"input_tokens": 10_000, "output_tokens": 2000}, False, "0.020000"),
    ("anthropic", "claude-3-5-haiku-20241022", {"input_tokens": 1_000_000, "output_tokens": 1000}, False,
     "0.804000"),
    ("anthropic", "claude-3-5-haiku-latest", {"cache_write_5m_tokens": 1_000_000}, False, "1.000000"),
    ("anthropic", "claude-3-7-sonnet-20250219", {"output_tokens": 2000}, True, "0.015000"),
    # Long context (Sonnet 4/4.5 above 200K total input): 6 in / 22.50 out, cache scaled 2x
    ("anthropic", SONNET, {"input_tokens": 250_000, "output_tokens": 1000}, False, "1.522500"),
    ("anthropic", SONNET, {"input_tokens": 150_000, "cache_read_tokens": 60_000}, False, "0.936000"),
    ("anthropic", SONNET, {"input_tokens": 200_000}, False, "0.600000"),
    ("anthropic", "claude-sonnet-4-0", {"input_tokens": 250_000}, True, "0.750000"),
    # Bedrock: the global. profile is the API price; geo and in-region +10% for 4.5
    ("bedrock", "global." + B_SONNET, {"input_tokens": 1000, "output_tokens": 500}, False, "0.010500"),
    ("bedrock", "us." + B_SONNET, {"input_tokens": 1000, "output_tokens": 500}, False, "0.011550"),
    ("bedrock", "eu." + B_SONNET, {"input_tokens": 1000, "output_tokens": 500}, False, "0.011550"),
    ("bedrock", B_SONNET, {"input_tokens": 1000, "output_tokens": 500}, False, "0.011550"),
    ("bedrock", "us." + B_SONNET, ALL_KINDS, False, "0.052800"),
    ("bedrock", "us." + B_SONNET, ALL_KINDS, True, "0.026400"),
    ("bedrock", "us." + B_HAIKU45, {"input_tokens": 10_000, "output_tokens": 2000, "cache_read_tokens": 50_000},
     False, "0.027500"),
    ("bedrock", "global." + B_HAIKU45, {"input_tokens": 10_000, "output_tokens": 2000,
                                        "cache_read_tokens": 50_000}, False, "0.025000"),
    ("bedrock", "apac.anthropic.claude-opus-4-5-20251101-v1:0", {"output_tokens": 1000}, False, "0.027500"),
    # Older models: no regional premium
    ("bedrock", B_HAIKU35, {"input_tokens": 1_000_000, "output_tokens": 1000}, False, "0.804000"),
    ("bedrock", "us." + B_HAIKU35, {"input_tokens": 1_000_000, "output_tokens": 1000}, False, "0.804000"),
    ("bedrock", "us.anthropic.claude-opus-4-1-20250805-v1:0", {"cache_write_1h_tokens": 1000}, False, "0.030000"),
    ("bedrock", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us." + B_SONNET,
     {"input_tokens": 1000}, False, "0.003300"),
    ("bedrock", "arn:aws:bedrock:us-east-1::foundation-model/" + B_HAIKU35, {"input_tokens": 1000}, False,
     "0.000800"),
    ("bedrock", "global." + B_SONNET, {"input_tokens": 250_000}, False, "1.500000"),
    ("bedrock", "us." + B_SONNET, {"input_tokens": 250_000}, False, "1.650000"),
    # Rounding to the micro-dollar: 7 tokens at $3/M = $0.000021; 1 geo 5m write = 0.000004125
    ("anthropic", SONNET, {"input_tokens": 7}, False, "0.000021"),
    ("bedrock", "us." + B_SONNET, {"cache_write_5m_tokens": 1}, False, "0.000004"),
]


@pytest.mark.parametrize(("kind", "model_id", "tokens", "batch", "expected"), CASES)
def test_hand_computed_costs(record, kind, model_id, tokens, batch, expected):
    row = record(tokens, provider_kind=kind, model_id=model_id, batch=batch)
    row.refresh_from_db()
    assert row.cost_total == D(expected)
    parts = row.cost_input + row.cost_output + row.cost_cache_write + row.cost_cache_read
    assert parts == row.cost_total  # the split by kind always adds up


def test_split_by_token_kind_and_cache_savings(record):
    row = record(ALL_KINDS)
    assert (row.cost_input, row.cost_output) == (D("0.006000"), D("0.015000"))
    assert row.cost_cache_write == D("0.021000")  # 4000 x 3.75 + 1000 x 6 per million
    assert row.cost_cache_read == D("0.006000")
    # reads saved 20000 x (3 - 0.30); writes cost 4000 x 0.75 + 1000 x 3 over plain input
    assert row.cache_savings == D("0.048000")


def test_cache_tokens_are_not_free(record):
    plain = record({"input_tokens": 1000})
    cached = record({"input_tokens": 1000, "cache_write_5m_tokens": 1000, "cache_read_tokens": 1000})
    assert cached.cost_cache_write == D("0.003750")
    assert cached.cost_cache_read == D("0.000300")
    assert cached.cost_total == plain.cost_total + D("0.004050")


def test_cache_reads_are_not_billed_as_plain_input(record):
    row = record({"cache_read_tokens": 100_000})
    assert row.cost_total == D("0.030000")  # 0.1x, not the $0.30 of plain input
    assert row.cost_input == 0


def test_cache_writes_are_counted_once(record):
    # input_tokens excludes cached tokens: 100K written tokens cost 1.25x input, not 1x + 1.25x
    row = record({"input_tokens": 0, "cache_write_5m_tokens": 100_000})
    assert row.cost_total == D("0.375000")


def test_geo_profile_premium_is_applied(record):
    tokens = {"input_tokens": 100_000, "output_tokens": 10_000}
    global_row = record(tokens, provider_kind="bedrock", model_id="global." + B_SONNET)
    geo_row = record(tokens, provider_kind="bedrock", model_id="us." + B_SONNET)
    assert geo_row.scope == "geo" and global_row.scope == "global"
    assert geo_row.cost_total == (global_row.cost_total * D("1.1")).quantize(D("0.000001"))


def test_inference_profile_ids_are_priced_not_zero(record):
    for model_id in ("us." + B_HAIKU45, "global." + B_HAIKU45, "jp." + B_HAIKU45,
                     "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu." + B_HAIKU45):
        row = record({"input_tokens": 1000}, provider_kind="bedrock", model_id=model_id)
        assert row.priced and row.cost_total > 0, model_id


def test_application_profile_arn_is_priced_through_its_mapping(record):
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5"
    unmapped = record({"input_tokens": 1000}, provider_kind="bedrock", model_id=arn)
    assert not unmapped.priced and unmapped.cost_total is None
    ProfileMapping.objects.create(arn=arn, model_id="us." + B_SONNET)
    mapped = record({"input_tokens": 1000}, provider_kind="bedrock", model_id=arn)
    assert (mapped.base_model, mapped.scope, mapped.cost_total) == ("claude-sonnet-4-5", "geo", D("0.003300"))


@pytest.mark.parametrize(("kind", "model_id"), [
    ("anthropic", "claude-unknown-9-20300101"),
    ("bedrock", "meta.llama3-70b-instruct-v1:0"),
    ("bedrock", "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc"),
    ("anthropic", "gpt-4o"),
])
def test_unknown_model_is_flagged_unpriced_never_zero(record, kind, model_id):
    row = record({"input_tokens": 1000, "output_tokens": 10}, provider_kind=kind, model_id=model_id)
    row.refresh_from_db()
    assert row.cost_total is None and row.cost_input is None and not row.priced
    assert row.price_id is None


def test_record_before_a_models_first_price_is_unpriced(record):
    row = record(model_id="claude-haiku-4-5-20251001",
                 occurred_at=datetime.datetime(2025, 9, 30, 23, 59, tzinfo=datetime.UTC))
    assert not row.priced


def test_price_in_force_at_occurred_at_is_used(record):
    base = ModelPrice.objects.get(provider_kind="anthropic", base_model="claude-sonnet-4-5", scope="standard")
    base.pk = None
    base.effective_from = datetime.date(2026, 11, 1)
    base.input = D("2")
    base.save()
    before = record({"input_tokens": 100_000}, occurred_at=datetime.datetime(2026, 10, 31, 23, 59,
                                                                               tzinfo=datetime.UTC))
    after = record({"input_tokens": 100_000}, occurred_at=datetime.datetime(2026, 11, 1, 0, 0,
                                                                              tzinfo=datetime.UTC))
    assert (before.cost_total, after.cost_total) == (D("0.300000"), D("0.200000"))
    assert after.price_id == base.pk


@pytest.mark.parametrize(("kind", "model_id", "expected"), [
    ("anthropic", "claude-sonnet-4-5-20250929", ("claude-sonnet-4-5", "standard")),
    ("anthropic", "claude-opus-4-0", ("claude-opus-4", "standard")),
    ("bedrock", "us-gov.anthropic.claude-3-7-sonnet-20250219-v1:0", ("claude-3-7-sonnet", "geo")),
    ("bedrock", "anthropic.claude-opus-4-5-20251101-v1", ("claude-opus-4-5", "in_region")),
    ("bedrock", "global.anthropic.claude-haiku-4-5-20251001-v1:0", ("claude-haiku-4-5", "global")),
])
def test_model_ids_normalize_to_base_model_and_scope(kind, model_id, expected):
    assert parse_model_id(kind, model_id) == ParsedModel(*expected)


def test_shipped_price_table_has_sources_and_dates():
    prices = ModelPrice.objects.all()
    assert prices.count() >= 28
    assert all(price.source_url.startswith("https://") and price.source_date for price in prices)
    kinds = set(prices.values_list("provider_kind", "scope"))
    assert kinds == {("anthropic", "standard"), ("bedrock", "global"), ("bedrock", "geo"), ("bedrock", "in_region"),
                     ("aws_platform", "standard")}


def test_bad_arguments_raise_value_error(record):
    with pytest.raises(ValueError, match="provider_kind"):
        record(provider_kind="openai")
    with pytest.raises(ValueError, match="negative"):
        record({"input_tokens": -1})
    assert not UsageRecord.objects.exists()
