"""The choke point's asynchronous twin, for the gateway: the same attempts, forwarded as bytes.

    plan = plan_call(request, context, stream=...)      # in a worker thread: may touch the database
    answer = await invoke_async(plan)                    # on the event loop: ForwardedResult,
                                                         # ForwardedStream, or the SDK path's own types

`plan_call` does what may block (configuration snapshot, breaker read, model resolution, AWS
credentials, signing) and `invoke_async` sends the prepared request through a pooled aiohttp
session: no SDK objects, no thread per request. Everything else is providers.calls' own: the
candidates and breaker gate, one `Attempt` per provider (usage record, breaker update), the retry
rules (providers.clients.retry), the error taxonomy (error_mapping.from_status) and failover on the
kinds marked for it while nothing has reached the caller. A provider the wire form does not cover
(providers.clients.wire.Unsupported) is tried through the SDK path in a worker thread instead.
"""
import base64
import functools
import json
import logging
import time
from dataclasses import dataclass

import aiohttp
from anyio import to_thread
from botocore.eventstream import EventStreamBuffer
from django.conf import settings as django_settings

from providers import breaker_gate, tracing
from providers.background import bookkeeping
from providers.calls import NO_BREAKER_PURPOSES, Attempt, candidates_for, fail_over_or_raise, unexpected_error
from providers.client_pool import client_for
from providers.clients.error_mapping import from_status
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.guardrails import with_agent_guardrail
from providers.clients.retry import call_with_retries_async
from providers.clients.streaming import MessageAccumulator
from providers.clients.usage import Usage
from providers.clients.wire import Unsupported, wire_request
from providers.upstream_sessions import session_for

log = logging.getLogger(__name__)
BEDROCK_METRICS = "amazon-bedrock-invocationMetrics"
BROKEN = "broken"  # a frame that could not be decoded, in place of an event type


@dataclass
class Plan:
    request: dict
    context: object
    stream: bool
    deadline: float
    candidates: list  # the chain, primary first
    healthy: list  # the candidates the breakers admit, in order
    gate: object
    first: tuple  # (attempt, WireRequest | ProviderError | None) for healthy[0]


@dataclass
class ForwardedResult:
    body: bytes  # the provider's JSON answer, as sent
    usage: Usage
    provider_name: str
    provider_kind: str
    model_id: str
    request_id: str | None
    latency_ms: float
    failed_over: bool  # its usage record is written in the background (providers.background)


def plan_call(request, context, *, stream):
    """The call prepared for its first provider, or None when tracing is on (its spans are the SDK path's)."""
    if tracing.enabled:
        return None
    deadline = time.monotonic() + (context.deadline_seconds or django_settings.CALL_DEADLINE_SECONDS)
    candidates = candidates_for(None, context)
    gate = breaker_gate.read(candidates, request) if context.purpose not in NO_BREAKER_PURPOSES else None
    healthy = breaker_gate.admitted(gate, candidates)
    plan = Plan(request, context, stream, deadline, candidates, healthy, gate, None)
    plan.first = _prepare(plan, healthy[0])
    return plan


def _prepare(plan, settings):
    attempt = Attempt(with_agent_guardrail(settings, plan.context.guardrail), plan.request, plan.context,
                       failed_over=settings is not plan.candidates[0], state=plan.gate)
    try:
        return attempt, wire_request(client_for(attempt.settings), attempt.request, stream=plan.stream)
    except Unsupported:
        return attempt, None
    except ProviderError as error:
        return attempt, error
    except Exception as exc:  # a defect below must not escape as a raw exception
        return attempt, unexpected_error(exc, attempt.settings)


