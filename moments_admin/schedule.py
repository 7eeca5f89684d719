"""The periodic task schedule, built in one small tested function."""
from django.conf import settings


def beat_schedule():
    interval = settings.HEALTH_CHECK_INTERVAL_SECONDS
    usage_interval = settings.USAGE_ROLLUP_INTERVAL_SECONDS
    budget_interval = settings.USAGE_BUDGET_CHECK_INTERVAL_SECONDS
    schedule = {
        "heartbeat": {
            "task": "providers.tasks.heartbeat",
            "schedule": float(interval),
            # A run still queued after one interval is stale: drop it, the next one comes.
            "options": {"expires": interval * 0.9},
        },
        # Usage: new records into the hourly/daily rollups, then budget thresholds and hard stops.
        "usage-rollups": {
            "task": "usage.tasks.update_usage_rollups",
            "schedule": float(usage_interval),
            "options": {"expires": usage_interval * 0.9},
        },
        "usage-budgets": {
            "task": "usage.tasks.check_usage_budgets",
            "schedule": float(budget_interval),
            "options": {"expires": budget_interval * 0.9},
        },
        "usage-recommendations": {
            "task": "usage.tasks.refresh_usage_recommendations",
            "schedule": 3600.0,
            "options": {"expires": 3600 * 0.9},
        },
    }
    if settings.USAGE_WRITE_BUFFER and settings.USAGE_QUEUE_URL:
        drain_interval = settings.USAGE_QUEUE_DRAIN_SECONDS
        schedule["usage-queue"] = {  # usage rows buffered in Redis into the database
            "task": "usage.tasks.drain_usage_queue",
            "schedule": float(drain_interval),
            "options": {"expires": drain_interval * 0.9},
        }
    return schedule
