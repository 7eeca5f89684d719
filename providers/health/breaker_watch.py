"""Incidents from real traffic between check rounds.

Beat offers this every few seconds (one run per tick across every beat and worker): it reads the
shared breaker of every enabled provider and of each model its mapping uses, in one cache round
trip, and moves target states (health.states.apply_breaker). A breaker that real calls opened
opens the target's incident and sends its alert within seconds, not at the next check round; it
closes once the breaker is closed and its window holds no failure. An incident whose target is no
longer configured (provider disabled or removed, model unmapped) is closed with that reason, since
nothing would ever close it otherwise. Nothing here runs on the call path.
"""
from django.utils import timezone

from providers import breaker, snapshot
from providers.display import logical_names
from providers.health import alerts
from providers.health.models import HealthSettings, Incident, TargetState
from providers.health.states import apply_breaker, close_unconfigured
from providers.models import ProviderConfig


def watch(now=None):
    """One pass; returns the transitions (opened and closed incidents)."""
    now = now or timezone.now()
    health_settings = HealthSettings.load()
    configured = _configured()
    transitions = _close_orphans(configured, now)
    targets = {target: name for target, name in configured.items() if target[0] not in health_settings.maintenance}
    if not targets:
        _send(transitions, health_settings, now)
        return transitions
    policy = snapshot.current().breaker
    names = list(targets.values())
    current = breaker.states(names, fresh=True)
    windows = breaker.window_counts_many(names, policy)
    # One read of every target's state: most ticks change nothing and take no row lock.
    stored = dict(((s.provider_name, s.model), s.state) for s in TargetState.objects.only("provider_name", "model", "state"))
    providers_down = {provider for (provider, model), state in stored.items() if not model and state == "down"}
    for (provider_name, model), name in targets.items():  # providers before their models
        state = current[name]
        last_error = state.get("last_error") or {}
        # Opened by failed checks: the rounds open that incident, after their grace period.
        tripped = (bool(state.get("tripped")) or breaker.is_open_state(state)) and last_error.get("source") != "checks"
        recovered = not tripped and not state.get("failures") and windows[name][1] == 0
        down = stored.get((provider_name, model)) == "down"
        if not (tripped and not down) and not (recovered and down):
            continue  # apply_breaker would change nothing
        change = apply_breaker(provider_name, model, tripped=tripped, recovered=recovered, last_error=last_error,
                               now=now, quiet=bool(model) and provider_name in providers_down)
        if change:
            transitions.append(change)
            if not model and change.event == "opened":  # its models' incidents in this pass are quiet
                providers_down.add(provider_name)
            elif not model:
                providers_down.discard(provider_name)
    _send(transitions, health_settings, now)
    return transitions


def _send(transitions, health_settings, now):
    if transitions:
        alerts.send_pending(health_settings, now)


def _close_orphans(configured, now):
    """Close the open incidents of targets no longer configured."""
    providers = {provider for provider, _ in configured}
    closed = []
    for incident in Incident.objects.filter(ended_at__isnull=True).order_by("pk"):
        target = (incident.provider_name, incident.model)
        if target in configured:
            continue
        because = ("its model is no longer mapped" if incident.provider_name in providers
                   else "its provider is disabled or removed")
        change = close_unconfigured(incident.provider_name, incident.model, because, now)
        if change:
            closed.append(change)
    return closed


def _configured():
    """{(provider name, model or ""): breaker name} for every enabled provider and mapped model."""
    targets = {}
    for config in ProviderConfig.objects.filter(enabled=True).order_by("position", "name"):
        targets[(config.name, "")] = config.name
        for model in logical_names(config):
            targets[(config.name, model)] = breaker.model_target(config.name, model)
    return targets
