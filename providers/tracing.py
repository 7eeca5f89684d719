"""OpenTelemetry traces of the call path, following the GenAI semantic conventions.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then
`configure()` installs an SDK TracerProvider with a batching OTLP/HTTP exporter (which reads the
standard OTEL_* variables: endpoint, headers, timeout) as the global provider, sets `enabled` and
registers `observe_call` with `providers.call_records`. Off, `providers.calls.invoke` reads one
module flag and nothing is registered, so a call pays nothing more.

The spans of one call:
- `invoke {model}` (INTERNAL): the whole call, from `traced_call`, which `invoke` runs the call path
  in; for a stream it ends when the stream does. Provider that served, failed over, error.type.
- `chat {model}` (CLIENT): one per provider attempt (the primary, each fallback after a failover),
  from the attempt's CallRecord (`observe_call`), timed by the record's latency. The GenAI
  attributes (operation, provider, requested and served model, tokens by kind, finish reasons,
  error.type) and the router's own (`moments.*`: configured provider name, purpose, failed over,
  cost, logical model). A CallRecord holds no prompt or completion, so none is exported from here.
- `anthropic.messages.create`: the anthropic SDK's own OpenTelemetry support, which is used: with
  our provider global it adds a span per SDK request (each retry: our clients set max_retries=0)
  with HTTP details, children of the call's span; content off unless the SDK is told otherwise
  (ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE=content); ANTHROPIC_OPEN_TELEMETRY=false removes them.
  The SDK does not know the router's facts (provider names, failover, logical model, cost) nor the
  boto3 calls, which is why the router's spans exist.

No Django here (plain Python: the settings it needs are environment variables).
"""
import logging
import os
import time

from providers.clients.registry import KINDS

log = logging.getLogger(__name__)
SCOPE = "moments_admin.calls"
PROVIDER_NAMES = {kind: info.otel_system for kind, info in KINDS.items()}

_tracer = None
_provider = None
enabled = False  # read by providers.calls.invoke on every call
_stream_classes = {}  # CallStream class -> its subclass that ends the call span with the stream


