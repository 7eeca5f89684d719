"""Uptime from stored check results: one bar per day for the last 30 days, and the 24 h, 7 d and
30 d figures shown next to it (the public status page idiom).

Uptime is counted in checks (passed / run). A gap -- no worker, no round, a provider added
yesterday -- has no checks, so it counts neither up nor down: a day without checks is grey and
left out, and a window without any check has no figure ("no data"), never 100 %. Each figure says
how many checks, and on how many of its days, it rests on, so a thin one is visible as such.

The 24 h figure is a rolling window (the last 24 hours to the minute); 7 d and 30 d are calendar
days in the server's time zone, today (so far) included.
"""
import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.template.defaultfilters import pluralize

from providers.health.models import CheckResult
from providers.shared_cache import shared_cache

UPTIME_DAYS = 30
WINDOW_DAYS = (7, 30)  # besides the rolling 24 hours
PAST_DAYS_CACHE_SECONDS = 600


@dataclass
class Day:
    date: dt.date
    checks: int
    failed: int
    trouble_minutes: float

    @property
    def level(self):
        """A CSS class: none (no data), ok, minor (< 5 minutes of trouble), major."""
        if not self.checks:
            return "none"
        if not self.failed:
            return "ok"
        return "minor" if self.trouble_minutes < 5 else "major"

    @property
    def title(self):
        if not self.checks:
            return f"{self.date:%Y-%m-%d}: no checks"
        return f"{self.date:%Y-%m-%d}: {self.failed} of {self.checks} check{pluralize(self.checks)} failed (~{self.trouble_minutes:.0f} min)"


@dataclass(frozen=True)
class Window:
    """One uptime figure: `label` (24 h, 7 d, 30 d), the checks it counts, and its days with data."""

    label: str
    checks: int
    failed: int
    days_with_data: int = 0
    days: int = 0  # 0 for the rolling 24 hours

    @property
    def uptime(self):
        """Percent of checks passed, or None without any check (no data is not "up")."""
        if not self.checks:
            return None
        return 100.0 * (self.checks - self.failed) / self.checks

    @property
    def partial(self):
        """True when some calendar days of the window had no checks at all."""
        return bool(self.days) and self.days_with_data < self.days

    @property
    def text(self):
        """The figure in words, for the page and for screen readers."""
        if self.uptime is None:
            return f"{self.label}: no data"
        spread = f", on {self.days_with_data} of {self.days} day{pluralize(self.days)}" if self.partial else ""
        return f"{self.label}: {self.uptime:.3f} % of {self.checks} check{pluralize(self.checks)} passed{spread}"


def uptime_days(rows, today, interval_seconds, days=UPTIME_DAYS):
    """rows: (date, checks, failed) -> one Day per calendar day, oldest first, gaps included."""
    counts = {}
    for date, checks, failed in rows:  # the same day may come from two aggregates: add them up
        before = counts.get(date, (0, 0))
        counts[date] = (before[0] + checks, before[1] + failed)
    out = []
    for offset in range(days - 1, -1, -1):
        date = today - dt.timedelta(days=offset)
        checks, failed = counts.get(date, (0, 0))
        out.append(Day(date, checks, failed, failed * interval_seconds / 60))
    return out


def day_window(days, last_n):
    """The figure over the last `last_n` Days (today included)."""
    recent = days[-last_n:]
    return Window(f"{last_n} d", sum(d.checks for d in recent), sum(d.failed for d in recent),
                  sum(1 for d in recent if d.checks), len(recent))


def windows(days, last_24h):
    """[24 h, 7 d, 30 d] for one target; `last_24h` is (checks, failed) over the rolling 24 hours."""
    checks, failed = last_24h
    return [Window("24 h", checks, failed), *(day_window(days, n) for n in WINDOW_DAYS if n <= len(days))]


def counts(now, today_start):
    """({(provider, model): [(date, checks, failed)]}, {(provider, model): (checks, failed) in 24 h}).

    Days before today change only when old rows are pruned, so their aggregate is kept in the
    shared cache for PAST_DAYS_CACHE_SECONDS; a poll aggregates only the last 24 hours (which
    holds today): one indexed query whose size does not grow with the history."""
    since = today_start - dt.timedelta(days=UPTIME_DAYS - 1)
    key = f"health:uptime-days:{since.date().isoformat()}:{today_start.date().isoformat()}"
    past = shared_cache.get(key)
    if past is None:
        past = _aggregate(checked_at__gte=since, checked_at__lt=today_start)
        shared_cache.set(key, past, PAST_DAYS_CACHE_SECONDS)
    by_day, last_24h = {}, {}
    for provider_name, model, day, checks, failed in past:
        by_day.setdefault((provider_name, model), []).append((day, checks, failed))
    for provider_name, model, day, checks, failed in _aggregate(checked_at__gte=now - dt.timedelta(hours=24),
                                                                checked_at__lte=now):
        before = last_24h.get((provider_name, model), (0, 0))
        last_24h[(provider_name, model)] = (before[0] + checks, before[1] + failed)
        if day >= today_start.date():  # yesterday's part is already in the cached past days
            by_day.setdefault((provider_name, model), []).append((day, checks, failed))
    return by_day, last_24h


def _aggregate(**filters):
    rows = (CheckResult.objects.filter(**filters).annotate(day=TruncDate("checked_at"))
            .values_list("provider_name", "model", "day")
            .annotate(checks=Count("id"), failed=Count("id", filter=Q(ok=False))))
    return [tuple(row) for row in rows]
