"""Rollups equal the sum of the raw rows, after every kind of change."""
import datetime
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection

from moments_admin.locks import make_lock
from providers.clients.usage import Usage
from usage import rollups
from usage.histogram import bin_index
from usage.models import (
    COARSE_DIMENSIONS,
    FINE_DIMENSIONS,
    KEY_DIMENSIONS,
    KEY_MODEL_DIMENSIONS,
    KeyDaily,
    KeyModelDaily,
    ProviderDaily,
    ProviderHourly,
    RollupState,
    UsageDaily,
    UsageHourly,
    UsageRecord,
)
from usage.rollups import COST_FIELDS, TOKEN_FIELDS, update_rollups

pytestmark = pytest.mark.django_db
START = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
MODELS = [("anthropic", "claude-sonnet-4-5-20250929"), ("anthropic", "claude-haiku-4-5-20251001"),
          ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
          ("bedrock", "global.anthropic.claude-opus-4-5-20251101-v1:0"), ("anthropic", "claude-mystery-1")]


def make_rows(record, count, seed):
    rng = random.Random(seed)
    for _ in range(count):
        kind, model_id = rng.choice(MODELS)
        record(
            {"input_tokens": rng.randint(0, 5000), "output_tokens": rng.randint(0, 2000),
             "cache_write_5m_tokens": rng.choice([0, 0, 1500]), "cache_write_1h_tokens": rng.choice([0, 800]),
             "cache_read_tokens": rng.choice([0, 0, 12000])},
            provider_name=f"{kind}-{rng.choice(['a', 'b'])}", provider_kind=kind, model_id=model_id,
            occurred_at=START + datetime.timedelta(minutes=rng.randint(0, 3 * 24 * 60)),
            status=rng.choice(["ok", "ok", "ok", "rate_limited"]), purpose=rng.choice(["gateway", "health"]),
            gateway_key=rng.choice(["", "key-1", "key-2"]), agent=rng.choice(["", "agent-x"]),
            batch=rng.random() < 0.2, is_demo=rng.random() < 0.3,
            latency_ms=rng.choice([None, rng.uniform(10, 70000)]), ttft_ms=rng.choice([None, rng.uniform(5, 3000)]),
        )


def truncate(moment, granularity):
    moment = moment.astimezone(datetime.UTC)
    return moment.replace(minute=0, second=0, microsecond=0) if granularity == "hour" else \
        moment.replace(hour=0, minute=0, second=0, microsecond=0)


def expected(dimensions, granularity, histograms):
    sums = defaultdict(lambda: defaultdict(int))
    for row in UsageRecord.objects.filter(id__lte=RollupState.objects.get(name="usage").last_id):
        key = (truncate(row.occurred_at, granularity),) + tuple(getattr(row, name) for name in dimensions[1:])
        target = sums[key]
        target["requests"] += 1
        target["failed"] += row.status != "ok"
        target["unpriced"] += row.cost_total is None
        for name in TOKEN_FIELDS:
            target[name] += getattr(row, name)
        for name in COST_FIELDS:
            target[name] += getattr(row, name) or Decimal(0)
        if histograms and row.status == "ok":
            if row.latency_ms is not None:
                target[f"lat_{bin_index(row.latency_ms):02d}"] += 1
            if row.ttft_ms is not None:
                target[f"ttft_{bin_index(row.ttft_ms):02d}"] += 1
    return {key: dict(values) for key, values in sums.items()}


def actual(model, dimensions, measures):
    out = {}
    for row in model.objects.values(*dimensions, *measures):
        key = tuple(row[name] for name in dimensions)
        out[key] = {name: row[name] for name in measures if row[name]}
    return out


def assert_rollups_match_raw():
    measures = ["requests", "failed", "unpriced", *TOKEN_FIELDS, *COST_FIELDS]
    histograms = [field.name for field in ProviderDaily._meta.fields if field.name.startswith(("lat_", "ttft_"))]
    for model, dimensions, granularity, extra in (
            (UsageHourly, FINE_DIMENSIONS, "hour", []), (UsageDaily, FINE_DIMENSIONS, "day", []),
            (ProviderHourly, COARSE_DIMENSIONS, "hour", histograms),
            (ProviderDaily, COARSE_DIMENSIONS, "day", histograms)):
        wanted = {key: {name: value for name, value in values.items() if value}
                  for key, values in expected(dimensions, granularity, bool(extra)).items()}
        assert actual(model, dimensions, measures + extra) == wanted, model.__name__
    for model, dimensions in ((KeyDaily, KEY_DIMENSIONS), (KeyModelDaily, KEY_MODEL_DIMENSIONS)):
        per_key = defaultdict(lambda: [0, 0, 0, Decimal(0)])
        for key, values in expected(dimensions, "day", False).items():
            per_key[key][0] += values["requests"]
            per_key[key][1] += values["failed"]
            per_key[key][2] += sum(values[name] for name in TOKEN_FIELDS)
            per_key[key][3] += values["cost_total"]
        got = {tuple(getattr(row, name) for name in dimensions): [row.requests, row.failed, row.tokens, row.cost_total]
               for row in model.objects.all()}
        assert got == dict(per_key), model.__name__


