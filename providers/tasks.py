from celery import shared_task
from django.core.cache import cache
from django.utils import timezone


@shared_task
def heartbeat():
    """Marks that a worker ran a task; the status page reads it."""
    now = timezone.now().isoformat()
    cache.set("worker:last_heartbeat", now, timeout=None)
    return now
