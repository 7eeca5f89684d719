"""The share of real traffic an incident affected, from the usage rows written while it lasted.

Affected: attempts that failed at the incident's provider (or at that model of it: the usage
row's logical model) with a provider-side error kind. Total: every real-traffic attempt in the
same period, on any provider (test connections and health checks are left out). An incident
still open is counted up to now on each view; a closed one keeps what was counted at its end.

Where the traffic went: the real-traffic calls served (status ok) while it lasted, by provider
(for a model's incident, calls for that model), so the fallback that took over is measured, not
only predicted.
"""
from django.db.models import Count, Q
from django.utils import timezone

from providers.clients.errors import FAILOVER_KINDS
from usage.models import UsageRecord

IGNORED_PURPOSES = ("test", "health")


def _rows(incident, now):
    end = incident.ended_at or now or timezone.now()
    return UsageRecord.objects.filter(occurred_at__gte=incident.started_at, occurred_at__lte=end,
                                      is_demo=False).exclude(purpose__in=IGNORED_PURPOSES)


def served_by(incident, now=None):
    """{provider name: calls it served} during `incident`, most first."""
    rows = _rows(incident, now).filter(status="ok")
    if incident.model:
        rows = rows.filter(logical_model=incident.model)
    counts = rows.values_list("provider_name").annotate(calls=Count("id")).order_by("-calls", "provider_name")
    return dict(counts)


def traffic_affected(incident, now=None):
    """(affected attempts, all attempts) during `incident`."""
    rows = _rows(incident, now)
    at_target = Q(provider_name=incident.provider_name, status__in=[kind.value for kind in FAILOVER_KINDS])
    if incident.model:
        at_target &= Q(logical_model=incident.model)
    counts = rows.aggregate(total=Count("id"), affected=Count("id", filter=at_target))
    return counts["affected"], counts["total"]


def record_on_close(incident, now):
    incident.affected_calls, incident.total_calls = traffic_affected(incident, now)
    incident.served_by = served_by(incident, now)


def annotate(incidents, now=None):
    """Fill the counts of open incidents (closed ones carry theirs) for display."""
    for incident in incidents:
        if incident.ended_at is None or incident.total_calls is None:
            incident.affected_calls, incident.total_calls = traffic_affected(incident, now)
            incident.served_by = served_by(incident, now)
    return incidents
