"""What the Status page shows: each provider and model now, its uptime (24 h, 7 d and 30 d
figures and a bar per day, from `health.uptime`), recent latency and error rates, the failover
target, incidents, and the worker heartbeat.
"""
import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from providers import breaker, snapshot
from providers.health import traffic, uptime
from providers.health.charts import latency_and_errors
from providers.health.forms import BreakerPolicyForm, HealthSettingsForm
from providers.health.models import HealthSettings, Incident, TargetState
from providers.health.uptime import UPTIME_DAYS, Day, uptime_days, windows  # noqa: F401 (Day: re-exported)
from providers.models import ProviderConfig, ProviderRouting
from providers.overrides import POLICY_FIELDS
from providers.shared_cache import shared_cache

HEARTBEAT_KEY = "worker:last_heartbeat"


@dataclass
class Target:
    provider_name: str
    model: str
    state: str = "unknown"
    since: object = None
    last_checked_at: object = None
    last_latency_ms: float | None = None
    last_error: str = ""
    last_check: str = ""
    breaker: str = "closed"  # closed, failing (n), open, half-open
    window_calls: int = 0  # real traffic in the breaker's error-rate window (shared counters)
    window_errors: int = 0
    days: list = field(default_factory=list)  # one uptime.Day per day, oldest first
    windows: list = field(default_factory=list)  # uptime.Window: 24 h, 7 d, 30 d

    @property
    def uptime(self):
        """Percent of checks passed over the days with checks, or None without any."""
        checks = sum(d.checks for d in self.days)
        if not checks:
            return None
        return 100.0 * (checks - sum(d.failed for d in self.days)) / checks

    @property
    def bar_summary(self):
        """The day bar in words (its text equivalent)."""
        levels = [d.level for d in self.days]
        parts = [f"{levels.count('ok')} with every check passed"]
        troubled = [d for d in self.days if d.failed]
        if troubled:
            parts.append(f"{len(troubled)} with failed checks ("
                         + ", ".join(f"{d.date:%b %d}: {d.failed} of {d.checks}" for d in troubled[-5:])
                         + (", ..." if len(troubled) > 5 else "") + ")")
        parts.append(f"{levels.count('none')} without checks")
        return f"Last {len(self.days)} days: " + "; ".join(parts)


@dataclass
class ProviderStatus:
    target: Target
    kind: str
    enabled: bool
    breaker: str  # closed, open, failing (n)
    models: list
    maintenance: bool
    forced_out: bool = False
    pinned: bool = False

    @property
    def shown_state(self):
        """The provider's state, degraded when it is up but one of its models is not."""
        if self.target.state == "operational" and any(m.state not in ("operational", "unknown") for m in self.models):
            return "degraded"
        return self.target.state


def providers_status(now=None):
    now = now or timezone.now()
    health_settings = HealthSettings.load()
    today = timezone.localdate(now)
    today_start = timezone.make_aware(dt.datetime.combine(today, dt.time()))
    counts, last_24h = uptime.counts(now, today_start)
    states = {(s.provider_name, s.model): s for s in TargetState.objects.all()}
    configs = list(ProviderConfig.objects.all())
    routing = ProviderRouting.load()
    models_of = {c.name: sorted({m for (p, m) in states if p == c.name and m} | {m for (p, m) in counts
                                                                                 if p == c.name and m})
                 for c in configs}
    names = [name for c in configs for name in [c.name, *(breaker.model_target(c.name, m) for m in models_of[c.name])]]
    breakers = breaker.states(names)
    traffic_windows = breaker.window_counts_many(names, snapshot.current().breaker)
    out = []
    for config in configs:
        targets = [_target(config.name, m, states, counts, last_24h, today, health_settings.interval_seconds)
                   for m in ["", *models_of[config.name]]]
        for target in targets:
            name = breaker.model_target(config.name, target.model) if target.model else config.name
            target.breaker = breaker.label(breakers[name])
            target.window_calls, target.window_errors = traffic_windows[name]
        out.append(ProviderStatus(targets[0], config.kind, config.enabled, targets[0].breaker,
                                  targets[1:], config.name in health_settings.maintenance,
                                  forced_out=config.name in routing.forced_out,
                                  pinned=config.name == routing.pinned_primary))
    return out


def _target(provider_name, model, states, counts, last_24h, today, interval):
    target = Target(provider_name, model)
    state = states.get((provider_name, model))
    if state is not None:
        target.state, target.since, target.last_error = state.state, state.since, state.last_error
        target.last_checked_at, target.last_latency_ms = state.last_checked_at, state.last_latency_ms
        target.last_check = state.last_check
    target.days = uptime_days(counts.get((provider_name, model), []), today, interval)
    target.windows = windows(target.days, last_24h.get((provider_name, model), (0, 0)))
    return target


def failover_target():
    """Who serves traffic if the primary fails: the first fallback whose breaker is closed."""
    chain = snapshot.active_chain()
    if len(chain) < 2:
        return ""
    current = breaker.states([s.name for s in chain])
    for settings_ in chain[1:]:
        if not breaker.is_open_state(current[settings_.name]):
            return settings_.name
    return ""


def primary_name():
    chain = snapshot.active_chain()
    return chain[0].name if chain else ""


def heartbeat(now=None):
    """(last heartbeat as a datetime or None, stale: bool) -- stale when no task ran in 3 heartbeat intervals."""
    last = shared_cache.get(HEARTBEAT_KEY)
    try:
        moment = dt.datetime.fromisoformat(last) if last else None
    except (TypeError, ValueError):
        moment = None
    if moment is None:
        return None, True
    limit = dt.timedelta(seconds=3 * settings.WORKER_HEARTBEAT_INTERVAL_SECONDS)
    return moment, (now or timezone.now()) - moment > limit


def recent_incidents(limit=20):
    return traffic.annotate(list(Incident.objects.all()[:limit]))


def nothing_to_watch():
    """The live part stops polling when nothing can change: no enabled provider to check."""
    return not ProviderConfig.objects.filter(enabled=True).exists()


def settings_form_for(row):
    return HealthSettingsForm(provider_names=[c.name for c in ProviderConfig.objects.all()], initial={
        "interval_seconds": row.interval_seconds, "down_after_failures": row.down_after_failures,
        "up_after_successes": row.up_after_successes, "alert_emails": row.alert_emails,
        "webhook_url": row.webhook_url, "maintenance": row.maintenance})


def policy_form_for(routing):
    return BreakerPolicyForm(initial={name: getattr(routing, name) for name in POLICY_FIELDS})


def page_context(request, *, settings_form=None, policy_form=None, live_only=False):
    """The Status page's context; `live_only` for an htmx poll (no charts, no form)."""
    row = HealthSettings.load()
    last_heartbeat, heartbeat_stale = heartbeat()
    context = {
        "last_heartbeat": last_heartbeat, "heartbeat_stale": heartbeat_stale,
        "providers_status": providers_status(), "primary_name": primary_name(),
        "failover_target": failover_target(), "incidents": recent_incidents(), "health_settings": row,
        "uptime_days": UPTIME_DAYS, "poll_seconds": min(max(row.interval_seconds, 5), 30),
    }
    if not live_only:
        context["latency_figure"], context["error_figure"] = latency_and_errors()
        context["settings_form"] = settings_form or (settings_form_for(row) if request.user.is_staff else None)
        context["policy_form"] = policy_form or (policy_form_for(ProviderRouting.load())
                                                 if request.user.is_staff else None)
    return context
