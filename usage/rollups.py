"""Hourly and daily rollups built from new usage records in set-based statements.

record_usage only inserts a row. update_rollups() (Celery beat, every minute)
adds the rows with ids above RollupState.last_id to every rollup table with one
INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE per table, and moves
last_id in the same transaction, so the rollups always hold exactly the rows
with id <= last_id. Readers add the few newer rows from the raw table (the
"tail", see queries.py), so figures are live.

An id below the newest visible one may belong to a transaction still in flight
(PostgreSQL hands out ids before commit). last_id therefore only moves past a
gap in the ids once every transaction that was running when the gap was first
seen has ended (compared with PostgreSQL snapshot xmin); SQLite has a single
writer and no such gaps.
"""
import logging

from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from moments_admin.locks import job_lock
from usage.histogram import bin_ranges
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

log = logging.getLogger(__name__)
STATE = "usage"
LOCK_NAME = "usage-rollups"  # a lock that frees itself when its holder dies (moments_admin/locks.py)
CHUNK_IDS = 250_000
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
                "cache_read_tokens")
# Money summed per bucket: the costs and what prompt caching and the response cache saved.
COST_FIELDS = ("cost_input", "cost_output", "cost_cache_write", "cost_cache_read", "cost_total", "cache_savings",
               "response_cache_saving")
ROLLUP_MODELS = (UsageHourly, UsageDaily, ProviderHourly, ProviderDaily, KeyDaily, KeyModelDaily)


def _bucket_sql(granularity):
    if connection.vendor == "postgresql":
        return f"date_trunc('{granularity}', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    pattern = "%%Y-%%m-%%d %%H:00:00" if granularity == "hour" else "%%Y-%%m-%%d 00:00:00"
    return f"strftime('{pattern}', occurred_at)"


def _measures(histograms):
    measures = {
        "requests": "COUNT(*)",
        "failed": "SUM(CASE WHEN status NOT IN ('ok', 'cache_hit') THEN 1 ELSE 0 END)",  # a cache hit was served
        "unpriced": "SUM(CASE WHEN cost_total IS NULL THEN 1 ELSE 0 END)",
        **{field: f"SUM({field})" for field in TOKEN_FIELDS},
        **{field: f"COALESCE(SUM({field}), 0)" for field in COST_FIELDS},
    }
    if histograms:
        for column, metric in (("lat", "latency_ms"), ("ttft", "ttft_ms")):
            for index, low, high in bin_ranges():
                upper = f" AND {metric} < {high}" if high is not None else ""
                measures[f"{column}_{index:02d}"] = (
                    f"SUM(CASE WHEN status = 'ok' AND {metric} >= {low}{upper} THEN 1 ELSE 0 END)")
    return measures


def _targets():
    """(model, granularity, dimensions, measures) for every rollup table."""
    fine, coarse = _measures(False), _measures(True)
    key_measures = {"requests": fine["requests"], "failed": fine["failed"],
                    "tokens": "SUM(" + " + ".join(TOKEN_FIELDS) + ")", "cost_total": fine["cost_total"]}
    return (
        (UsageHourly, "hour", FINE_DIMENSIONS, fine),
        (UsageDaily, "day", FINE_DIMENSIONS, fine),
        (ProviderHourly, "hour", COARSE_DIMENSIONS, coarse),
        (ProviderDaily, "day", COARSE_DIMENSIONS, coarse),
        (KeyDaily, "day", KEY_DIMENSIONS, key_measures),
        (KeyModelDaily, "day", KEY_MODEL_DIMENSIONS, key_measures),
    )


def _aggregate(where, params):
    """Add the raw rows matching `where` to every rollup table."""
    raw = UsageRecord._meta.db_table
    with connection.cursor() as cursor:
        for model, granularity, dimensions, measures in _targets():
            table = model._meta.db_table
            columns = list(dimensions) + list(measures)
            selects = [_bucket_sql(granularity)] + list(dimensions[1:]) + list(measures.values())
            group = ", ".join(str(position) for position in range(1, len(dimensions) + 1))
            updates = ", ".join(f"{name} = {table}.{name} + excluded.{name}" for name in measures)
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selects)} FROM {raw} "
                f"WHERE {where} GROUP BY {group} "
                f"ON CONFLICT ({', '.join(dimensions)}) DO UPDATE SET {updates}",
                params,
            )