async def invoke_async(plan):
    for index, settings in enumerate(plan.healthy):
        attempt, wire = plan.first if index == 0 else await to_thread.run_sync(_prepare, plan, settings)
        try:
            if wire is None:  # served through the SDK path (the attempt records itself there)
                opened = attempt.open_stream if plan.stream else attempt.create
                return await to_thread.run_sync(opened, plan.deadline)
            if isinstance(wire, ProviderError):
                bookkeeping.submit(attempt.failed, wire)
                raise wire
            try:
                return await (_open_stream(attempt, wire, plan.deadline) if plan.stream
                              else _create(attempt, wire, plan.deadline))
            except ProviderError:
                raise
            except Exception as exc:  # a defect below must not escape as a raw exception
                error = unexpected_error(exc, attempt.settings)
                bookkeeping.submit(attempt.failed, error)
                raise error from exc
        except ProviderError as error:
            fail_over_or_raise(error, settings, plan.healthy[index + 1:], plan.deadline, plan.context)
    raise AssertionError("unreachable: the last candidate either returns or raises")


def _timeout(settings, deadline, stream):
    left = deadline - time.monotonic()
    if left <= 0:
        raise ProviderError(ErrorKind.TIMEOUT, "The call's deadline passed before this provider was tried.",
                            provider=settings.kind)
    seconds = min(settings.timeout, left)
    # A stream may run longer than the timeout: it bounds each read, as the SDK's does.
    return aiohttp.ClientTimeout(sock_connect=seconds, sock_read=seconds) if stream else \
        aiohttp.ClientTimeout(total=seconds)


def _transport_error(exc, provider, *, mid_stream=False):
    if mid_stream:
        return ProviderError(ErrorKind.STREAM_INTERRUPTED, f"The {provider} stream broke: {type(exc).__name__}.",
                             provider=provider)
    if isinstance(exc, TimeoutError):
        return ProviderError(ErrorKind.TIMEOUT, f"{provider} did not answer in time.", provider=provider)
    return ProviderError(ErrorKind.CONNECTION, f"Could not reach {provider}: {type(exc).__name__}: "
                         f"{str(exc)[:200]}.", provider=provider)


def _decoded(body):
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:2000]


async def _error_answer(response, wire, provider):
    body = await response.read()
    return from_status(response.status, response.headers, _decoded(body), provider=provider,
                       model_id=wire.model_id, region=wire.region)


def _request_id(headers):
    return headers.get("request-id") or headers.get("x-amzn-requestid")


async def _create(attempt, wire, deadline):
    settings = attempt.settings
    started = time.monotonic()

    async def send():
        try:
            async with session_for(settings.verify).post(wire.url, data=wire.body, headers=wire.headers,
                                                         timeout=_timeout(settings, deadline, False)) as response:
                if response.status != 200:
                    raise await _error_answer(response, wire, settings.kind)
                return response.headers, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _transport_error(exc, settings.kind) from exc

    try:
        (headers, body), _ = await call_with_retries_async(send, settings.retry, deadline=deadline,
                                                           describe=f"{settings.kind} {wire.model_id}")
        try:
            message = json.loads(body)
            if not isinstance(message, dict) or not isinstance(message.get("content"), list):
                raise ValueError("the response is not a Messages API message")
            usage = Usage.from_anthropic(message.get("usage"))
        except (ValueError, TypeError) as exc:
            raise ProviderError(ErrorKind.UNAVAILABLE, f"{settings.kind} sent an answer that is not a message: "
                                f"{exc}.", provider=settings.kind) from exc
    except ProviderError as error:
        bookkeeping.submit(attempt.failed, error)
        raise
    latency_ms = (time.monotonic() - started) * 1000
    bookkeeping.submit(_succeeded, attempt, functools.partial(
        attempt.record, "ok", wire.model_id, usage, resolution=wire.resolution, request_id=_request_id(headers),
        latency_ms=latency_ms, stop_reason=message.get("stop_reason")))
    return ForwardedResult(body, usage, settings.name, settings.kind, wire.model_id, _request_id(headers),
                           latency_ms, attempt.failed_over)


def _succeeded(attempt, record):
    record()
    attempt.succeeded()


