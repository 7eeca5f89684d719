"""`client.messages.batches` of the in-process client: the SDK's Message Batches calls, on the active
provider (Anthropic Message Batches or Bedrock batch inference), tracked and recorded like any batch.

    batch = client.messages.batches.create(requests=[{"custom_id": "a-1", "params": {...}}, ...])
    client.messages.batches.retrieve(batch.id)       # MessageBatch, fresh from the provider
    for line in client.messages.batches.results(batch.id):   # MessageBatchIndividualResponse, once ended
        ...
    client.messages.batches.cancel(batch.id)

Returned objects are the SDK's own types; `id` is the provider's (a msgbatch_ ID, or a Bedrock job ARN).
"""
import datetime

from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse

from providers.batch import submission, tracking
from providers.batch.models import BatchJob
from providers.clients.errors import ErrorKind, ProviderError
from providers.sdk_errors import to_sdk_error


class Batches:
    def __init__(self, client):
        self._client = client

    def create(self, *, requests, name="", **ignored):
        try:
            job = submission.submit_requests(list(requests), name=name, provider=self._client.provider,
                                             agent=self._client.agent or "", source="client")
        except ProviderError as error:
            raise to_sdk_error(error) from error
        return as_message_batch(job)

    def retrieve(self, message_batch_id, **ignored):
        job = self._job(message_batch_id)
        tracking.poll(job.pk)
        job.refresh_from_db()
        return as_message_batch(job)

    def cancel(self, message_batch_id, **ignored):
        job = self._job(message_batch_id)
        if job.state != "ended":
            try:
                tracking.cancel(job)
            except ProviderError as error:
                raise to_sdk_error(error) from error
            job.refresh_from_db()
        return as_message_batch(job)

    def list(self, *, limit=20, **ignored):
        return [as_message_batch(job) for job in BatchJob.objects.all()[:limit]]

    def results(self, message_batch_id, **ignored):
        job = self._job(message_batch_id)
        if not job.results_stored:
            raise to_sdk_error(ProviderError(ErrorKind.INVALID_REQUEST, f"Batch {message_batch_id} has not ended "
                                             "yet; its results are available once it has."))
        for row in job.results.order_by("pk").iterator(chunk_size=1000):
            result = {"type": row.outcome}
            if row.outcome == "succeeded":
                result["message"] = row.message
            elif row.outcome == "errored":
                result["error"] = {"type": "error", "error": row.error or {"type": "api_error", "message": ""}}
            yield MessageBatchIndividualResponse.model_validate({"custom_id": row.custom_id, "result": result})

    def _job(self, message_batch_id):
        job = BatchJob.objects.filter(provider_batch_id=message_batch_id).first()
        if job is None:
            raise to_sdk_error(ProviderError(ErrorKind.MODEL_NOT_AVAILABLE,
                                             f"No batch {message_batch_id} was submitted here."))
        return job


def as_message_batch(job):
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0, **(job.counts or {})}
    return MessageBatch.model_validate({
        "id": job.provider_batch_id, "type": "message_batch",
        "processing_status": "ended" if job.state == "ended" and job.results_stored else
        ("canceling" if job.state == "canceling" else "in_progress"),
        "request_counts": {k: counts[k] for k in ("processing", "succeeded", "errored", "canceled", "expired")},
        "created_at": job.created_at, "expires_at": job.created_at + datetime.timedelta(hours=24),
        "ended_at": job.ended_at, "results_url": None,
    })
