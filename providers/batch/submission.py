"""Submitting a batch: to the active provider (or a pinned one), recorded as a BatchJob, tracked by a task."""
import datetime
import logging

from django.db import transaction
from django.utils import timezone

from providers.batch.models import BatchJob
from providers.batch.targets import provider_for
from providers.client_pool import client_for
from providers.clients.batch import items_from_requests, parse_jsonl
from providers.clients.batch_api import batch_api

log = logging.getLogger(__name__)


def submit_file(content, **options):
    """Submit JSONL text or bytes (see providers.clients.batch.parse_jsonl)."""
    return submit_items(parse_jsonl(content), **options)


def submit_requests(requests, **options):
    """Submit a Message Batches `requests` list ([{"custom_id", "params"}, ...])."""
    return submit_items(items_from_requests(requests), **options)


def submit_items(items, *, name="", provider=None, agent="", source="upload", user=None):
    settings = provider_for(provider)
    job = batch_api(client_for(settings)).submit(items, name=name)
    record = BatchJob.objects.create(
        name=name[:100], provider_name=settings.name, provider_kind=settings.kind,
        provider_batch_id=job.provider_batch_id, model_id=job.model_id[:300], agent=(agent or "")[:128],
        source=source, state=job.state, provider_status=job.provider_status, total=len(items), counts=job.counts,
        adaptations=job.adaptations,
        submitted_by=user if getattr(user, "is_authenticated", False) else None,
        next_poll_at=timezone.now() + datetime.timedelta(seconds=first_delay()))
    log.info("Batch %s submitted to %s: %d requests (%s)", record.pk, settings.name, len(items),
             job.provider_batch_id)
    from providers.batch.tasks import track_batch

    transaction.on_commit(lambda: _schedule(track_batch, record.pk))
    return record


def _schedule(task, job_id):
    try:
        task.apply_async((job_id,), countdown=first_delay())
    except Exception as exc:  # the job exists at the provider: the beat's safety net tracks it later
        log.warning("Could not schedule the tracker of batch %s (%s); the beat will pick it up.", job_id,
                    type(exc).__name__)


def first_delay():
    from django.conf import settings

    return settings.BATCH_POLL_FIRST_SECONDS
