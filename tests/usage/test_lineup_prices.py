"""Prices of the current lineup: per-model cache rates, Haiku 5.5's bands, US-only inference, estimates."""
import datetime
import importlib
import json
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from providers.clients.catalog import load_catalog
from providers.clients.usage import Usage
from usage.models import ModelPrice
from usage.pricing import PROVIDER_KINDS, SCOPES, compute_cost, parse_model_id, price_book
from usage.recompute import recompute_period
from usage.rollups import update_rollups

pytestmark = pytest.mark.django_db
D = Decimal
NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)
lineup_migration = importlib.import_module("usage.migrations.0005_current_lineup_prices")

# (kind, model ID, tokens, extra arguments, expected total) -- worked out by hand from the per-million
# prices: Haiku 5.5 $0.10/$0.50 up to 100K prompt tokens (5m write $0.125, read $0.01), above
# $0.50/$2.50 ($0.625, $0.05); Opus 5.5 $4/$20, read $0.20 (0.05x); Fable 5.1 $10/$50, read $0.25
# (0.025x); Sonnet 5.5 $2/$10; Opus 4.6 $5/$25. US-only 1.1x; batch half.
CASES = [
    # Haiku 5.5, prompt exactly 100K (input + writes + reads): the lower band for every token
    ("anthropic", "claude-haiku-5-5", {"input_tokens": 60_000, "cache_write_5m_tokens": 20_000,
                                       "cache_read_tokens": 20_000, "output_tokens": 1000}, {}, "0.009200"),
    # 100,001 prompt tokens: the upper band for every token of the request, output included
    ("anthropic", "claude-haiku-5-5", {"input_tokens": 60_001, "cache_write_5m_tokens": 20_000,
                                       "cache_read_tokens": 20_000, "output_tokens": 1000}, {}, "0.046001"),
    ("anthropic", "claude-haiku-5-5", {"input_tokens": 1_000_000}, {}, "0.500000"),
    ("anthropic", "claude-haiku-5-5", {"input_tokens": 100_000}, {}, "0.010000"),
    # Opus 5.5: 1M cache reads at $0.20 (0.05x of $4), not $0.40 (0.1x)
    ("anthropic", "claude-opus-5-5", {"cache_read_tokens": 1_000_000}, {}, "0.200000"),
    ("anthropic", "claude-opus-5-5", {"input_tokens": 1000, "output_tokens": 1000, "cache_write_1h_tokens": 1000},
     {}, "0.032000"),
    # Fable 5.1: 1M cache reads at $0.25 (0.025x of $10)
    ("anthropic", "claude-fable-5-1", {"cache_read_tokens": 1_000_000}, {}, "0.250000"),
    ("anthropic", "claude-fable-5-2", {"cache_read_tokens": 1_000_000, "output_tokens": 1000}, {}, "0.300000"),
    # US-only inference: 1.1x on the Claude API and Claude Platform on AWS, Opus 4.6 and later
    ("anthropic", "claude-opus-4-6", {"input_tokens": 1_000_000}, {"inference_geo": "us"}, "5.500000"),
    ("anthropic", "claude-opus-4-6", {"input_tokens": 1_000_000}, {"inference_geo": "global"}, "5.000000"),
    ("aws_platform", "claude-sonnet-5-5", {"input_tokens": 1_000_000, "output_tokens": 100_000},
     {"inference_geo": "us"}, "3.300000"),
    ("aws_platform", "claude-sonnet-5-5", {"input_tokens": 1_000_000, "output_tokens": 100_000}, {}, "3.000000"),
    # Opus 4.5 predates the premium: inference_geo changes nothing
    ("anthropic", "claude-opus-4-5-20251101", {"input_tokens": 1_000_000}, {"inference_geo": "us"}, "5.000000"),
    # Batch: half of every kind, also with the band and the premium
    ("anthropic", "claude-opus-5-5", {"input_tokens": 1_000_000, "cache_read_tokens": 1_000_000}, {"batch": True},
     "2.100000"),
    ("anthropic", "claude-haiku-5-5", {"input_tokens": 200_000}, {"batch": True}, "0.050000"),
    ("anthropic", "claude-opus-4-8", {"input_tokens": 1_000_000}, {"batch": True, "inference_geo": "us"},
     "2.750000"),
    # Bedrock 5.x: global at the API price, geo and in-region (base or mantle ID) +10%, estimated
    ("bedrock", "global.anthropic.claude-sonnet-5-5", {"input_tokens": 1_000_000}, {}, "2.000000"),
    ("bedrock", "us.anthropic.claude-opus-5-5", {"input_tokens": 1_000_000}, {}, "4.400000"),
    ("bedrock", "anthropic.claude-haiku-5-5", {"input_tokens": 200_000}, {}, "0.110000"),
    # inference_geo is a Claude API setting: no premium on Bedrock
    ("bedrock", "global.anthropic.claude-opus-4-6-v1", {"input_tokens": 1_000_000}, {"inference_geo": "us"},
     "5.000000"),
]


