"""Forwarded answers read off the wire: server-sent events and Bedrock's event-stream, as the API's events.

    batches = sse_batches(response) or bedrock_batches(response)    # lists of (type, data, bytes)
    ForwardedStream(attempt, wire, response, batches, first)        # what the gateway relays

The events that arrived together form one batch, sent to the client in one write. Bedrock's frames are
decoded by botocore's EventStreamBuffer (CRC-checked) and become `event: ...` / `data: ...` blocks
without Bedrock's own invocation metrics. A frame that cannot be decoded ends its batch as BROKEN, after
the events before it. Used by providers.calls_async, which opens the stream and reads its first batch.
"""
import base64
import functools
import json
import time

from botocore.eventstream import EventStreamBuffer

from providers.background import bookkeeping
from providers.clients.error_mapping import from_status
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.streaming import MessageAccumulator
from providers.clients.usage import Usage

BEDROCK_METRICS = "amazon-bedrock-invocationMetrics"
BROKEN = "broken"  # a frame that could not be decoded, in place of an event type


def transport_error(exc, provider, *, mid_stream=False):
    """A transport failure (aiohttp, a timeout, a frame that cannot be decoded) as a ProviderError."""
    if mid_stream:
        return ProviderError(ErrorKind.STREAM_INTERRUPTED, f"The {provider} stream broke: {type(exc).__name__}.",
                             provider=provider)
    if isinstance(exc, TimeoutError):
        return ProviderError(ErrorKind.TIMEOUT, f"{provider} did not answer in time.", provider=provider)
    return ProviderError(ErrorKind.CONNECTION, f"Could not reach {provider}: {type(exc).__name__}: "
                         f"{str(exc)[:200]}.", provider=provider)


def decoded_body(body):
    """An error answer's body: its JSON, or its text."""
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")[:2000]


def request_id_of(headers):
    return headers.get("request-id") or headers.get("x-amzn-requestid")


def succeeded(attempt, record):
    """Bookkeeping of a successful attempt: its usage record, then its breakers."""
    record()
    attempt.succeeded()


def error_event(event, response, wire, provider, *, mid_stream):
    """An `error` event (or Bedrock exception frame) mapped as the SDK path maps the SDK's error for it."""
    return from_status(response.status, response.headers, event[1], provider=provider, model_id=wire.model_id,
                       region=wire.region, mid_stream=mid_stream)


async def sse_batches(response):
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


async def bedrock_batches(response):
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
        body = decoded_body(frame.payload)
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
        self.request_id = request_id_of(response.headers)

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
                self._fail(transport_error(exc, self.provider_kind, mid_stream=True), exc)
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
                self._error = error_event(event, self._response, self._wire, self.provider_kind, mid_stream=True)
                break
            if kind == BROKEN:
                self._error = transport_error(payload, self.provider_kind, mid_stream=True)
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
            bookkeeping.submit(succeeded, self._attempt, record)
        else:
            bookkeeping.submit(record)
