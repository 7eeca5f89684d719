"""Reading usage for a period: rollups plus the raw rows not rolled up yet (the tail).

Every reader gets the same Filters and returns plain dicts keyed by the group
fields, with the measures summed. Long ranges read daily rollups, ranges of up
to two days read hourly ones. The tail (rows above RollupState.last_id, a
minute or so of traffic) is read once per page, grouped by every dimension and
hour, and each question is answered from those groups in Python; a tail larger
than the caller's bound (TAIL_MAX_PAGE for pages) is left out, and the page says so.
"""
import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncHour

from usage.histogram import bin_ranges
from usage.models import (
    FINE_DIMENSIONS,
    KeyDaily,
    KeyModelDaily,
    ProviderDaily,
    ProviderHourly,
    RollupState,
    UsageDaily,
    UsageHourly,
    UsageRecord,
)
from usage.rollups import COST_FIELDS, STATE, TOKEN_FIELDS
from usage.traffic import APPLICATION_PURPOSES, CHECK_PURPOSES

TAIL_MAX_PAGE = 5_000  # pages stay fast: a bigger tail waits for the next rollup run
TAIL_MAX_BACKGROUND = 500_000
BASE_MEASURES = ("requests", "failed", "unpriced", *TOKEN_FIELDS, *COST_FIELDS)
HISTOGRAM_MEASURES = tuple(f"{name}_{index:02d}" for name in ("lat", "ttft") for index, _, _ in bin_ranges())
PURPOSE_GROUPS = {"": APPLICATION_PURPOSES, "checks": CHECK_PURPOSES}
FILTER_FIELDS = {"provider": "provider_name", "model": "base_model", "key": "gateway_key", "agent": "agent",
                 "purpose": "purpose"}


@dataclass
class Filters:
    start: datetime.date
    end: datetime.date  # inclusive
    provider: str = ""
    model: str = ""
    key: str = ""
    agent: str = ""
    # "all": every purpose; "" (the dashboard's default): the application's traffic; "checks": test,
    # health, wizard and demo calls; anything else: that one purpose (usage.traffic).
    purpose: str = "all"
    by: str = "provider"
    metric: str = "cost"

    @property
    def hourly(self):
        return (self.end - self.start).days < 2

    @property
    def start_at(self):
        return datetime.datetime.combine(self.start, datetime.time(), datetime.UTC)

    @property
    def end_at(self):
        return datetime.datetime.combine(self.end + datetime.timedelta(days=1), datetime.time(), datetime.UTC)

    @property
    def days(self):
        return (self.end - self.start).days + 1

    def lookups(self, *, skip=()):
        found = {column: getattr(self, name) for name, column in FILTER_FIELDS.items()
                 if getattr(self, name) and name not in skip and name != "purpose"}
        if "purpose" not in skip and self.purpose != "all":
            group = PURPOSE_GROUPS.get(self.purpose)
            found.update({"purpose__in": group} if group else {"purpose": self.purpose})
        return found

    def needs_fine(self):
        return bool(self.key or self.agent)