@pytest.mark.parametrize(("kind", "model_id", "tokens", "extra", "expected"), CASES)
def test_hand_computed_lineup_costs(record, kind, model_id, tokens, extra, expected):
    row = record(tokens, provider_kind=kind, model_id=model_id, occurred_at=NOW, **extra)
    row.refresh_from_db()
    assert row.cost_total == D(expected)
    assert row.cost_input + row.cost_output + row.cost_cache_write + row.cost_cache_read == row.cost_total


def test_the_band_follows_each_request_not_the_sum(record):
    small = [record({"input_tokens": 90_000}, model_id="claude-haiku-5-5") for _ in range(2)]
    assert all(row.cost_total == D("0.009000") and not row.long_context for row in small)
    large = record({"input_tokens": 90_000, "cache_read_tokens": 20_000}, model_id="claude-haiku-5-5")
    assert large.long_context and large.cost_total == D("0.046000")  # 90K x 0.50 + 20K x 0.05


def test_inference_geo_is_stored_and_used_again_by_recompute(record):
    row = record({"input_tokens": 1_000_000}, model_id="claude-opus-5-5", inference_geo="us")
    row.refresh_from_db()
    assert (row.inference_geo, row.cost_total) == ("us", D("4.400000"))
    ModelPrice.objects.filter(base_model="claude-opus-5-5").update(input=D("3"))
    recompute_period(NOW.date(), NOW.date())
    row.refresh_from_db()
    assert row.cost_total == D("3.300000")


def test_estimated_prices_are_flagged_with_their_basis():
    estimated = ModelPrice.objects.filter(estimated=True)
    assert estimated.filter(provider_kind="bedrock", base_model="claude-sonnet-5-5").count() == 3
    assert all("Estimate" in price.note for price in estimated)
    assert not ModelPrice.objects.filter(provider_kind="anthropic", base_model="claude-opus-5-5",
                                         estimated=True).exists()
    assert not ModelPrice.objects.filter(provider_kind="bedrock", base_model="claude-haiku-4-5",
                                         estimated=True).exists()


def test_estimated_flag_reaches_the_cost():
    book = price_book()
    bedrock = book.price_for("bedrock", "claude-sonnet-5-5", "global", NOW)
    api = book.price_for("anthropic", "claude-sonnet-5-5", "standard", NOW)
    assert compute_cost(bedrock, Usage(1000, 10)).estimated
    assert not compute_cost(api, Usage(1000, 10)).estimated


def test_every_default_and_fallback_is_priced_on_every_kind():
    catalog = load_catalog()
    book = price_book()
    today = datetime.datetime.now(datetime.UTC)
    for name, entry in catalog.logical.items():
        for key in (entry["current"], entry.get("fallback")):
            base = parse_model_id("anthropic", key).base_model
            for kind in PROVIDER_KINDS:
                for scope in SCOPES[kind]:
                    assert book.price_for(kind, base, scope, today) is not None, (name, key, kind, scope)


def test_every_offered_model_is_priced_on_the_api_and_bedrock_global():
    book = price_book()
    for model in load_catalog().models.values():
        if model.lifecycle(NOW.date())[0] == "retired" or model.access != "general":
            continue
        base = parse_model_id("anthropic", model.key).base_model
        assert book.price_for("anthropic", base, "standard", NOW), model.key
        assert book.price_for("aws_platform", base, "standard", NOW), model.key
        assert book.price_for("bedrock", base, "global", NOW), model.key


def test_release_dates_corrected():
    def since(model):
        return {str(day) for day in ModelPrice.objects.filter(base_model=model).values_list("effective_from",
                                                                                            flat=True)}
    assert since("claude-opus-4-5") == {"2025-11-24"}
    assert since("claude-haiku-4-5") == {"2025-10-15"}
    assert since("claude-sonnet-4-6") == {"2026-02-17"}


