"""Check outcomes -> target states and incidents, with a grace period in both directions.

- operational: the last check passed (or the target recovered).
- degraded: fewer than `down_after_failures` consecutive failures (a blip opens nothing), or
  any model of an operational provider is not operational (shown, not stored).
- down: `down_after_failures` consecutive failures; opens an incident. It stays down until
  `up_after_successes` consecutive passes, which close the incident (no flapping).
- maintenance: set by staff per provider; checks still run and are kept, nothing opens.

Real traffic between rounds (`apply_breaker`, from health.breaker_watch): a target whose circuit
breaker real calls opened goes down at once, its incident marked `opened_by="traffic"`. Such an
incident is closed by the breaker's recovery (closed, no failure in its window), not by passing
checks: a token count that works says little when the calls themselves fail.

A provider target (model "") passes when any of its models passes, so a revoked key opens one
provider incident and its model incidents stay quiet (alerts are sent for the provider only).
"""
from dataclasses import dataclass

from django.db import transaction

from providers import snapshot
from providers.health import traffic
from providers.health.models import Incident, TargetState
from providers.health.passive import failovers_so_far


@dataclass
class Transition:
    event: str  # "opened" or "closed"
    incident: Incident


def apply_outcome(provider_name, model, *, ok, error_kind, message, latency_ms, health_settings, now,
                  maintenance=False, check=""):
    """Update one target's state from one check; returns a Transition or None."""
    with transaction.atomic():
        state, _ = TargetState.objects.select_for_update().get_or_create(
            provider_name=provider_name, model=model, defaults={"since": now})
        previous = state.state
        state.last_checked_at, state.last_latency_ms, state.last_check = now, latency_ms, check[:60]
        if ok:
            state.consecutive_successes += 1
            state.consecutive_failures = 0
        else:
            state.consecutive_failures += 1
            state.consecutive_successes = 0
            state.last_error = f"{error_kind}: {message}"[:500]
        new = _next_state(previous, state, ok, health_settings, maintenance)
        if new == "operational" and previous == "down" and _open_incident(provider_name, model, "traffic"):
            new = "down"  # real traffic opened it; the breaker's recovery closes it
        transition = None
        if new != previous:
            state.state, state.since = new, now
            if new == "down":
                transition = Transition("opened", Incident.objects.create(
                    provider_name=provider_name, model=model, started_at=now, cause=error_kind or "unknown",
                    message=message[:500], error_kinds=[error_kind] if error_kind else [],
                    failover_target=_failover_target(provider_name), failovers_at_start=failovers_so_far()))
            elif previous == "down":  # recovered, or staff put it under maintenance
                incident = _close_open_incident(provider_name, model, now)
                transition = Transition("closed", incident) if incident else None
        elif new == "down" and error_kind:
            incident = Incident.objects.filter(provider_name=provider_name, model=model,
                                               ended_at__isnull=True).first()
            if incident and error_kind not in incident.error_kinds:
                incident.error_kinds = [*incident.error_kinds, error_kind]
                incident.save(update_fields=["error_kinds"])
        state.save()
    return transition


def apply_breaker(provider_name, model, *, tripped, recovered, last_error, now, quiet=False):
    """Update one target from its breaker, read between check rounds; a Transition or None.
    `tripped`: real traffic opened the breaker; `recovered`: closed, and no failure in its window
    (and the last check, if any since, passed). `quiet`: its provider's incident speaks for it."""
    with transaction.atomic():
        state, _ = TargetState.objects.select_for_update().get_or_create(
            provider_name=provider_name, model=model, defaults={"since": now})
        if state.state == "maintenance":
            return None
        if tripped and state.state != "down":
            kind = (last_error or {}).get("kind") or "breaker_open"
            message = f"Circuit breaker opened by real traffic: {(last_error or {}).get('message') or kind}"
            state.state, state.since, state.consecutive_successes = "down", now, 0
            state.last_error = f"{kind}: {message}"[:500]
            state.save()
            return Transition("opened", Incident.objects.create(
                provider_name=provider_name, model=model, started_at=now, cause=kind[:30], message=message[:500],
                error_kinds=[kind], opened_by="traffic", failover_target=_failover_target(provider_name),
                failovers_at_start=failovers_so_far(), quiet=quiet))
        if (recovered and state.state == "down" and not state.consecutive_failures
                and _open_incident(provider_name, model, "traffic")):
            state.state, state.since = "operational", now
            state.save()
            incident = _close_open_incident(provider_name, model, now)
            return Transition("closed", incident) if incident else None
    return None


def close_unconfigured(provider_name, model, because, now):
    """A target nothing checks or watches any more (its provider disabled or removed, its model
    unmapped): its open incident closes with the reason, and its state is forgotten."""
    with transaction.atomic():
        TargetState.objects.filter(provider_name=provider_name, model=model).delete()
        incident = _close_open_incident(provider_name, model, now)
        if incident is None:
            return None
        incident.closed_because = because[:200]
        incident.save(update_fields=["closed_because"])
    return Transition("closed", incident)


def _open_incident(provider_name, model, opened_by):
    return Incident.objects.filter(provider_name=provider_name, model=model, ended_at__isnull=True,
                                   opened_by=opened_by).exists()


def _next_state(previous, state, ok, health_settings, maintenance):
    if maintenance:
        return "maintenance"
    if ok:
        if previous == "down" and state.consecutive_successes < health_settings.up_after_successes:
            return "down"
        return "operational"
    if previous == "down" or state.consecutive_failures >= health_settings.down_after_failures:
        return "down"
    return "degraded"


def _close_open_incident(provider_name, model, now):
    incident = Incident.objects.select_for_update().filter(
        provider_name=provider_name, model=model, ended_at__isnull=True).first()
    if incident is None:
        return None
    incident.ended_at = now
    incident.failovers = max(0, failovers_so_far() - incident.failovers_at_start)
    traffic.record_on_close(incident, now)
    incident.save(update_fields=["ended_at", "failovers", "affected_calls", "total_calls", "served_by"])
    return incident


def _failover_target(provider_name):
    """The provider that takes the traffic now: the first other one in the active chain."""
    others = [s.name for s in snapshot.active_chain() if s.name != provider_name]
    return others[0] if others else ""
