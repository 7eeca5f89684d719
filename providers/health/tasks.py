"""Celery tasks: thin, return a short summary."""
import logging

from celery import shared_task

from moments_admin.locks import claim_interval, job_lock
from providers.health import breaker_watch
from providers.health.models import HealthSettings
from providers.health.rounds import run_round

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def run_health_checks():
    """Beat sends this every few seconds from any number of beats; the first claim of each
    interval (the dashboard's setting) runs the round, every other one returns at once."""
    interval = HealthSettings.load().interval_seconds
    if claim_interval("health-checks", interval) is None:
        return "skipped: this interval's round is claimed"
    with job_lock("health-round") as held:  # a round longer than the interval does not overlap the next
        if not held:
            return "skipped: the previous round is still running"
        summary = run_round().summary()
    log.info("Health checks: %s", summary)
    return summary


@shared_task(ignore_result=True)
def watch_breakers(tick_seconds=5):
    """Between rounds: breakers opened (or recovered) by real traffic move incidents and alerts.
    One run per tick across every beat; the others return at once."""
    if claim_interval("breaker-watch", tick_seconds) is None:
        return "skipped: this tick is claimed"
    changes = breaker_watch.watch()  # target rows are locked while they change: overlaps are harmless
    if changes:
        log.info("Breaker watch: %s", ", ".join(f"{c.incident.target} {c.event}" for c in changes))
    return f"{len(changes)} incident change(s)"
