"""The Anthropic-compatible endpoint: a plain ASGI app beside Django (moments_admin/asgi.py routes /v1/ here).

    POST /v1/messages                JSON, or SSE when "stream": true
    POST /v1/messages/count_tokens   {"input_tokens": n}
    GET  /v1/models, /v1/models/{id}

No ORM query on the request path in the steady state: keys come from providers.gateway.keys' in-process
table, the chain from providers.snapshot. Each key's cache policy (providers.gateway.caching) decides
whether the response cache answers (a hit is replayed as JSON or as the exact SSE sequence without an
upstream call; a hot one straight from memory on the event loop, providers.gateway.memory_hits) and
whether the call path places prompt-caching breakpoints. A call is prepared in a worker thread and
forwarded as bytes on the event loop by the choke point's asynchronous twin (providers.calls_async);
a call that fills the response cache, or a provider the forwarding path does not cover, goes through
providers.calls.invoke in a worker thread. Either way failover, retries, breakers and usage records
are the choke point's. A stream fails over only before its first event; after that a failure ends it
with an Anthropic `error` event.
"""
import asyncio
import functools
import json
import logging
import threading

from anyio import to_thread
from django.conf import settings
from django.db import close_old_connections

from providers import snapshot
from providers.call_records import CallContext
from providers.calls import CallResult, invoke
from providers.calls_async import ForwardedResult, ForwardedStream, Plan, invoke_async, plan_call
from providers.client_pool import client_for
from providers.clients.errors import ErrorKind, ProviderError
from providers.gateway import errors
from providers.gateway.access import authenticate, check_budget, check_model
from providers.gateway.caching import cache_mode, prompt_caching_on
from providers.gateway.keys import keys
from providers.gateway.memory_hits import hit_from_memory
from providers.gateway.model_list import available_models, page
from providers.gateway.requests import Request, with_betas
from providers.response_cache_calls import CacheHit, StoringStream, look_up, store_answer

log = logging.getLogger(__name__)
JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
               (b"x-accel-buffering", b"no")]
_END = object()


def _header_value(text):
    """Printable ASCII only: a value that came from a request or a provider cannot split a header."""
    text = str(text or "")[:300]
    if text.isascii() and text.isprintable():
        return text.encode()
    return "".join(c if " " <= c <= "~" else "?" for c in text).encode()


def _call_headers(request, provider_name, model_id, failed_over, upstream_id=None):
    headers = [(b"request-id", request.id.encode()), (b"x-moments-provider", _header_value(provider_name)),
               (b"x-moments-model-id", _header_value(model_id)),
               (b"x-moments-failed-over", b"true" if failed_over else b"false")]
    if upstream_id:
        headers.append((b"x-moments-upstream-request-id", _header_value(upstream_id)))
    if request.cache_status:
        headers.append((b"x-moments-cache", request.cache_status.encode()))
    return headers


def in_worker(function):
    """Work run in a worker thread: like Django at the start of a request, drop a database connection
    that broke or outlived CONN_MAX_AGE, since these long-lived threads never see request signals."""

    @functools.wraps(function)
    def wrapped(*args):
        close_old_connections()
        return function(*args)

    return wrapped


def prepare_message(request):
    """(request dict for invoke, stream?, context, response cache mode, key entry): authenticated,
    parsed and checked. Runs in a thread."""
    entry = authenticate(request.headers, request.address)
    data = request.checked_json()
    stream = data.pop("stream", False)
    if not isinstance(stream, bool):
        raise errors.invalid("stream must be true or false.")
    check_model(entry, data.get("model"))
    check_budget(entry)
    mode = cache_mode(entry, request.headers, data.get("model"))
    keys.mark_used(entry)
    context = CallContext(purpose="gateway", gateway_key=entry.label,
                          prompt_caching=prompt_caching_on(entry, request.headers))
    return with_betas(request, data), stream, context, mode, entry


@in_worker
def create_message(request):
    """A CacheHit, a CallResult or a (Storing)CallStream. Storing an answer writes the shared cache
    only; its index row is written in the background (no database write on the request path)."""
    data, stream, context, mode, entry = prepare_message(request)
    key, hit = look_up(data, mode, None, context, stream=stream)
    request.cache_status = None if mode == "skip" else "hit" if hit is not None else \
        "refresh" if mode == "refresh" else "miss"
    if hit is not None:
        return hit
    if key is None:  # no response cache to fill: forwarded as bytes on the event loop where it can be
        plan = plan_call(data, context, stream=stream)
        if plan is not None:
            return plan
    ttl = entry.response_cache_ttl
    if stream:
        opened = invoke(None, data, context, stream=True)
        return StoringStream(opened, key, data, None, ttl=ttl, index_now=False) if key is not None else opened
    result = invoke(None, data, context)
    store_answer(key, data, result, None, ttl=ttl, index_now=False)
    return result