async def _open_stream(attempt, wire, deadline):
    """Open the stream and read its first events inside the retry loop: a failure before the caller
    has seen a byte is an ordinary failure (retried, then failed over), a dropped connection included."""
    settings = attempt.settings

    async def open_and_peek():
        response = None
        try:
            response = await session_for(settings.verify).post(
                wire.url, data=wire.body, headers=wire.headers, timeout=_timeout(settings, deadline, True))
            if response.status != 200:
                raise await _error_answer(response, wire, settings.kind)
            batches = (_bedrock_batches if wire.event_stream else _sse_batches)(response)
            first = await anext(batches, None)
            if first is None:
                raise ProviderError(ErrorKind.CONNECTION, f"The {settings.kind} stream closed before its first "
                                    "event.", provider=settings.kind)
            if first[0][0] == "error":
                raise _error_event(first[0], response, wire, settings.kind, mid_stream=False)
            if first[0][0] == BROKEN:
                raise first[0][1]
            return response, batches, first
        except BaseException as exc:
            if response is not None:
                response.close()
            if isinstance(exc, ProviderError) or not isinstance(exc, Exception):
                raise
            if isinstance(exc, (aiohttp.ClientError, TimeoutError)):
                raise _transport_error(exc, settings.kind) from exc
            raise ProviderError(ErrorKind.CONNECTION, f"The {settings.kind} stream broke before its first event: "
                                f"{type(exc).__name__}.", provider=settings.kind) from exc

    try:
        (response, batches, first), _ = await call_with_retries_async(
            open_and_peek, settings.retry, deadline=deadline, describe=f"{settings.kind} stream {wire.model_id}")
    except ProviderError as error:
        bookkeeping.submit(attempt.failed, error)
        raise
    return ForwardedStream(attempt, wire, response, batches, first)


def _error_event(event, response, wire, provider, *, mid_stream):
    return from_status(response.status, response.headers, event[1], provider=provider, model_id=wire.model_id,
                       region=wire.region, mid_stream=mid_stream)


async def _sse_batches(response):
    """Lists of (type, data, bytes to forward), one list per read: the server-sent events that arrived
    together, as the provider sent them."""
    pending = b""
    async for chunk in response.content.iter_any():
        pending += chunk
        if b"\r" in pending:
            pending = pending.replace(b"\r\n", b"\n")
        *blocks, pending = pending.split(b"\n\n")
        events = _decoded_events(_sse_event, (block for block in blocks if block.strip()))
        if events:
            yield events
            if events[-1][0] == BROKEN:
                return
    if pending.strip():
        yield _decoded_events(_sse_event, [pending])


def _decoded_events(decode, frames):
    """The frames decoded in order; one that cannot be decoded ends the list as (BROKEN, its error, b""),
    so the events before it are still delivered."""
    events, frames = [], iter(frames)
    while True:
        try:  # botocore checks a frame's CRCs while iterating, before it is decoded
            frame = next(frames, None)
            if frame is None:
                return events
            event = decode(frame)
        except Exception as exc:
            events.append((BROKEN, exc, b""))
            return events
        if event is not None:
            events.append(event)


def _sse_event(block):
    name, data = b"", []
    for line in block.split(b"\n"):
        field, _, value = line.partition(b":")
        value = value[1:] if value.startswith(b" ") else value
        if field == b"event":
            name = value
        elif field == b"data":
            data.append(value)
    payload = json.loads(b"\n".join(data)) if data else {}
    kind = payload.get("type") if isinstance(payload, dict) else None
    return kind or name.decode(), payload, block + b"\n\n"


async def _bedrock_batches(response):
    """InvokeModelWithResponseStream's AWS event-stream frames, decoded by botocore, as lists of Anthropic
    server-sent events (one list per read); Bedrock's invocation metrics are left out."""
    frames = EventStreamBuffer()
    async for chunk in response.content.iter_any():
        frames.add_data(chunk)
        events = _decoded_events(_bedrock_event, frames)
        if events:
            yield events
            if events[-1][0] == BROKEN:
                return