def _lock_state():
    """The rollup state row, locked for this transaction (a write lock on SQLite)."""
    RollupState.objects.get_or_create(name=STATE)
    RollupState.objects.filter(name=STATE).update(updated_at=timezone.now())
    return RollupState.objects.select_for_update().get(name=STATE)


def _snapshot_xmin():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return cursor.fetchone()[0]


def _current_xid():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")
        return cursor.fetchone()[0]


def _contiguous_end(start, hi):
    """The last id of the unbroken run of visible ids that follows `start`."""
    first = UsageRecord.objects.filter(id__gt=start).order_by("id").values_list("id", flat=True).first()
    if first != start + 1:
        return start
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(id) FROM (SELECT id, LEAD(id) OVER (ORDER BY id) AS next_id "
            f"FROM {UsageRecord._meta.db_table} WHERE id > %s AND id <= %s) runs "
            f"WHERE next_id IS NULL OR next_id > id + 1", [start, hi])
        return cursor.fetchone()[0] or start


def safe_high_water_mark(state, assume_settled=False):
    """The highest id up to which no row can still appear; updates state.pending_*."""
    lo = state.last_id
    found = UsageRecord.objects.filter(id__gt=lo).aggregate(hi=Max("id"), n=Count("id"))
    hi = found["hi"]
    if hi is None:
        return lo
    if assume_settled or connection.vendor != "postgresql" or found["n"] == hi - lo:
        state.pending_hi = state.pending_xmax = 0
        return hi
    settled = bool(state.pending_xmax) and _snapshot_xmin() > state.pending_xmax
    start = max(lo, min(state.pending_hi, hi)) if settled else lo
    end = _contiguous_end(start, hi)
    if end >= hi:
        state.pending_hi = state.pending_xmax = 0
    elif settled or not state.pending_xmax:
        # Gaps remain: settle them once every transaction running now has ended.
        state.pending_hi, state.pending_xmax = hi, _current_xid()
    return end


def update_rollups(*, assume_settled=False, chunk=CHUNK_IDS):
    """Roll new records up; returns a summary. `assume_settled` trusts every visible
    row (for tests, seeding and benchmarks, when nothing else writes usage)."""
    with job_lock(LOCK_NAME) as held:
        if not held:
            return {"skipped": "another run holds the lock"}
        return _roll_up(assume_settled, chunk)


def _roll_up(assume_settled, chunk):
    ids = 0
    while True:
        with transaction.atomic():
            state = _lock_state()
            safe = safe_high_water_mark(state, assume_settled)
            hi = min(safe, state.last_id + chunk)
            moved = hi > state.last_id
            if moved:
                _aggregate("id > %s AND id <= %s", [state.last_id, hi])
                ids += hi - state.last_id
                state.last_id = hi
                state.version += 1
            state.save()
        if not moved or hi >= safe:
            break
    return {"ids_rolled_up": ids, "last_id": state.last_id, "waiting_on_gap": bool(state.pending_hi)}


def rebuild_range(start, end):
    """Recompute every rollup bucket in [start, end) (UTC datetimes on day boundaries)
    from the raw rows up to last_id. Caller holds no lock; this takes it."""
    with transaction.atomic():
        state = _lock_state()
        for model in ROLLUP_MODELS:
            model.objects.filter(bucket__gte=start, bucket__lt=end).delete()
        _aggregate("occurred_at >= %s AND occurred_at < %s AND id <= %s",
                   [_db_datetime(start), _db_datetime(end), state.last_id])
        state.version += 1
        state.save()


def remove_demo_rows():
    """Delete demo records and their rollups (demo is a rollup dimension, so nothing else moves)."""
    with transaction.atomic():
        state = _lock_state()
        deleted, _ = UsageRecord.objects.filter(is_demo=True).delete()
        for model in ROLLUP_MODELS:
            model.objects.filter(is_demo=True).delete()
        state.version += 1
        state.save()
    return deleted


def _db_datetime(value):
    return connection.ops.adapt_datetimefield_value(value)


def rollup_lag():
    """(rolled-up last id, newest id): how far the rollups are behind the raw table."""
    state = RollupState.objects.filter(name=STATE).first()
    newest = UsageRecord.objects.aggregate(hi=Max("id"))["hi"] or 0
    return (state.last_id if state else 0), newest
