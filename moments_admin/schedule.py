"""The periodic task schedule, built in one small tested function."""
from django.conf import settings


def beat_schedule():
    interval = settings.HEALTH_CHECK_INTERVAL_SECONDS
    return {
        "heartbeat": {
            "task": "providers.tasks.heartbeat",
            "schedule": float(interval),
            # A run still queued after one interval is stale: drop it, the next one comes.
            "options": {"expires": interval * 0.9},
        },
    }
