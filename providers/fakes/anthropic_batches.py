"""The Message Batches API of FakeAnthropic: /v1/messages/batches (create, retrieve, list, cancel, results).

Batches progress on demand, so tests see every stage: `fake.batches.advance(n)` processes the next n
requests of every open batch (all of them without n) and ends batches with nothing left; a batch being
canceled ends at its next advance with its unprocessed requests canceled. `fake.batches.expire(id)` ends
one with its unprocessed requests expired. Each request is answered as /v1/messages would answer it.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
from typing import TYPE_CHECKING

from .replies import build_reply, message_json, new_id
from .validation import ApiError, check_context_window, resolve_model, validate_body

if TYPE_CHECKING:
    from .anthropic_fake import FakeAnthropic
    from .exchange import Exchange

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_REQUESTS = 100_000


def _now():
    return datetime.datetime.now(datetime.UTC)


def _iso(when):
    return when.isoformat().replace("+00:00", "Z") if when else None


class FakeBatch:
    def __init__(self, requests: list[dict]) -> None:
        self.id = new_id("msgbatch")
        self.requests = requests
        self.results: dict[str, dict] = {}
        self.created_at = _now()
        self.ended_at = None
        self.cancel_initiated_at = None
        self.status = "in_progress"

    def counts(self) -> dict:
        kinds = [r["result"]["type"] for r in self.results.values()]
        counts = {k: kinds.count(k) for k in ("succeeded", "errored", "canceled", "expired")}
        return {"processing": len(self.requests) - len(self.results), **counts}

    def as_json(self, base_url: str) -> dict:
        return {
            "id": self.id, "type": "message_batch", "processing_status": self.status,
            "request_counts": self.counts(), "created_at": _iso(self.created_at),
            "expires_at": _iso(self.created_at + datetime.timedelta(hours=24)),
            "ended_at": _iso(self.ended_at), "cancel_initiated_at": _iso(self.cancel_initiated_at),
            "archived_at": None,
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if self.status == "ended" else None,
        }


class Batches:
    def __init__(self, fake: FakeAnthropic) -> None:
        self.fake = fake
        self.batches: dict[str, FakeBatch] = {}
        self._lock = threading.Lock()

    # -- progress, on demand ----------------------------------------------------
    def advance(self, n: int | None = None) -> None:
        with self._lock:
            for batch in self.batches.values():
                if batch.status == "ended":
                    continue
                pending = [r for r in batch.requests if r["custom_id"] not in batch.results]
                if batch.status == "canceling":
                    self._end(batch, pending, "canceled")
                    continue
                for request in pending[:n]:
                    batch.results[request["custom_id"]] = self._answer(request)
                if len(batch.results) == len(batch.requests):
                    self._end(batch, [], "")

    def expire(self, batch_id: str) -> None:
        with self._lock:
            batch = self.batches[batch_id]
            self._end(batch, [r for r in batch.requests if r["custom_id"] not in batch.results], "expired")

    def _end(self, batch: FakeBatch, unprocessed: list[dict], outcome: str) -> None:
        for request in unprocessed:
            batch.results[request["custom_id"]] = {"custom_id": request["custom_id"], "result": {"type": outcome}}
        batch.status, batch.ended_at = "ended", _now()

    def _answer(self, request: dict) -> dict:
        body = request["params"]
        try:
            spec = resolve_model(body, self.fake.models)
            validate_body(body, spec)
            check_context_window(body, spec)
        except ApiError as err:
            error = {"type": "error", "error": {"type": err.type, "message": err.message}}
            return {"custom_id": request["custom_id"], "result": {"type": "errored", "error": error}}
        usage = self.fake.cache.account(spec.id, body)
        reply = build_reply(body, spec.id, "fake Anthropic API")
        message = message_json(new_id("msg"), spec.id, reply, usage)
        return {"custom_id": request["custom_id"], "result": {"type": "succeeded", "message": message}}

    # -- HTTP ---------------------------------------------------------------------
    def route(self, ex: Exchange, path: str) -> None:
        parts = path[len("/v1/messages/batches"):].strip("/").split("/")
        headers = {"request-id": ex.request_id}
        if ex.method == "POST" and parts == [""]:
            return ex.send_json(200, self._create(ex.json).as_json(self.fake.url), headers)
        if ex.method == "GET" and parts == [""]:
            with self._lock:
                data = [b.as_json(self.fake.url) for b in reversed(list(self.batches.values()))]
            return ex.send_json(200, {"data": data, "has_more": False, "first_id": None, "last_id": None}, headers)
        batch = self.batches.get(parts[0])
        if batch is None:
            raise ApiError(404, "not_found_error", f"message_batch {parts[0]} not found")
        if ex.method == "GET" and len(parts) == 1:
            return ex.send_json(200, batch.as_json(self.fake.url), headers)
        if ex.method == "POST" and parts[1:] == ["cancel"]:
            with self._lock:
                if batch.status == "in_progress":
                    batch.status, batch.cancel_initiated_at = "canceling", _now()
            return ex.send_json(200, batch.as_json(self.fake.url), headers)
        if ex.method == "GET" and parts[1:] == ["results"]:
            if batch.status != "ended":
                raise ApiError(400, "invalid_request_error",
                               f"Batch {batch.id} is still processing; results are available once it has ended.")
            lines = [json.dumps(batch.results[r["custom_id"]]) for r in batch.requests]
            return ex.send(200, ("\n".join(lines) + "\n").encode(), "application/binary", headers)
        raise ApiError(404, "not_found_error", "Not Found")

    def _create(self, body) -> FakeBatch:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise ApiError(400, "invalid_request_error", "requests: Field required (a non-empty list)")
        if len(requests) > MAX_REQUESTS:
            raise ApiError(400, "invalid_request_error", f"requests: at most {MAX_REQUESTS} requests per batch")
        seen = set()
        for index, request in enumerate(requests):
            custom_id = request.get("custom_id") if isinstance(request, dict) else None
            if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
                raise ApiError(400, "invalid_request_error", f"requests.{index}.custom_id: invalid")
            if custom_id in seen:
                raise ApiError(400, "invalid_request_error", f"requests.{index}.custom_id: duplicate '{custom_id}'")
            seen.add(custom_id)
            if not isinstance(request.get("params"), dict) or request["params"].get("stream"):
                raise ApiError(400, "invalid_request_error", f"requests.{index}.params: a non-streaming request")
        batch = FakeBatch([{"custom_id": r["custom_id"], "params": r["params"]} for r in requests])
        with self._lock:
            self.batches[batch.id] = batch
        return batch
