"""Prometheus metrics with prometheus_client, multiprocess-safe.

Counters and histograms are updated where things happen (every CallRecord from the choke point,
every health check, every shared-cache failure). With PROMETHEUS_MULTIPROC_DIR set (web workers
and Celery processes) each process writes its own files and a scrape merges them; without it
the process's own registry is served. Breaker and check states are read at scrape time from the
shared cache and the database, so every process reports the same values.
"""
import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from providers import breaker
from providers.health.models import STATES, TargetState
from usage.status import UsageQueueCollector

CONTENT_TYPE = CONTENT_TYPE_LATEST
CALLS = Counter("moments_calls", "Provider attempts through the choke point, by outcome.",
                ["provider", "model", "status", "purpose"])
FAILURES = Counter("moments_call_failures", "Failed provider attempts, by error kind.", ["provider", "kind"])
FAILOVERS = Counter("moments_failovers", "Calls served by a fallback provider.", ["provider"])
LATENCY = Histogram("moments_call_latency_seconds", "Latency of provider attempts.", ["provider", "model"],
                    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 60, 120))
CHECKS = Counter("moments_health_checks", "Health checks run, by result and kind of check.",
                 ["provider", "model", "check", "result"])
CACHE_FAILURES = Counter("moments_shared_cache_failures", "Shared-cache operations that failed (tolerated).",
                         ["operation"])


def observe_call(record):
    CALLS.labels(record.provider_name, record.model_id, record.status, record.context.purpose).inc()
    if record.status not in ("ok", "abandoned"):
        FAILURES.labels(record.provider_name, record.status).inc()
    if record.failed_over and record.status == "ok":
        FAILOVERS.labels(record.provider_name).inc()
    if record.latency_ms is not None:
        LATENCY.labels(record.provider_name, record.model_id).observe(record.latency_ms / 1000)


def observe_checks(outcomes):
    for outcome in outcomes:
        CHECKS.labels(outcome.provider_name, outcome.model, outcome.check, "ok" if outcome.ok else "fail").inc()


def observe_cache_failure(operation):
    CACHE_FAILURES.labels(operation).inc()


class StateCollector:
    """Breaker and health states, read when scraped."""

    def collect(self):
        rows = list(TargetState.objects.all())
        state = GaugeMetricFamily("moments_health_state", "1 for the current state of each provider and model.",
                                  labels=["provider", "model", "state"])
        up = GaugeMetricFamily("moments_health_check_up", "1 when the last health check passed.",
                               labels=["provider", "model"])
        for row in rows:
            for name in STATES:
                state.add_metric([row.provider_name, row.model, name], 1.0 if row.state == name else 0.0)
            up.add_metric([row.provider_name, row.model], 0.0 if row.consecutive_failures else 1.0)
        names = sorted({row.provider_name for row in rows})
        targets = [(row.provider_name, row.model) for row in rows]
        current = breaker.states([breaker.model_target(p, m) if m else p for p, m in targets], fresh=True)
        open_ = GaugeMetricFamily("moments_breaker_open", "1 while the provider's circuit breaker is open.",
                                  labels=["provider"])
        now = time.time()
        for name in names:
            open_.add_metric([name], 1.0 if current[name]["open_until"] > now else 0.0)
        phases = GaugeMetricFamily("moments_breaker_state", "1 for the current phase of each breaker (model \"\": "
                                   "the provider's own).", labels=["provider", "model", "state"])
        for provider_name, model in targets:
            phase = breaker.phase(current[breaker.model_target(provider_name, model) if model else provider_name])
            for name in ("closed", "open", "half_open"):
                phases.add_metric([provider_name, model, name], 1.0 if phase == name else 0.0)
        yield from (state, up, open_, phases)


def exposition():
    """The scrape body: every process's counters (multiprocess mode) or this one's, plus the states."""
    states = CollectorRegistry(auto_describe=False)
    states.register(StateCollector())
    states.register(UsageQueueCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry) + generate_latest(states)
    return generate_latest(REGISTRY) + generate_latest(states)