@in_worker
def count_tokens(request):
    entry = authenticate(request.headers, request.address)
    data = request.checked_json()
    check_model(entry, data.get("model"))
    check_budget(entry)
    data = with_betas(request, data)
    data.setdefault("max_tokens", 1)  # not a count_tokens field; the shared request check wants one
    chain = snapshot.current().chain
    if not chain:
        raise ProviderError(ErrorKind.CONFIGURATION, snapshot.current().error or "No provider is configured.")
    for index, provider in enumerate(chain):
        try:
            return {"input_tokens": client_for(provider).count_tokens(data)}
        except ProviderError as error:
            movable = error.triggers_failover or error.kind is ErrorKind.UNSUPPORTED
            if not movable or index == len(chain) - 1:
                raise
            log.info("count_tokens: %s could not count (%s); trying %s", provider.name, error.kind.value,
                     chain[index + 1].name)
    raise AssertionError("unreachable")


@in_worker
def list_models(request):
    entry = authenticate(request.headers, request.address)
    return page(available_models(entry.allowed_models))


@in_worker
def get_model(request, model_id):
    entry = authenticate(request.headers, request.address)
    for model in available_models(entry.allowed_models):
        if model["id"] == model_id:
            return model
    raise errors.not_found(f"No model '{model_id[:200]}' is served by this gateway.")


