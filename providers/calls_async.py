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
import functools
import json
import logging
import time
from dataclasses import dataclass

import aiohttp
from anyio import to_thread
from django.conf import settings as django_settings

from providers import breaker_gate, tracing
from providers.background import bookkeeping
from providers.calls import NO_BREAKER_PURPOSES, Attempt, candidates_for, fail_over_or_raise, unexpected_error
from providers.client_pool import client_for
from providers.clients.error_mapping import from_status
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.guardrails import with_agent_guardrail
from providers.clients.retry import call_with_retries_async
from providers.clients.usage import Usage
from providers.clients.wire import Unsupported, wire_request
from providers.forwarded_streams import (
    BROKEN,
    ForwardedStream,
    bedrock_batches,
    decoded_body,
    error_event,
    request_id_of,
    sse_batches,
    succeeded,
    transport_error,
)
from providers.upstream_sessions import session_for

log = logging.getLogger(__name__)


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


async def _error_answer(response, wire, provider):
    body = await response.read()
    return from_status(response.status, response.headers, decoded_body(body), provider=provider,
                       model_id=wire.model_id, region=wire.region)


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
            raise transport_error(exc, settings.kind) from exc

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
    bookkeeping.submit(succeeded, attempt, functools.partial(
        attempt.record, "ok", wire.model_id, usage, resolution=wire.resolution, request_id=request_id_of(headers),
        latency_ms=latency_ms, stop_reason=message.get("stop_reason")))
    return ForwardedResult(body, usage, settings.name, settings.kind, wire.model_id, request_id_of(headers),
                           latency_ms, attempt.failed_over)


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
            batches = (bedrock_batches if wire.event_stream else sse_batches)(response)
            first = await anext(batches, None)
            if first is None:
                raise ProviderError(ErrorKind.CONNECTION, f"The {settings.kind} stream closed before its first "
                                    "event.", provider=settings.kind)
            if first[0][0] == "error":
                raise error_event(first[0], response, wire, settings.kind, mid_stream=False)
            if first[0][0] == BROKEN:
                raise first[0][1]
            return response, batches, first
        except BaseException as exc:
            if response is not None:
                response.close()
            if isinstance(exc, ProviderError) or not isinstance(exc, Exception):
                raise
            if isinstance(exc, (aiohttp.ClientError, TimeoutError)):
                raise transport_error(exc, settings.kind) from exc
            raise ProviderError(ErrorKind.CONNECTION, f"The {settings.kind} stream broke before its first event: "
                                f"{type(exc).__name__}.", provider=settings.kind) from exc

    try:
        (response, batches, first), _ = await call_with_retries_async(
            open_and_peek, settings.retry, deadline=deadline, describe=f"{settings.kind} stream {wire.model_id}")
    except ProviderError as error:
        bookkeeping.submit(attempt.failed, error)
        raise
    return ForwardedStream(attempt, wire, response, batches, first)


