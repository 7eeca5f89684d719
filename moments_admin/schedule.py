"""The periodic task schedule, built in one small tested function."""
from django.conf import settings

# Beat offers a health round this often; the task runs one per interval set in the dashboard
# (health.HealthSettings, at least this long) and returns at once otherwise.
HEALTH_TICK_SECONDS = 5


def beat_schedule():
    heartbeat_interval = settings.WORKER_HEARTBEAT_INTERVAL_SECONDS
    usage_interval = settings.USAGE_ROLLUP_INTERVAL_SECONDS
    budget_interval = settings.USAGE_BUDGET_CHECK_INTERVAL_SECONDS
    schedule = {
        "heartbeat": {
            "task": "providers.tasks.heartbeat",
            "schedule": float(heartbeat_interval),
            # A run still queued after one interval is stale: drop it, the next one comes.
            "options": {"expires": heartbeat_interval * 0.9},
        },
        "health-checks": {
            "task": "providers.health.tasks.run_health_checks",
            "schedule": float(HEALTH_TICK_SECONDS),
            "options": {"expires": HEALTH_TICK_SECONDS * 0.9},
        },
        # Between rounds: a breaker opened by real traffic opens its incident and alert within a tick.
        "breaker-watch": {
            "task": "providers.health.tasks.watch_breakers",
            "schedule": float(HEALTH_TICK_SECONDS),
            "kwargs": {"tick_seconds": HEALTH_TICK_SECONDS},
            "options": {"expires": HEALTH_TICK_SECONDS * 0.9},
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
        # A gradual rollout of the migration wizard stops by itself when its target fails too often.
        "migration-rollouts": {
            "task": "providers.migration.tasks.check_rollouts",
            "schedule": float(settings.MIGRATION_ROLLOUT_CHECK_SECONDS),
            "options": {"expires": settings.MIGRATION_ROLLOUT_CHECK_SECONDS * 0.9},
        },
        "usage-recommendations": {
            "task": "usage.tasks.refresh_usage_recommendations",
            "schedule": 3600.0,
            "options": {"expires": 3600 * 0.9},
        },
        # Batch jobs whose tracker task was lost get a new one (each tracker re-schedules itself).
        "batch-trackers": {
            "task": "providers.batch.tasks.track_open_batches",
            "schedule": 300.0,
            "options": {"expires": 300 * 0.9},
        },
        # Rows older than their retention, deleted in small batches (USAGE_*_RETENTION_DAYS).
        "usage-retention": {
            "task": "usage.tasks.prune_usage_data",
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
