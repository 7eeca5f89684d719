"""A round of health checks: every enabled provider, every model its mapping uses.

Results are kept as CheckResult rows (pruned after HEALTH_HISTORY_DAYS), feed the shared circuit
breaker once per provider (so a revoked key opens it, while one unavailable model does not take a
working provider out), move target states and incidents, and send one alert per incident.
"""
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.template.defaultfilters import pluralize
from django.utils import timezone

from providers import breaker, snapshot
from providers.clients.errors import ErrorKind, ProviderError
from providers.display import logical_names
from providers.health import alerts, metrics
from providers.health.checks import CheckOutcome, check_model
from providers.health.models import CheckResult, HealthSettings, TargetState
from providers.health.states import apply_outcome
from providers.models import ProviderConfig
from providers.resolve import build_settings

log = logging.getLogger(__name__)


@dataclass
class RoundResult:
    run_id: str
    outcomes: list = field(default_factory=list)
    transitions: list = field(default_factory=list)

    @property
    def any_down(self):
        return any(not o.ok for o in self.outcomes)

    def summary(self):
        failed = sum(1 for o in self.outcomes if not o.ok)
        return (f"{len(self.outcomes)} check{pluralize(len(self.outcomes))}, {failed} failed, "
                f"{len(self.transitions)} incident change{pluralize(len(self.transitions))}")


def run_round(now=None):
    now = now or timezone.now()
    health_settings = HealthSettings.load()
    result = RoundResult(run_id=uuid.uuid4().hex)
    for config in ProviderConfig.objects.filter(enabled=True).order_by("position", "name"):
        outcomes = _check_provider(config)
        result.outcomes.extend(outcomes)
        maintenance = config.name in health_settings.maintenance
        if not maintenance:
            _feed_breaker(config.name, outcomes)
        result.transitions.extend(_apply(config.name, outcomes, health_settings, now, maintenance))
    rows = [_row(o, result.run_id, now) for o in result.outcomes]
    rows += _provider_rows(result.outcomes, result.run_id, now)
    CheckResult.objects.bulk_create(rows)
    metrics.observe_checks(result.outcomes)
    alerts.send_pending(health_settings, now)
    prune_history(now)
    return result


def _check_provider(config):
    try:
        settings_ = build_settings(config).settings
    except Exception as exc:  # one unreadable configuration must not end the round for the others
        log.warning("Health check of %s: its configuration cannot be resolved (%s)", config.name, type(exc).__name__)
        error = ProviderError(ErrorKind.CONFIGURATION, f"The configuration of {config.name} cannot be resolved "
                              f"({type(exc).__name__}); open it on the Providers page.", provider=config.kind)
        return [CheckOutcome(config.name, config.kind, model, "", False, "none", error=error)
                for model in logical_names(config)]
    return [check_model(settings_, model) for model in logical_names(config)]


def _feed_breaker(name, outcomes):
    """The provider's breaker once (any model passed: a success), and each model's own breaker."""
    policy = snapshot.current().breaker
    for outcome in outcomes:
        target = breaker.model_target(name, outcome.model)
        if outcome.ok:
            breaker.record_success(target, policy=policy)
        elif outcome.error is not None and outcome.error.triggers_failover:
            breaker.record_failure(target, outcome.error, policy, source="checks")
    if any(o.ok for o in outcomes):
        breaker.record_success(name, policy=policy)
        return
    failover_errors = [o.error for o in outcomes if o.error is not None and o.error.triggers_failover]
    if failover_errors:
        breaker.record_failure(name, failover_errors[0], policy, source="checks")


def _apply(provider_name, outcomes, health_settings, now, maintenance):
    """The provider target first (its state decides whether model incidents alert), then each model."""
    transitions = []
    failed = [o for o in outcomes if not o.ok]
    passed = bool(outcomes) and len(failed) < len(outcomes)
    first = failed[0] if failed else None
    latencies = [o.latency_ms for o in outcomes if o.latency_ms is not None]
    provider_change = apply_outcome(
        provider_name, "", ok=passed, error_kind=first.error_kind if first and not passed else "",
        message=first.message if first and not passed else "", latency_ms=max(latencies) if latencies else None,
        health_settings=health_settings, now=now, maintenance=maintenance)
    if provider_change:
        transitions.append(provider_change)
    provider_down = TargetState.objects.filter(provider_name=provider_name, model="", state="down").exists()
    for outcome in outcomes:
        change = apply_outcome(provider_name, outcome.model, ok=outcome.ok, error_kind=outcome.error_kind,
                               message=outcome.message, latency_ms=outcome.latency_ms,
                               health_settings=health_settings, now=now, maintenance=maintenance,
                               check=f"{outcome.check}, {outcome.spent}")
        if change and provider_down and change.event == "opened":
            change.incident.quiet = True  # the provider's incident speaks for it
            change.incident.save(update_fields=["quiet"])
        if change:
            transitions.append(change)
    return transitions


def _row(outcome, run_id, now):
    return CheckResult(checked_at=now, run_id=run_id, provider_name=outcome.provider_name,
                       provider_kind=outcome.provider_kind, model=outcome.model, model_id=outcome.model_id[:300],
                       ok=outcome.ok, check_kind=outcome.check, tokens_spent=outcome.tokens_spent,
                       latency_ms=outcome.latency_ms, error_kind=outcome.error_kind, message=outcome.message)


def _provider_rows(outcomes, run_id, now):
    """One row per provider and round (model ""): passed when any model passed. The status page's
    uptime for a provider reads these, as it reads model rows for a model."""
    rows = []
    for name in dict.fromkeys(o.provider_name for o in outcomes):
        mine = [o for o in outcomes if o.provider_name == name]
        failed = [o for o in mine if not o.ok]
        ok = len(failed) < len(mine)
        latencies = [o.latency_ms for o in mine if o.latency_ms is not None]
        rows.append(CheckResult(
            checked_at=now, run_id=run_id, provider_name=name, provider_kind=mine[0].provider_kind, model="",
            ok=ok, check_kind="round", tokens_spent=sum(o.tokens_spent for o in mine),
            latency_ms=max(latencies) if latencies else None, error_kind="" if ok else failed[0].error_kind,
            message="" if ok else failed[0].message))
    return rows


def prune_history(now):
    cutoff = now - dt.timedelta(days=settings.HEALTH_HISTORY_DAYS)
    CheckResult.objects.filter(checked_at__lt=cutoff).delete()
