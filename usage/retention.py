"""How long usage data is kept, pruning it in small primary-key batches, and the tables' sizes.

- Raw records (UsageRecord): USAGE_RAW_RETENTION_DAYS, and only rows the rollups already hold
  (id <= RollupState.last_id), so pruning never loses a figure. Re-pricing (recompute.py) and the CSV
  export read raw rows, recommendations the last 30 days of them.
- Hourly rollups (UsageHourly, ProviderHourly): USAGE_HOURLY_RETENTION_DAYS. Ranges of up to two days read
  them (queries.Filters.hourly); a short range older than what was pruned (RetentionState) reads the
  daily rollups instead.
- Daily rollups (UsageDaily, ProviderDaily, KeyDaily, KeyModelDaily): USAGE_DAILY_RETENTION_DAYS, at least 92,
  so every 90-day view (and the month against its budget) stays whole.

Each batch is one short DELETE ... WHERE id IN (a few thousand ids): no long lock on the table, and writers
and readers go on meanwhile.
"""
import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from moments_admin.locks import job_lock
from usage.models import (
    KeyDaily,
    KeyModelDaily,
    ProviderDaily,
    ProviderHourly,
    RetentionState,
    RollupState,
    UsageDaily,
    UsageHourly,
    UsageRecord,
)
from usage.rollups import STATE

LOCK_NAME = "usage-retention"


@dataclass(frozen=True)
class Rule:
    model: type
    setting: str
    time_field: str
    holds: str


RULES = (
    Rule(UsageRecord, "USAGE_RAW_RETENTION_DAYS", "occurred_at", "one row per call"),
    Rule(UsageHourly, "USAGE_HOURLY_RETENTION_DAYS", "bucket", "per hour, provider, model, key and agent"),
    Rule(ProviderHourly, "USAGE_HOURLY_RETENTION_DAYS", "bucket", "per hour, provider and model, with latency"),
    Rule(UsageDaily, "USAGE_DAILY_RETENTION_DAYS", "bucket", "per day, provider, model, key and agent"),
    Rule(ProviderDaily, "USAGE_DAILY_RETENTION_DAYS", "bucket", "per day, provider and model, with latency"),
    Rule(KeyDaily, "USAGE_DAILY_RETENTION_DAYS", "bucket", "per day and gateway key"),
    Rule(KeyModelDaily, "USAGE_DAILY_RETENTION_DAYS", "bucket", "per day, gateway key, provider and model"),
)


def kept_from(days, now=None):
    """Midnight UTC `days` days before today: rows before it are pruned."""
    today = (now or timezone.now()).astimezone(datetime.UTC).date()
    return datetime.datetime.combine(today - datetime.timedelta(days=days), datetime.time(), datetime.UTC)


def raw_kept_from(now=None):
    return kept_from(settings.USAGE_RAW_RETENTION_DAYS, now)


def hourly_pruned_before():
    """The time before which hourly rollups have been pruned, or None when they never were."""
    tables = [UsageHourly._meta.db_table, ProviderHourly._meta.db_table]
    return RetentionState.objects.filter(table__in=tables).aggregate(before=Max("pruned_before"))["before"]


def _record_pruned(table, cutoff):
    state, created = RetentionState.objects.get_or_create(table=table, defaults={"pruned_before": cutoff})
    if not created and state.pruned_before < cutoff:
        RetentionState.objects.filter(table=table, pruned_before__lt=cutoff).update(pruned_before=cutoff)


def _expired(rule, now):
    cutoff = kept_from(getattr(settings, rule.setting), now)
    rows = rule.model.objects.filter(**{f"{rule.time_field}__lt": cutoff})
    if rule.model is UsageRecord:  # only what the rollups already hold
        last_id = RollupState.objects.filter(name=STATE).values_list("last_id", flat=True).first() or 0
        rows = rows.filter(id__lte=last_id)
    return rows


def _delete_in_batches(rows, batch):
    deleted = 0
    while True:
        ids = list(rows.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        with transaction.atomic():
            count, _ = rows.model.objects.filter(pk__in=ids).delete()
        deleted += count
        if len(ids) < batch:
            return deleted


def prune(now=None, *, dry_run=False, batch=None):
    """{table: rows deleted (or, with dry_run, that would be)}; skipped when another run holds the lock."""
    now = now or timezone.now()
    batch = batch or settings.USAGE_PRUNE_BATCH_ROWS
    if dry_run:
        return {rule.model._meta.db_table: _expired(rule, now).count() for rule in RULES}
    with job_lock(LOCK_NAME) as held:
        if not held:
            return {"skipped": "another run holds the lock"}
        deleted = {}
        for rule in RULES:
            table = rule.model._meta.db_table
            deleted[table] = _delete_in_batches(_expired(rule, now), batch)
            _record_pruned(table, kept_from(getattr(settings, rule.setting), now))
        return deleted


def table_report(now=None):
    """One dict per table: what it holds, how long it is kept, oldest row, rows and bytes on disk."""
    sizes = _sizes([rule.model._meta.db_table for rule in RULES])
    report = []
    for rule in RULES:
        table = rule.model._meta.db_table
        days = getattr(settings, rule.setting)
        rows, estimated, size = sizes.get(table, (None, False, None))
        if rows is None:
            rows, estimated = rule.model.objects.count(), False
        oldest = rule.model.objects.aggregate(oldest=Min(rule.time_field))["oldest"]
        report.append({"table": table, "model": rule.model.__name__, "holds": rule.holds, "setting": rule.setting,
                       "days": days, "kept_from": kept_from(days, now), "oldest": oldest, "rows": rows,
                       "estimated": estimated, "bytes": size})
    return report


def _sizes(tables):
    """{table: (rows or None, rows estimated, bytes or None)} from the database's own statistics."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                return _postgresql_sizes(cursor, tables)
            if connection.vendor == "sqlite":
                return _sqlite_sizes(cursor, tables)
    except DatabaseError:  # no statistics available (SQLite built without dbstat): exact counts, no sizes
        pass
    return {}


def _postgresql_sizes(cursor, tables):
    # reltuples is the planner's estimate (-1 before the first ANALYZE): exact counts only for small tables.
    cursor.execute("SELECT relname, pg_total_relation_size(oid), reltuples::bigint FROM pg_class "
                   "WHERE relkind = 'r' AND relname = ANY(%s) AND pg_table_is_visible(oid)",
                   [list(tables)])
    found = {}
    for table, size, estimate in cursor.fetchall():
        found[table] = (estimate, True, size) if estimate >= 100_000 else (None, False, size)
    return found


def _sqlite_sizes(cursor, tables):
    placeholders = ", ".join(["%s"] * len(tables))
    cursor.execute("SELECT m.tbl_name, SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name "
                   f"WHERE m.tbl_name IN ({placeholders}) GROUP BY m.tbl_name", list(tables))
    return {table: (None, False, size) for table, size in cursor.fetchall()}