@dataclass
class Reader:
    """Grouped sums over rollups + tail for one consistent rollup state."""

    last_id: int
    tail: bool
    behind: int = 0
    _tail_groups: list = field(default=None, repr=False)

    def sums(self, filters, group, *, fine=None, histograms=False, granularity=None, extra=None,
             start_at=None, end_at=None):
        fine = filters.needs_fine() if fine is None else fine
        hourly = filters.hourly if granularity is None else granularity == "hour"
        if histograms and fine:
            raise ValueError("Latency histograms live in the provider rollups only.")
        if fine is False and filters.needs_fine() and not histograms:
            raise ValueError("Key and agent filters need the fine rollups.")
        model = (UsageHourly if hourly else UsageDaily) if fine else (ProviderHourly if hourly else ProviderDaily)
        measures = BASE_MEASURES + (HISTOGRAM_MEASURES if histograms else ())
        # The provider rollups have no key or agent: those filters apply to the fine tables only.
        lookups = {**filters.lookups(skip=() if fine else ("key", "agent")), **(extra or {})}
        start_at, end_at = start_at or filters.start_at, end_at or filters.end_at
        rollup = (model.objects.filter(bucket__gte=start_at, bucket__lt=end_at, **lookups)
                  .values(*group).annotate(**{name: Sum(name) for name in measures}).order_by())
        results = _merge({}, rollup, group, measures)
        if self.tail and not histograms:  # latency comes from the rollups alone (a minute behind at most)
            rows = (_with_bucket(row, hourly) for row in self.tail_groups()
                    if start_at <= row["hour"] < end_at and _matches(row, lookups))
            results = _merge(results, rows, group, measures)
        return list(results.values())

    def key_totals(self, filters, limit):
        """The top `limit` gateway keys by cost, from the smallest per-key table that can answer."""
        if filters.agent or filters.purpose != "all":
            rows = self.sums(filters, ["gateway_key"], fine=True, granularity="day")
        else:
            table = KeyModelDaily if (filters.provider or filters.model) else KeyDaily
            lookups = filters.lookups(skip=("agent", "purpose"))
            rollup = (table.objects.filter(bucket__gte=filters.start_at, bucket__lt=filters.end_at, **lookups)
                      .values("gateway_key").annotate(requests=Sum("requests"), cost_total=Sum("cost_total"))
                      .order_by())
            merged = _merge({}, rollup, ["gateway_key"], ("requests", "cost_total"))
            if self.tail:
                tail = (row for row in self.tail_groups()
                        if filters.start_at <= row["hour"] < filters.end_at and _matches(row, lookups))
                merged = _merge(merged, tail, ["gateway_key"], ("requests", "cost_total"))
            rows = list(merged.values())
        rows.sort(key=lambda row: (-row["cost_total"], -row["requests"], row["gateway_key"]))
        return rows[:limit], len(rows)

    def tail_groups(self):
        """The records not rolled up yet, summed per hour and every dimension (one query)."""
        if self._tail_groups is None:
            dimensions = [name for name in FINE_DIMENSIONS if name != "bucket"]
            self._tail_groups = list(
                UsageRecord.objects.filter(id__gt=self.last_id)
                .annotate(hour=TruncHour("occurred_at", tzinfo=datetime.UTC))
                .values("hour", *dimensions).annotate(**_raw_measures()).order_by())
        return self._tail_groups


def _matches(row, lookups):
    for name, wanted in lookups.items():
        if name.endswith("__in"):
            if row[name[:-4]] not in wanted:
                return False
        elif row[name] != wanted:
            return False
    return True


def _with_bucket(row, hourly):
    if hourly:
        return {**row, "bucket": row["hour"]}
    return {**row, "bucket": row["hour"].replace(hour=0)}


def _raw_measures():
    return {
        "requests": Count("id"),
        "failed": Count("id", filter=~Q(status__in=("ok", "cache_hit"))),
        "unpriced": Count("id", filter=Q(cost_total__isnull=True)),
        **{name: Sum(name) for name in TOKEN_FIELDS + COST_FIELDS},
    }


def _merge(results, rows, group, measures):
    for row in rows:
        key = tuple(row[name] for name in group)
        target = results.setdefault(key, {**{name: row[name] for name in group},
                                          **{name: 0 for name in measures}})
        for name in measures:
            value = row.get(name)
            if value is not None:
                target[name] += Decimal(value) if isinstance(value, float) else value
    return results


def rollup_position():
    state = RollupState.objects.filter(name=STATE).values_list("version", "last_id").first()
    return state or (0, 0)


def read_consistently(build, tail_max=TAIL_MAX_BACKGROUND):
    """Run build(reader) against one rollup state; retried if a rollup run lands meanwhile."""
    result = None
    for _attempt in range(3):
        version, last_id = rollup_position()
        newest = UsageRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0
        behind = max(newest - last_id, 0)
        reader = Reader(last_id=last_id, tail=0 < behind <= tail_max, behind=behind)
        result = build(reader)
        if rollup_position() == (version, last_id):
            return result
    return result


def last_rollup_at():
    return RollupState.objects.filter(name=STATE).values_list("updated_at", flat=True).first()