def _bedrock_event(frame):
    headers = frame.headers
    if headers.get(":message-type") != "event":  # an exception frame: its type and message, as the SDK raises it
        body = _decoded(frame.payload)
        message = body.get("message") or body.get("Message") if isinstance(body, dict) else body
        code = headers.get(":exception-type") or headers.get(":error-code") or "internalServerException"
        return "error", {"type": "error", "error": {"type": code, "message": str(message or "")}}, b""
    if headers.get(":event-type") != "chunk":
        return None
    payload = json.loads(base64.b64decode(json.loads(frame.payload)["bytes"]))
    if BEDROCK_METRICS in payload:
        payload.pop(BEDROCK_METRICS)
    kind = payload.get("type") or "message"
    return kind, payload, b"event: " + kind.encode() + b"\ndata: " + json.dumps(payload, separators=(",", ":")).encode() \
        + b"\n\n"


class ForwardedStream:
    """Server-sent event bytes (what arrived together, in one piece), recorded once when the stream ends,
    however it ends: "ok", the error kind (with the tokens delivered so far), or "abandoned" when the
    caller stops early (aclose())."""

    def __init__(self, attempt, wire, response, batches, first):
        self._attempt, self._wire, self._response, self._batches = attempt, wire, response, batches
        self._pending = first
        self._error = None  # an error event read behind events not yet delivered
        self._started = attempt.started
        self._accumulator = MessageAccumulator()
        self._recorded = False
        self.deltas, self.ttft_ms, self.completed = 0, None, False
        self.provider_name, self.provider_kind = attempt.settings.name, attempt.settings.kind
        self.model_id, self.failed_over = wire.model_id, attempt.failed_over
        self.request_id = _request_id(response.headers)

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self._recorded:
            raise StopAsyncIteration
        if self._error is not None:
            self._fail(self._error)
        if self._pending is not None:
            batch, self._pending = self._pending, None
        else:
            try:
                batch = await anext(self._batches, None)
            except Exception as exc:
                self._fail(_transport_error(exc, self.provider_kind, mid_stream=True), exc)
            if batch is None:
                if self.completed:
                    self._finish("ok")
                    raise StopAsyncIteration
                self._fail(ProviderError(ErrorKind.STREAM_INTERRUPTED, f"The {self.provider_kind} stream ended "
                                         "before message_stop.", provider=self.provider_kind))
        delivered = []
        for event in batch:
            kind, payload, raw = event
            if kind == "error":
                self._error = _error_event(event, self._response, self._wire, self.provider_kind, mid_stream=True)
                break
            if kind == BROKEN:
                self._error = _transport_error(payload, self.provider_kind, mid_stream=True)
                break
            if kind == "content_block_delta":
                self.deltas += 1
                if self.ttft_ms is None:
                    self.ttft_ms = (time.monotonic() - self._started) * 1000
            elif kind == "message_stop":
                self.completed = True
            if isinstance(payload, dict) and kind != "ping":
                self._accumulator.add(payload)
            delivered.append(raw)
        if not delivered:
            self._fail(self._error)
        return b"".join(delivered)

    def _fail(self, error, cause=None):
        self._finish(error.kind.value, error)
        raise error from cause

    async def aclose(self):
        if not self._recorded:
            self._finish("abandoned")

    def _finish(self, status, error=None):
        if self._recorded:
            return
        self._recorded = True
        self._response.close()
        usage = self._accumulator.usage
        if status != "ok" and usage.output_tokens < self.deltas:
            usage = Usage(usage.input_tokens, self.deltas, usage.cache_write_5m_tokens,
                          usage.cache_write_1h_tokens, usage.cache_read_tokens)
        message = self._accumulator.message or {}
        record = functools.partial(self._attempt.record, status, self.model_id, usage, resolution=self._wire.resolution,
                                   request_id=self.request_id, ttft_ms=self.ttft_ms, stream=True,
                                   stop_reason=message.get("stop_reason"))
        if error is None:  # abandoned by the caller is not the provider's fault
            bookkeeping.submit(_succeeded, self._attempt, record)
        else:
            bookkeeping.submit(record)
