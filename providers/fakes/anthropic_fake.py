"""FakeAnthropic: the Anthropic Messages API (/v1/messages, count_tokens, models) over real HTTP."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from .anthropic_batches import Batches
from .anthropic_models import ModelRegistry, ModelSpec
from .exchange import Exchange
from .faults import Fault
from .replies import build_reply
from .server import FakeServer
from .sse import reply_to_messages
from .tokens import PromptCache, count_input_tokens
from .validation import ApiError, check_context_window, resolve_model, validate_body

DEFAULT_API_KEY = "sk-ant-test-key-1"
GREETING = "fake Anthropic API"

# fault kind -> (status, error type, message)
_FAULT_ERRORS = {
    "rate_limit": (
        429,
        "rate_limit_error",
        "This request would exceed the rate limit for your organization of 50 requests per minute. "
        "For details, refer to: https://docs.claude.com/en/api/rate-limits.",
    ),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "server_error": (500, "api_error", "Internal server error"),
    "unavailable": (503, "api_error", "Service unavailable"),
    "access_denied": (403, "permission_error", "Your API key does not have permission to use the specified resource."),
    "model_timeout": (504, "timeout_error", "Request timed out"),
}
_FAULT_ERRORS["throttling"] = _FAULT_ERRORS["rate_limit"]
_BEDROCK_ONLY = {"service_unavailable_400", "model_not_ready"}


class FakeAnthropic(FakeServer):
    def __init__(
        self,
        api_keys: Iterable[str] = (DEFAULT_API_KEY,),
        *,
        models: Iterable[ModelSpec | str | Mapping[str, Any]] | None = None,
        min_cache_tokens: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
    ) -> None:
        super().__init__(host=host, port=port, tls=tls)
        self.api_keys = set(api_keys)
        self.models = ModelRegistry(models)
        self.cache = PromptCache(min_tokens=min_cache_tokens)
        self.batches = Batches(self)  # the Message Batches API; progresses on demand (advance())

    def _check_fault(self, fault: Fault) -> None:
        if fault.kind in _BEDROCK_ONLY:
            raise ValueError(f"fault kind {fault.kind!r} is Bedrock-only")

    # -- plumbing ------------------------------------------------------------
    def error_headers(self, ex: Exchange) -> dict[str, str]:
        return {"request-id": ex.request_id}

    def _error(self, ex: Exchange, status: int, type_: str, message: str, headers: dict | None = None) -> None:
        body = {"type": "error", "error": {"type": type_, "message": message}, "request_id": ex.request_id}
        ex.send_json(status, body, {"request-id": ex.request_id, **(headers or {})})

    def _authenticate(self, ex: Exchange) -> bool:
        key = ex.header("x-api-key")
        auth = ex.header("authorization") or ""
        if key is None and auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
        if not key:
            self._error(ex, 401, "authentication_error", "x-api-key header is required")
            return False
        if key not in self.api_keys:
            self._error(ex, 401, "authentication_error", "invalid x-api-key")
            return False
        return True

    def handle(self, ex: Exchange) -> None:
        ex.request_id = "req_fake_" + secrets.token_hex(12)
        if not self._authenticate(ex):
            return
        if not ex.header("anthropic-version"):
            self._error(ex, 400, "invalid_request_error", "anthropic-version: header is required")
            return
        path = ex.raw_path.rstrip("/")
        streaming = path == "/v1/messages" and isinstance(ex.json, dict) and ex.json.get("stream") is True
        fault = self.take_fault(path, streaming)
        if fault is not None:
            if fault.kind == "reset":
                ex.abort()
            if fault.kind == "slow" and not (streaming and fault.after_events is not None):
                time.sleep(fault.sleep_seconds)
            elif fault.kind in _FAULT_ERRORS:
                status, type_, message = _FAULT_ERRORS[fault.kind]
                headers = {"retry-after": fault.retry_after_header} if status == 429 else None
                self._error(ex, status, type_, message, headers)
                return
        try:
            self._route(ex, path, fault)
        except ApiError as err:
            self._error(ex, err.status, err.type, err.message)

    def _route(self, ex: Exchange, path: str, fault: Fault | None) -> None:
        if ex.method == "POST" and path == "/v1/messages":
            return self._messages(ex, fault)
        if path.startswith("/v1/messages/batches"):
            return self.batches.route(ex, path)
        if ex.method == "POST" and path == "/v1/messages/count_tokens":
            return self._count_tokens(ex)
        if ex.method == "GET" and path == "/v1/models":
            return self._list_models(ex)
        if ex.method == "GET" and path.startswith("/v1/models/"):
            name = unquote(path[len("/v1/models/") :])
            spec = self.models.resolve(name)
            if spec is None:
                raise ApiError(404, "not_found_error", f"model: {name}")
            return ex.send_json(200, spec.info(), {"request-id": ex.request_id})
        raise ApiError(404, "not_found_error", "Not Found")

    def _body(self, ex: Exchange) -> dict:
        if not isinstance(ex.json, dict):
            raise ApiError(
                400, "invalid_request_error", "There was an issue with the request body: it must be a JSON object"
            )
        return ex.json

    # -- endpoints -----------------------------------------------------------
    def _messages(self, ex: Exchange, fault: Fault | None) -> None:
        body = self._body(ex)
        spec = resolve_model(body, self.models)
        validate_body(body, spec)
        check_context_window(body, spec)
        usage = self.cache.account(spec.id, body)
        reply = build_reply(body, spec.id, GREETING)
        reply_to_messages(ex, body, spec.id, reply, usage, fault, {"request-id": ex.request_id})

    def _count_tokens(self, ex: Exchange) -> None:
        body = self._body(ex)
        spec = resolve_model(body, self.models)
        validate_body(body, spec, count_only=True)
        ex.send_json(200, {"input_tokens": count_input_tokens(body)}, {"request-id": ex.request_id})

    def _list_models(self, ex: Exchange) -> None:
        try:
            limit = int(ex.query_one("limit") or 20)
        except ValueError:
            raise ApiError(400, "invalid_request_error", "limit: Input should be a valid integer") from None
        if not 1 <= limit <= 1000:
            raise ApiError(400, "invalid_request_error", "limit: Input should be between 1 and 1000")
        models = list(self.models.models)
        ids = [m.id for m in models]
        after, before = ex.query_one("after_id"), ex.query_one("before_id")
        if before:
            end = ids.index(before) if before in ids else 0
            start = max(0, end - limit)
            page, has_more = models[start:end], start > 0
        else:
            start = ids.index(after) + 1 if after in ids else (len(ids) if after else 0)
            page, has_more = models[start : start + limit], start + limit < len(models)
        ex.send_json(
            200,
            {
                "data": [m.info() for m in page],
                "has_more": has_more,
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
            },
            {"request-id": ex.request_id},
        )
