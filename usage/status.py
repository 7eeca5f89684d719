"""The usage pipeline's health for the Status page: rollups behind, rows queued, rows refused."""
import datetime

import redis
from django.conf import settings
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from usage.models import RollupState, UsageDeadLetter
from usage.queue import usage_queue
from usage.rollups import STATE, rollup_lag

STALLED_AFTER_INTERVALS = 3


def usage_pipeline_status(now=None):
    now = now or timezone.now()
    state = RollupState.objects.filter(name=STATE).only("updated_at").first()
    last_rollup = state.updated_at if state else None
    rolled_up, newest = rollup_lag()
    waiting = max(0, newest - rolled_up)
    interval = settings.USAGE_ROLLUP_INTERVAL_SECONDS
    limit = datetime.timedelta(seconds=interval * STALLED_AFTER_INTERVALS)
    stalled = bool(waiting) and (last_rollup is None or now - last_rollup > limit)
    return {"last_rollup": last_rollup, "rows_waiting": waiting, "stalled": stalled, "interval": interval,
            "stalled_after": interval * STALLED_AFTER_INTERVALS, "dead_letters": UsageDeadLetter.objects.count(),
            **_queue_status()}


def _queue_status():
    if not settings.USAGE_WRITE_BUFFER:
        return {"write_mode": "direct", "queued": None}
    queue = usage_queue(settings)
    if queue is None:
        return {"write_mode": "in-process buffer", "queued": None}
    try:
        return {"write_mode": "Redis queue", "queued": queue.length()}
    except redis.RedisError:
        return {"write_mode": "Redis queue", "queued": None, "queue_unreachable": True}


class UsageQueueCollector:
    """moments_usage_queue_depth: rows in the Redis stream not yet written (XLEN), when it is in use."""

    def collect(self):
        depth = GaugeMetricFamily("moments_usage_queue_depth", "Usage rows waiting in the Redis queue "
                                  "(USAGE_QUEUE_URL), read at scrape time; absent without a queue.")
        queue = usage_queue(settings) if settings.USAGE_WRITE_BUFFER else None
        if queue is not None:
            try:
                depth.add_metric([], float(queue.length()))
            except redis.RedisError:
                pass  # unreachable: no sample rather than a wrong 0
        yield depth
