"""Anthropic Message Batches through the SDK (client.messages.batches.create/retrieve/results/cancel)."""
import json

from providers.clients.batch import BatchJob, BatchResult, check_limits
from providers.clients.error_mapping import from_sdk_exception
from providers.clients.errors import ProviderError
from providers.clients.usage import Usage


def prepared_params(client, item):
    """The item's request as the provider will get it: checked, model resolved, adapted, capped.
    Returns (params, extra headers, model ID, the changes made to suit the model)."""
    try:
        body, options, resolution = client._prepare(item.params)
    except ProviderError as error:
        error.message = f"{item.custom_id}: {error.message}"
        raise
    return ({**body, **options.get("extra_body", {})}, options.get("extra_headers") or {}, resolution.model_id,
            list(resolution.adaptations))


class AnthropicBatches:
    def __init__(self, client):
        self.client = client

    def _sdk_batches(self):
        return self.client._sdk().messages.batches

    def _error(self, exc, model_id=None):
        return from_sdk_exception(exc, provider="anthropic", model_id=model_id)

    def submit(self, items, name=""):
        requests, headers, models, adaptations = [], {}, set(), {}
        for item in items:
            params, extra_headers, model_id, changes = prepared_params(self.client, item)
            headers.update(extra_headers)
            models.add(model_id)
            if changes:
                adaptations[item.custom_id] = changes
            requests.append({"custom_id": item.custom_id, "params": params})
        check_limits("anthropic", len(requests), len(json.dumps({"requests": requests})))
        try:
            batch = self._sdk_batches().create(requests=requests, extra_headers=headers or None)
        except Exception as exc:
            raise self._error(exc) from exc
        job = _job(batch)
        job.model_id = ", ".join(sorted(models))
        job.adaptations = adaptations
        return job

    def status(self, batch_id):
        try:
            return _job(self._sdk_batches().retrieve(batch_id))
        except Exception as exc:
            raise self._error(exc) from exc

    def cancel(self, batch_id):
        try:
            return _job(self._sdk_batches().cancel(batch_id))
        except Exception as exc:
            raise self._error(exc) from exc

    def results(self, batch_id):
        """BatchResults, one per request (only once the batch has ended)."""
        try:
            for line in self._sdk_batches().results(batch_id):
                yield _result(line.model_dump(mode="json", exclude_none=True))
        except ProviderError:
            raise
        except Exception as exc:
            raise self._error(exc) from exc


def _job(batch):
    counts = batch.request_counts
    return BatchJob(
        provider_batch_id=batch.id, state=batch.processing_status, provider_status=batch.processing_status,
        counts={"processing": counts.processing, "succeeded": counts.succeeded, "errored": counts.errored,
                "canceled": counts.canceled, "expired": counts.expired})


def _result(line):
    result = line.get("result") or {}
    outcome = result.get("type", "errored")
    if outcome == "succeeded":
        message = result.get("message") or {}
        return BatchResult(line["custom_id"], "succeeded", message=message,
                           usage=Usage.from_anthropic(message.get("usage")), model_id=message.get("model", ""))
    if outcome == "errored":
        error = (result.get("error") or {}).get("error") or result.get("error") or {}
        return BatchResult(line["custom_id"], "errored",
                           error={"type": error.get("type", "api_error"), "message": error.get("message", "")})
    return BatchResult(line["custom_id"], outcome)