def endpoint_configured(environ=None):
    env = os.environ if environ is None else environ
    if (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true":
        return False
    return bool((env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip())


def configure(*, tracer_provider=None, set_global=True):
    """Start tracing: with `tracer_provider` (tests: an in-memory exporter's), else from the
    environment (nothing happens without an OTLP endpoint). Returns True when spans are emitted."""
    global _tracer, _provider, enabled
    if tracer_provider is None:
        if not endpoint_configured():
            return False
        tracer_provider = _otlp_provider()
        if set_global:
            from opentelemetry import trace

            trace.set_tracer_provider(tracer_provider)  # the anthropic SDK's own spans go there too
    _provider = tracer_provider
    _tracer = tracer_provider.get_tracer(SCOPE)
    enabled = True
    from providers.call_records import add_call_observer

    add_call_observer(observe_call)
    return True


def _otlp_provider():
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME") or "moments-admin"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def stop():
    """Stop emitting spans (tests; the observer stays registered and returns at once)."""
    global _tracer, _provider, enabled
    _tracer = _provider = None
    enabled = False


def flush(timeout_millis=5000):
    if _provider is not None and hasattr(_provider, "force_flush"):
        _provider.force_flush(timeout_millis)


def span_attributes(record):
    """The span's attributes from one CallRecord (GenAI semantic conventions, then moments.*)."""
    usage = record.usage
    cached_read, cache_writes = usage.cache_read_tokens, usage.cache_write_5m_tokens + usage.cache_write_1h_tokens
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDER_NAMES.get(record.provider_kind, record.provider_kind),
        "gen_ai.system": PROVIDER_NAMES.get(record.provider_kind, record.provider_kind),  # the older name
        "gen_ai.request.model": record.requested_model or record.model_id,
        "gen_ai.response.model": record.model_id,
        # As the conventions and the SDK count it: every input token, cached or not.
        "gen_ai.usage.input_tokens": usage.input_tokens + cached_read + cache_writes,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": cached_read,
        "gen_ai.usage.cache_creation.input_tokens": cache_writes,
        "moments.provider.name": record.provider_name,
        "moments.purpose": record.context.purpose,
        "moments.status": record.status,
        "moments.failed_over": bool(record.failed_over),
        "moments.stream": bool(record.stream),
    }
    if record.stop_reason:
        attributes["gen_ai.response.finish_reasons"] = [record.stop_reason]
    if record.request_id:
        attributes["moments.request_id"] = record.request_id
    if record.logical_model:
        attributes["moments.logical_model"] = record.logical_model
    if record.region:
        attributes["moments.region"] = record.region
    if record.cost_usd is not None:
        attributes["moments.cost_usd"] = float(record.cost_usd)
    if record.ttft_ms is not None:
        attributes["gen_ai.response.time_to_first_chunk"] = record.ttft_ms / 1000
    if record.context.agent:
        attributes["gen_ai.agent.name"] = record.context.agent
    if record.status not in ("ok", "abandoned"):
        attributes["error.type"] = record.status
    return attributes


def observe_call(record):
    tracer = _tracer
    if tracer is None:
        return
    from opentelemetry.trace import SpanKind, Status, StatusCode

    end = time.time_ns()
    start = end - int((record.latency_ms or 0) * 1_000_000)
    name = f"chat {record.requested_model or record.model_id}"
    span = tracer.start_span(name, kind=SpanKind.CLIENT, start_time=start, attributes=span_attributes(record))
    if record.status not in ("ok", "abandoned"):
        span.set_status(Status(StatusCode.ERROR, record.status))
    span.end(end_time=end)


def traced_call(run, chain, request, context, stream):
    """`run` (the call path) inside a span for the whole call: its attempts' spans (observe_call) and
    the anthropic SDK's spans (one per request, each retry) are its children. For a stream the span
    ends when the stream does."""
    tracer = _tracer
    if tracer is None:
        return run(chain, request, context, stream=stream)
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind

    model = request.get("model") if isinstance(request, dict) else None
    span = tracer.start_span(f"invoke {model}", kind=SpanKind.INTERNAL, attributes={
        "gen_ai.operation.name": "chat", "gen_ai.request.model": str(model or ""),
        "moments.purpose": context.purpose, "moments.stream": bool(stream)})
    parent = trace.set_span_in_context(span)
    token = otel_context.attach(parent)
    try:
        result = run(chain, request, context, stream=stream)
    except BaseException as error:
        _end_call(span, error=error)
        raise
    finally:
        otel_context.detach(token)
    if not (stream and _follow_stream(result, span, parent)):
        _end_call(span, result=result)
    return result


def _follow_stream(stream, span, parent):
    """Make `stream` end `span` when it records its end, with `parent` current meanwhile (so the
    streamed attempt's span is a child). False when the stream has no `_finish` to follow."""
    base = type(stream)
    if getattr(base, "_finish", None) is None:
        return False
    traced = _stream_classes.get(base)
    if traced is None:
        def _finish(self, status, error=None):
            from opentelemetry import context as otel_context

            span_, self._trace_span = self._trace_span, None
            token = otel_context.attach(self._trace_parent) if span_ is not None else None
            try:
                base._finish(self, status, error)
            finally:
                if token is not None:
                    otel_context.detach(token)
                    _end_call(span_, result=self, error=error)

        traced = _stream_classes[base] = type(f"Traced{base.__name__}", (base,), {"_finish": _finish})
    stream._trace_span, stream._trace_parent = span, parent
    stream.__class__ = traced
    return True


def _end_call(span, *, result=None, error=None):
    from opentelemetry.trace import Status, StatusCode

    if result is not None:
        span.set_attribute("moments.provider.name", str(getattr(result, "provider_name", "")))
        kind = str(getattr(result, "provider_kind", ""))
        span.set_attribute("gen_ai.provider.name", PROVIDER_NAMES.get(kind, kind))
        span.set_attribute("moments.failed_over", bool(getattr(result, "failed_over", False)))
        model_id = getattr(result, "model_id", None)
        if isinstance(model_id, str) and model_id:
            span.set_attribute("gen_ai.response.model", model_id)
    if error is not None and isinstance(error, Exception):
        kind = getattr(getattr(error, "kind", None), "value", None) or type(error).__name__
        span.set_attribute("error.type", kind)
        span.set_status(Status(StatusCode.ERROR, kind))
    span.end()