class Gateway:
    def __init__(self, max_body_bytes=None):
        self.max_body_bytes = max_body_bytes

    @property
    def limit(self):
        return self.max_body_bytes or settings.GATEWAY_MAX_BODY_BYTES

    async def __call__(self, scope, receive, send):
        assert scope["type"] == "http"
        request = Request(scope, b"")
        started = [False]

        async def tracked_send(message):
            if message["type"] == "http.response.start":
                started[0] = True
            await send(message)

        try:
            await self.route(scope, receive, tracked_send, request)
        except errors.GatewayError as error:
            await self.error(tracked_send, request, error, started[0])
        except ProviderError as error:
            await self.error(tracked_send, request, errors.from_provider_error(error), started[0])
        except Exception:
            log.exception("Gateway request %s %s failed", request.method, request.path)
            await self.error(tracked_send, request, errors.GatewayError(
                500, "api_error", "The gateway failed unexpectedly; the error is logged."), started[0])

    async def route(self, scope, receive, send, request):
        path, method = request.path.rstrip("/"), request.method
        if path == "/v1/messages":
            self.require(method, "POST")
            request.body = await self.read_body(receive, request)
            answer = hit_from_memory(request) or await to_thread.run_sync(create_message, request)
            if isinstance(answer, Plan):
                answer = await invoke_async(answer)
            if isinstance(answer, ForwardedResult):
                headers = _call_headers(request, answer.provider_name, answer.model_id, answer.failed_over,
                                        answer.request_id)
                await self.respond_bytes(send, 200, answer.body, headers)
            elif isinstance(answer, ForwardedStream):
                await self.forward(receive, send, request, answer)
            elif isinstance(answer, CacheHit):
                await self.replay(send, request, answer)
            elif isinstance(answer, CallResult):
                headers = _call_headers(request, answer.provider_name, answer.model_id, answer.failed_over,
                                        answer.request_id)
                await self.respond(send, 200, answer.message, headers)
            else:
                await self.stream(receive, send, request, answer)
        elif path == "/v1/messages/count_tokens":
            self.require(method, "POST")
            request.body = await self.read_body(receive, request)
            answer = await to_thread.run_sync(count_tokens, request)
            await self.respond(send, 200, answer, [(b"request-id", request.id.encode())])
        elif path == "/v1/models":
            self.require(method, "GET")
            answer = await to_thread.run_sync(list_models, request)
            await self.respond(send, 200, answer, [(b"request-id", request.id.encode())])
        elif path.startswith("/v1/models/"):
            self.require(method, "GET")
            answer = await to_thread.run_sync(get_model, request, path.removeprefix("/v1/models/"))
            await self.respond(send, 200, answer, [(b"request-id", request.id.encode())])
        else:
            raise errors.not_found(f"No endpoint {path[:200]}: this gateway serves POST /v1/messages, "
                                   "POST /v1/messages/count_tokens and GET /v1/models.")

    @staticmethod
    def require(method, expected):
        if method != expected:
            raise errors.GatewayError(405, "invalid_request_error", f"Use {expected} for this endpoint.")

    async def read_body(self, receive, request):
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            raise errors.too_large(self.limit)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise errors.invalid("The client disconnected while sending the request.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                raise errors.too_large(self.limit)
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    async def respond(self, send, status, payload, headers=()):
        await self.respond_bytes(send, status, _json_bytes(payload), headers)

    async def respond_bytes(self, send, status, body, headers=()):
        await send({"type": "http.response.start", "status": status,
                    "headers": [*JSON_HEADERS, (b"content-length", str(len(body)).encode()), *headers]})
        await send({"type": "http.response.body", "body": body})

    async def error(self, send, request, error, started):
        if started:  # the response has begun (a stream): nothing more can be said in HTTP terms
            log.warning("Gateway error after the response started: %s", error.message)
            return
        await self.respond(send, error.status, error.body(request.id),
                           [(b"request-id", request.id.encode()), *error.headers()])

    async def replay(self, send, request, hit):
        """A response cache hit: the stored message as JSON, or as the API's SSE event sequence."""
        headers = _call_headers(request, hit.provider_name, hit.model_id, False)
        if not hit.record.stream:
            await self.respond_bytes(send, 200, hit.rendered("json", lambda: _json_bytes(hit.message)), headers)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [*SSE_HEADERS, *headers]})
        body = hit.rendered("sse", lambda: b"".join(sse(event) for event in hit.events()))
        await send({"type": "http.response.body", "body": body})

    async def stream(self, receive, send, request, call_stream):
        """Relay the already-opened CallStream as SSE, one flushed write per event. One worker thread
        reads the whole stream and hands events to the event loop (no thread hop per event)."""
        loop, queue, stopping = asyncio.get_running_loop(), asyncio.Queue(), threading.Event()

        def hand_over(item):
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the event loop is gone (server shutdown)
                stopping.set()

        def produce():
            try:
                for event in call_stream:
                    if stopping.is_set():
                        call_stream.close()  # the client left: recorded as "abandoned"
                        return
                    hand_over(event)
            except ProviderError as error:
                hand_over(error)
            finally:
                hand_over(_END)

        def left():
            stopping.set()
            queue.put_nowait(_END)

        watcher = asyncio.ensure_future(_watch_disconnect(receive, left))
        _keep(asyncio.ensure_future(to_thread.run_sync(produce)))
        started = False
        try:
            while (item := await queue.get()) is not _END:
                if isinstance(item, ProviderError):
                    if not started:
                        raise item
                    await _send_error_event(send, request, item)
                    break
                if not started:
                    started = True
                    await _start_sse(send, request, call_stream)
                await send({"type": "http.response.body", "body": sse(item), "more_body": True})
        finally:
            watcher.cancel()
            stopping.set()
        if started:
            await send({"type": "http.response.body", "body": b""})

    async def forward(self, receive, send, request, stream):
        """Relay a ForwardedStream (its first event already read) as it arrives, on the event loop.
        The client leaving ends the upstream stream, recorded as "abandoned"."""
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch_disconnect(receive, gone.set))
        started = False
        try:
            async for chunk in stream:
                if gone.is_set():
                    return
                if not started:
                    started = True
                    await _start_sse(send, request, stream)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except ProviderError as error:
            if not started:
                raise
            await _send_error_event(send, request, error)
        finally:
            watcher.cancel()
            await stream.aclose()
        await send({"type": "http.response.body", "body": b""})


async def _watch_disconnect(receive, on_disconnect):
    while (await receive())["type"] != "http.disconnect":
        pass
    on_disconnect()


async def _start_sse(send, request, stream):
    """The SSE response's start, with the headers saying who served the stream."""
    await send({"type": "http.response.start", "status": 200, "headers": [
        *SSE_HEADERS, *_call_headers(request, stream.provider_name, stream.model_id, stream.failed_over,
                                     stream.request_id)]})


async def _send_error_event(send, request, error):
    """A failure after the stream began: the API's `error` event ends it."""
    mapped = errors.from_provider_error(error)
    await send({"type": "http.response.body", "more_body": True, "body": sse(
        {"type": "error", "error": {"type": mapped.error_type, "message": mapped.message}}, request_id=request.id)})


_background = set()


def _keep(task):
    """Hold a reference to a task that outlives its request (a stream reader finishing after a disconnect)."""
    _background.add(task)
    task.add_done_callback(_background.discard)


def _json_bytes(payload):
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


def sse(event, request_id=None):
    payload = dict(event)
    if request_id is not None:
        payload["request_id"] = request_id
    data = json.dumps(payload, separators=(",", ":"), default=str)
    return f"event: {payload.get('type', 'message')}\ndata: {data}\n\n".encode()


application = Gateway()
