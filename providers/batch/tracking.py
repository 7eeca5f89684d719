"""Following a job until it ends: its progress, then its results stored and its usage recorded, once.

`poll(job_id)` asks the provider once and returns the seconds until the next poll (None once the
job has ended and its results are stored). The delay grows with every poll (BATCH_POLL_FIRST_SECONDS,
doubling up to BATCH_POLL_MAX_SECONDS): a day-long batch costs a few dozen requests, not thousands.
"""
import datetime
import logging
from decimal import Decimal

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from providers.batch import costs
from providers.batch.models import BatchJob, BatchRequestResult
from providers.batch.targets import settings_named
from providers.call_records import CallContext, CallRecord, emit
from providers.client_pool import client_for
from providers.clients.batch_api import batch_api
from providers.clients.errors import ProviderError
from providers.clients.model_ids import parse_model_id

log = logging.getLogger(__name__)
MESSAGE_LIMIT = 1000


def next_delay(polls):
    first, cap = django_settings.BATCH_POLL_FIRST_SECONDS, django_settings.BATCH_POLL_MAX_SECONDS
    return min(cap, first * (2 ** min(polls, 20)))


def _api(job):
    return batch_api(client_for(settings_named(job.provider_name)))


def poll(job_id):
    job = BatchJob.objects.filter(pk=job_id).first()
    if job is None or job.results_stored:
        return None
    try:
        status = _api(job).status(job.provider_batch_id)
    except ProviderError as error:
        # The provider could not be asked now: keep the job, try again later (the job itself lives on).
        log.warning("Batch %s: could not read its status from %s: %s", job.pk, job.provider_name, error)
        BatchJob.objects.filter(pk=job.pk).update(message=str(error)[:MESSAGE_LIMIT], polls=job.polls + 1)
        return next_delay(job.polls + 1)
    job.state, job.counts, job.provider_status = status.state, status.counts, status.provider_status
    job.message = (status.message or "")[:MESSAGE_LIMIT]
    job.polls += 1
    if not status.ended:
        delay = next_delay(job.polls)
        job.next_poll_at = timezone.now() + datetime.timedelta(seconds=delay)
        job.save(update_fields=["state", "counts", "provider_status", "message", "polls", "next_poll_at",
                                "updated_at"])
        return delay
    job.ended_at = job.ended_at or timezone.now()
    job.next_poll_at = None
    job.save(update_fields=["state", "counts", "provider_status", "message", "polls", "ended_at", "next_poll_at",
                            "updated_at"])
    store_results(job)
    return None


def store_results(job):
    """Read every result, store it and record its usage at batch prices; exactly once per job (the row
    lock makes a second tracker wait, then see results_stored)."""
    results = list(_api(job).results(job.provider_batch_id))
    target = _profile_target(job)
    with transaction.atomic():
        job = BatchJob.objects.select_for_update().get(pk=job.pk)
        if job.results_stored:
            return job
        total = on_demand = Decimal(0)
        unpriced = 0
        rows = []
        for result in results:
            cost = None
            if result.outcome == "succeeded":
                record = _record_usage(job, result, target)
                cost = record.cost_usd
                if cost is None:
                    unpriced += 1
                else:
                    total += cost
                    on_demand += costs.on_demand_cost(job.provider_kind, record.model_id, result.usage,
                                                      profile_target=target) or cost
            rows.append(BatchRequestResult(
                job=job, custom_id=result.custom_id[:64], outcome=result.outcome, message=result.message,
                error=result.error, input_tokens=result.usage.total_input_tokens,
                output_tokens=result.usage.output_tokens, cost_usd=cost))
        BatchRequestResult.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        job.counts = _counted(results, job.counts)
        job.cost_usd, job.on_demand_cost_usd, job.unpriced = total, on_demand, unpriced
        job.results_stored = True
        job.save(update_fields=["counts", "cost_usd", "on_demand_cost_usd", "unpriced", "results_stored",
                                "updated_at"])
    return job


def _counted(results, counts):
    if not results:
        return counts
    tally = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    for result in results:
        tally[result.outcome] = tally.get(result.outcome, 0) + 1
    return tally


def _profile_target(job):
    """For a job run on an application inference profile ARN, the model it routes to (GetInferenceProfile,
    as the call path asks it), so its usage is priced without a manual mapping; None for any other model
    or when Bedrock cannot say (the Prices page's mapping, if any, still prices it)."""
    parsed = parse_model_id(job.model_id)
    if parsed is None or parsed.arn_resource != "application-inference-profile":
        return None
    try:
        return client_for(settings_named(job.provider_name)).resolution(job.model_id).profile_target
    except ProviderError as error:
        log.warning("Batch %s: could not resolve the model behind %s: %s", job.pk, job.model_id, error)
        return None


def _record_usage(job, result, profile_target=None):
    """One usage record per succeeded request, through the call path's sink, priced at batch prices."""
    model_id = result.model_id or job.model_id
    record = CallRecord(
        provider_name=job.provider_name, provider_kind=job.provider_kind, requested_model=job.model_id[:200],
        model_id=model_id, status="ok", context=CallContext(purpose="batch", agent=job.agent or None),
        usage=result.usage, request_id=(result.message or {}).get("id"), batch=True,
        region=None, profile_target=profile_target if model_id == job.model_id else None,
        adaptations=tuple((job.adaptations or {}).get(result.custom_id, ())))
    emit(record)
    return record


def cancel(job):
    """Ask the provider to cancel; the tracker sees it end (requests not yet run become canceled)."""
    status = _api(job).cancel(job.provider_batch_id)
    BatchJob.objects.filter(pk=job.pk).update(state=status.state, provider_status=status.provider_status,
                                              counts=status.counts)
    return status