def test_rollups_equal_the_sum_of_raw_rows(record):
    make_rows(record, 150, seed=1)
    summary = update_rollups(assume_settled=True)
    assert summary["ids_rolled_up"] >= 150
    assert_rollups_match_raw()
    assert UsageDaily.objects.count() < UsageRecord.objects.count()
    # More rows later, rolled up incrementally in small chunks
    make_rows(record, 120, seed=2)
    update_rollups(assume_settled=True, chunk=7)
    assert RollupState.objects.get(name="usage").last_id == UsageRecord.objects.latest("id").id
    assert_rollups_match_raw()


def test_rerunning_without_new_rows_changes_nothing(record):
    make_rows(record, 40, seed=3)
    update_rollups(assume_settled=True)
    before = list(ProviderDaily.objects.values_list("requests", "cost_total").order_by("id"))
    assert update_rollups(assume_settled=True)["ids_rolled_up"] == 0
    assert list(ProviderDaily.objects.values_list("requests", "cost_total").order_by("id")) == before


def test_demo_removal_keeps_rollups_equal_to_raw(record):
    make_rows(record, 100, seed=4)
    update_rollups(assume_settled=True)
    deleted = rollups.remove_demo_rows()
    assert deleted > 0 and not UsageRecord.objects.filter(is_demo=True).exists()
    assert_rollups_match_raw()


def test_rebuild_range_restores_rollups(record):
    make_rows(record, 80, seed=5)
    update_rollups(assume_settled=True)
    UsageDaily.objects.update(requests=999)  # corrupt, then rebuild the whole span
    rollups.rebuild_range(START, START + datetime.timedelta(days=4))
    assert_rollups_match_raw()


def test_a_run_while_another_holds_the_lock_is_skipped(record):
    record()
    holder = make_lock(rollups.LOCK_NAME)
    assert holder.acquire()
    try:
        assert "skipped" in update_rollups(assume_settled=True)
        assert not UsageDaily.objects.exists()
    finally:
        holder.release()
    assert "ids_rolled_up" in update_rollups(assume_settled=True)  # released: the next run goes


def test_gap_from_a_transaction_in_flight_waits_until_it_settles(monkeypatch):
    """A gap in the ids holds last_id back until the snapshot shows it settled."""
    state = RollupState(name="usage", last_id=10)
    monkeypatch.setattr(rollups, "_contiguous_end", lambda start, hi: start + 2)
    monkeypatch.setattr(rollups, "_current_xid", lambda: 500)
    monkeypatch.setattr(connection, "vendor", "postgresql")

    class Found:
        def aggregate(self, **kwargs):
            return {"hi": 20, "n": 8}  # 10 ids, 8 visible: gaps

    monkeypatch.setattr(UsageRecord.objects, "filter", lambda **kwargs: Found())
    monkeypatch.setattr(rollups, "_snapshot_xmin", lambda: 400)
    assert rollups.safe_high_water_mark(state) == 12  # up to the first gap only
    assert (state.pending_hi, state.pending_xmax) == (20, 500)
    assert rollups.safe_high_water_mark(state) == 12  # transactions from then still running
    monkeypatch.setattr(rollups, "_snapshot_xmin", lambda: 501)
    assert rollups.safe_high_water_mark(state) == 22  # settled: the gaps up to 20 are permanent


@pytest.mark.skipif(connection.vendor != "postgresql", reason="in-flight ids only exist on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_row_of_a_transaction_in_flight_is_not_skipped(record):
    import psycopg

    settings = connection.settings_dict
    first = record()  # committed: id n
    # Earlier tests rolled back ids below n; start right before it, as a fresh install would.
    RollupState.objects.create(name="usage", last_id=first.id - 1)
    other = psycopg.connect(host=settings["HOST"] or None, port=settings["PORT"] or None,
                            user=settings["USER"], dbname=settings["NAME"], password=settings["PASSWORD"] or None)
    try:
        with other.cursor() as cursor:  # takes id n+1 and stays uncommitted
            cursor.execute(
                f"INSERT INTO {UsageRecord._meta.db_table} (occurred_at, provider_name, provider_kind, model_id, "
                "base_model, scope, logical_model, purpose, status, gateway_key, agent, region, request_id, "
                "prompt_prefix_hash, batch, stream, has_tools, long_context, is_demo, input_tokens, output_tokens, "
                "cache_write_5m_tokens, cache_write_1h_tokens, cache_read_tokens) VALUES (now(), 'late', 'anthropic', "
                "'x', 'x', '', '', 'gateway', 'ok', '', '', '', '', '', false, false, false, false, false, "
                "5, 0, 0, 0, 0)")
        record()  # committed: id n+2, after the gap
        update_rollups()
        assert ProviderDaily.objects.filter(provider_name="late").count() == 0
        assert sum(ProviderDaily.objects.values_list("requests", flat=True)) == 1  # stopped before the gap
        other.commit()
        update_rollups()
        assert sum(ProviderDaily.objects.values_list("requests", flat=True)) == 3
    finally:
        other.close()


def test_rollup_task_returns_a_summary(record):
    from usage.tasks import update_usage_rollups

    row = record(usage=Usage(input_tokens=10))
    RollupState.objects.create(name="usage", last_id=row.id - 1)  # ids below were rolled back by earlier tests
    result = update_usage_rollups()
    assert result["ids_rolled_up"] == 1