def test_shipped_file_and_table_agree():
    rows = json.loads(lineup_migration.PRICES_FILE.read_text())["prices"]
    assert ModelPrice.objects.count() == len(rows)
    assert {(r["provider"], r["model"], r["scope"]) for r in rows} == set(
        ModelPrice.objects.values_list("provider_kind", "base_model", "scope"))


def test_migration_corrects_old_dates_in_place_and_never_duplicates(record, staff_user):
    # A database migrated before this change: the 2025-11-01 row, with a usage record pointing at it.
    price = ModelPrice.objects.get(provider_kind="anthropic", base_model="claude-opus-4-5", scope="standard")
    price.effective_from = datetime.date(2025, 11, 1)
    price.estimated = True
    price.save()
    row = record({"input_tokens": 1000}, model_id="claude-opus-4-5")
    assert row.price_id == price.pk
    edited = ModelPrice.objects.create(provider_kind="anthropic", base_model="claude-opus-5-5", scope="standard",
                                       effective_from=datetime.date(2026, 9, 23), input=1, output=1,
                                       cache_write_5m=1, cache_write_1h=1, cache_read=1,
                                       source_url="https://example.com", source_date=datetime.date(2026, 11, 1),
                                       note="mine", created_by=staff_user)
    count = ModelPrice.objects.count()
    lineup_migration.load_current_lineup(django_apps, None)
    lineup_migration.load_current_lineup(django_apps, None)
    assert ModelPrice.objects.count() == count
    price.refresh_from_db()
    assert price.effective_from == datetime.date(2025, 11, 24) and not price.estimated
    edited.refresh_from_db()
    assert edited.note == "mine"  # a staff edit is never touched



def test_dashboard_marks_costs_from_estimated_prices(member_client, record):
    today = datetime.datetime.now(datetime.UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    record(model_id="claude-sonnet-5-5", occurred_at=today)
    update_rollups(assume_settled=True)
    html = member_client.get(reverse("usage:dashboard")).content.decode()
    assert 'data-testid="estimated-cost"' not in html  # Claude API prices are published
    record(provider_kind="bedrock", provider_name="bedrock-us", model_id="global.anthropic.claude-sonnet-5-5",
           occurred_at=today)
    update_rollups(assume_settled=True)
    html = member_client.get(reverse("usage:dashboard")).content.decode()
    assert 'data-testid="estimated-cost">estimated in part: claude-sonnet-5-5' in html


def test_prices_page_marks_estimated_rows(member_client):
    html = member_client.get(reverse("usage:prices")).content.decode()
    assert 'data-testid="estimated-price"' in html and "US-only" in html


def test_prices_page_has_a_section_per_provider_kind(member_client):
    html = member_client.get(reverse("usage:prices")).content.decode()
    for label in ("Anthropic API", "Amazon Bedrock", "Claude Platform on AWS"):
        assert f"<h2>{label}</h2>" in html


PLATFORM_PRICE = {"provider_kind": "aws_platform", "model": "claude-opus-5-5", "scope": "standard",
                  "effective_from": "2030-01-01", "input": "3", "output": "15", "batch_discount": "0.5",
                  "us_only_multiplier": "1.1", "estimated": "on", "note": "Guess from the API price.",
                  "source_url": "https://docs.aws.amazon.com/"}


def test_staff_add_a_claude_platform_price_with_premium_and_estimate(staff_client):
    assert staff_client.post(reverse("usage:price-add"), PLATFORM_PRICE).status_code == 302
    price = ModelPrice.objects.get(provider_kind="aws_platform", base_model="claude-opus-5-5",
                                   effective_from="2030-01-01")
    assert price.estimated and price.us_only_multiplier == D("1.1")


@pytest.mark.parametrize("change", [{"scope": "global"}, {"us_only_multiplier": "0.5"},
                                    {"us_only_multiplier": "lots"}])
def test_bad_claude_platform_price_is_a_form_error(staff_client, change):
    count = ModelPrice.objects.count()
    response = staff_client.post(reverse("usage:price-add"), {**PLATFORM_PRICE, **change})
    assert response.status_code == 400
    assert ModelPrice.objects.count() == count
