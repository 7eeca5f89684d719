"""OpenTelemetry traces of the call path: one span per provider attempt, following the GenAI
semantic conventions, emitted from the choke point's call records.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then
`configure()` installs an SDK TracerProvider with a batching OTLP/HTTP exporter (which reads the
standard OTEL_* variables: endpoint, headers, timeout) as the global provider, and registers
`observe_call` with `providers.call_records`. Off, nothing is registered, so a call pays nothing.

Each CallRecord (one per attempt: the primary, each fallback after a failover) becomes one CLIENT
span named "chat {requested model}", timed from the record's latency (it ends when the record is
emitted). The attributes are the GenAI ones (operation, provider, requested and served model,
tokens by kind, finish reasons, error.type) plus the router's own (`moments.*`: configured
provider name, purpose, failed over, cost, logical model). A CallRecord carries no prompt or
completion, so none can be exported from here.

The anthropic SDK has its own OpenTelemetry support: with a global provider installed it emits a
span per SDK request (each retry, since our clients set max_retries=0) with HTTP details and its
own gen_ai attributes, content off unless ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE=content.
Those spans are kept (`ANTHROPIC_OPEN_TELEMETRY=false` turns them off); they are separate from
ours because ours is written from the record after the attempt, and the SDK does not know the
router's facts (provider names, failover, logical model, cost) nor the boto3 calls.

No Django here (plain Python: the settings it needs are environment variables).
"""
import logging
import os
import time

log = logging.getLogger(__name__)
SCOPE = "moments_admin.calls"
PROVIDER_NAMES = {"anthropic": "anthropic", "bedrock": "aws.bedrock", "aws_platform": "anthropic"}

_tracer = None
_provider = None


def endpoint_configured(environ=None):
    env = os.environ if environ is None else environ
    if (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true":
        return False
    return bool((env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip())


def configure(*, tracer_provider=None, set_global=True):
    """Start tracing: with `tracer_provider` (tests: an in-memory exporter's), else from the
    environment (nothing happens without an OTLP endpoint). Returns True when spans are emitted."""
    global _tracer, _provider
    if tracer_provider is None:
        if not endpoint_configured():
            return False
        tracer_provider = _otlp_provider()
        if set_global:
            from opentelemetry import trace

            trace.set_tracer_provider(tracer_provider)  # the anthropic SDK's own spans go there too
    _provider = tracer_provider
    _tracer = tracer_provider.get_tracer(SCOPE)
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
    global _tracer, _provider
    _tracer = _provider = None


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
