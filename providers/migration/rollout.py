"""Step 7, optional: a gradual rollout before the switch.

A share of the calls (1, 10, 50 or 100 percent, stepped by the operator) goes to the target first,
the source next in line: the routing's `rollout` setting, read by the configuration snapshot and
applied per call by providers.calls. Each change is a configuration revision. `check` (a periodic
Celery task) stops it, back to the source, when the target's error rate passes the threshold.
"""
import datetime as dt

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from providers.migration.mapping import NOT_TRAFFIC
from providers.migration.models import Migration
from providers.migration.performance import quantile
from providers.migration.state import WizardError, save_data
from providers.migration.switch import blockers
from providers.models import ProviderRouting
from providers.revisions import record_revision
from usage.models import UsageRecord

PERCENTS = (1, 10, 50, 100)
DEFAULT_THRESHOLD = 5.0  # percent of the target's calls failing
# No verdict on fewer target calls; the target's breaker opens after 3 failures in a row, and then it
# gets no calls to count.
MIN_REQUESTS = 3
WINDOW_MINUTES = 15


def active(migration):
    rollout = ProviderRouting.load().rollout or {}
    return rollout if rollout.get("migration") == migration.pk else None


def set_percent(migration, percent, user, *, threshold=DEFAULT_THRESHOLD):
    """Start the rollout or move it to another step; one revision each time."""
    if migration.status != "in_progress":
        raise WizardError("This migration is not in progress.")
    if percent not in PERCENTS:
        raise WizardError(f"Choose one of {', '.join(map(str, PERCENTS))} percent.")
    if not 0 < float(threshold) <= 100:
        raise WizardError("The error-rate threshold is a percentage between 0 and 100.")
    found = blockers(migration)
    if found:
        raise WizardError("The rollout is blocked: " + " ".join(text for _, text in found))
    with transaction.atomic():
        routing = ProviderRouting.load()
        current = routing.rollout or {}
        started = current.get("started_at") if current.get("migration") == migration.pk else None
        routing.rollout = {"migration": migration.pk, "source": migration.source, "target": migration.target,
                           "percent": percent, "threshold": float(threshold),
                           "started_at": started or timezone.now().isoformat()}
        if migration.target not in routing.fallbacks and routing.primary != migration.target:
            routing.fallbacks = [*routing.fallbacks, migration.target]  # in the chain, so calls can reach it
        routing.save()
        record_revision(user, f"Migration #{migration.pk}: {percent}% of traffic to {migration.target}")
    save_data(migration.pk, "rollout", {"percent": percent, "threshold": float(threshold), "stopped": ""}, user)


def stop(migration, user, reason):
    """All traffic back to the source (one revision); the reason is kept with the migration."""
    with transaction.atomic():
        routing = ProviderRouting.objects.select_for_update().get_or_create(pk=1)[0]
        if (routing.rollout or {}).get("migration") != migration.pk:
            return False
        routing.rollout = {}
        routing.save()
        record_revision(user, f"Migration #{migration.pk}: rollout stopped ({reason})"[:300])
    save_data(migration.pk, "rollout", {"percent": 0, "stopped": reason, "stopped_at": timezone.now().isoformat()},
              user)
    return True


def side_by_side(migration, *, now=None, minutes=WINDOW_MINUTES):
    """Error rate and latency of source and target over the last `minutes`, from usage rows."""
    now = now or timezone.now()
    since = now - dt.timedelta(minutes=minutes)
    rollout = active(migration) or {}
    if rollout.get("started_at"):
        since = max(since, dt.datetime.fromisoformat(rollout["started_at"]))
    rows = UsageRecord.objects.filter(occurred_at__gte=since, provider_name__in=[migration.source, migration.target],
                                      is_demo=False).exclude(purpose__in=NOT_TRAFFIC)
    counts = {row["provider_name"]: row for row in rows.values("provider_name").annotate(
        requests=Count("id"), failed=Count("id", filter=~Q(status__in=("ok", "abandoned"))))}
    out = {}
    for role, name in (("source", migration.source), ("target", migration.target)):
        row = counts.get(name, {"requests": 0, "failed": 0})
        latencies = sorted(rows.filter(provider_name=name, status="ok", latency_ms__isnull=False)
                           .values_list("latency_ms", flat=True)[:5000])
        out[role] = {"name": name, "requests": row["requests"], "failed": row["failed"],
                     "error_rate": round(100 * row["failed"] / row["requests"], 1) if row["requests"] else None,
                     "latency_p50": quantile(latencies, 50), "latency_p95": quantile(latencies, 95)}
    return out


def check(now=None):
    """Stop every rollout whose target fails more than its threshold. Returns what it stopped."""
    rollout = ProviderRouting.load().rollout or {}
    migration = Migration.objects.filter(pk=rollout.get("migration"), status="in_progress").first()
    if migration is None:
        return []
    target = side_by_side(migration, now=now)["target"]
    threshold = float(rollout.get("threshold") or DEFAULT_THRESHOLD)
    if target["requests"] < MIN_REQUESTS or target["error_rate"] is None or target["error_rate"] <= threshold:
        return []
    reason = (f"{migration.target} failed {target['failed']} of {target['requests']} calls "
              f"({target['error_rate']}% > {threshold}%); traffic is back on {migration.source}")
    return [reason] if stop(migration, None, reason) else []

