"""OpenTelemetry spans from the call path: GenAI attributes, one span per attempt, no prompt or
completion text, OTLP/HTTP export only when an endpoint is set."""
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from providers import tracing
from providers.call_records import CallContext
from providers.calls import invoke
from providers.fakes import Fault
from tests.celery_worker import ROOT
from tests.fake_providers import anthropic_settings, bedrock_settings

pytestmark = pytest.mark.django_db
PROMPT = "Summarize the confidential plan 7f3a9c for the board"


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.configure(tracer_provider=provider, set_global=False)
    yield exporter
    tracing.stop()


def _request(model="haiku"):
    return {"model": model, "max_tokens": 40, "system": "You are the board's assistant.",
            "messages": [{"role": "user", "content": PROMPT}]}


def _split(exporter):
    """(the call's span, its attempts' spans), checking that every attempt is a child of the call."""
    finished = exporter.get_finished_spans()
    (call,) = [s for s in finished if s.name.startswith("invoke ")]
    attempts = [s for s in finished if s.name.startswith("chat ")]
    assert len(finished) == 1 + len(attempts)
    assert all(a.parent.span_id == call.context.span_id and a.context.trace_id == call.context.trace_id
               for a in attempts)
    return call, attempts


def _text_of(message):
    return " ".join(block.get("text", "") for block in message["content"] if block.get("type") == "text")


def test_a_call_makes_one_span_with_the_genai_attributes_and_no_prompt_or_completion(spans, anthropic_fake):
    result = invoke([anthropic_settings(anthropic_fake, name="primary")], _request(),
                    CallContext(purpose="client", agent="summarizer"))
    call, (span,) = _split(spans)
    assert dict(call.attributes)["moments.provider.name"] == "primary" and call.end_time >= span.end_time
    attributes = dict(span.attributes)
    assert span.name == "chat haiku" and span.kind is SpanKind.CLIENT
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "anthropic" and attributes["gen_ai.system"] == "anthropic"
    assert attributes["gen_ai.request.model"] == "haiku"
    assert attributes["gen_ai.response.model"] == result.model_id
    usage = result.usage
    assert attributes["gen_ai.usage.input_tokens"] == (usage.input_tokens + usage.cache_read_tokens
                                                       + usage.cache_write_5m_tokens + usage.cache_write_1h_tokens)
    assert attributes["gen_ai.usage.output_tokens"] == usage.output_tokens > 0
    assert list(attributes["gen_ai.response.finish_reasons"]) == [result.message["stop_reason"]]
    assert attributes["moments.provider.name"] == "primary" and attributes["moments.purpose"] == "client"
    assert attributes["moments.cost_usd"] > 0 and attributes["gen_ai.agent.name"] == "summarizer"
    assert span.status.status_code is StatusCode.UNSET and span.end_time > span.start_time
    exported = json.dumps({k: list(v) if isinstance(v, tuple) else v for k, v in attributes.items()})
    completion = _text_of(result.message)
    assert PROMPT not in exported and "7f3a9c" not in exported and "board's assistant" not in exported
    assert completion and completion not in exported


def test_a_failover_makes_one_span_per_attempt_the_failed_one_marked(spans, anthropic_fake, bedrock_fake):
    bedrock_fake.inject(Fault("unavailable", times=None))
    chain = [bedrock_settings(bedrock_fake, name="bedrock-primary"), anthropic_settings(anthropic_fake, name="backup")]
    result = invoke(chain, _request(), CallContext(purpose="client"))
    assert result.provider_name == "backup"
    call, (failed, served) = _split(spans)
    assert dict(call.attributes)["moments.failed_over"] is True
    assert dict(call.attributes)["moments.provider.name"] == "backup"
    assert dict(failed.attributes)["gen_ai.provider.name"] == "aws.bedrock"
    assert dict(failed.attributes)["error.type"] == "unavailable" and failed.status.status_code is StatusCode.ERROR
    assert dict(failed.attributes)["gen_ai.usage.output_tokens"] == 0
    assert dict(served.attributes)["moments.failed_over"] is True
    assert dict(served.attributes)["moments.provider.name"] == "backup" and "error.type" not in served.attributes


def test_a_stream_gets_its_span_when_it_ends_with_the_tokens_streamed(spans, anthropic_fake):
    stream = invoke([anthropic_settings(anthropic_fake, name="primary")], _request(), CallContext(purpose="client"),
                    stream=True)
    assert spans.get_finished_spans() == (), "the call's span lasts as long as the stream"
    text = "".join(e["delta"].get("text", "") for e in stream if e["type"] == "content_block_delta")
    call, (span,) = _split(spans)
    assert dict(call.attributes)["moments.stream"] is True and call.end_time >= span.end_time
    attributes = dict(span.attributes)
    assert attributes["moments.stream"] is True and attributes["gen_ai.usage.output_tokens"] > 0
    assert list(attributes["gen_ai.response.finish_reasons"]) == ["end_turn"]
    assert attributes["gen_ai.response.time_to_first_chunk"] > 0
    assert text and text not in json.dumps({k: str(v) for k, v in attributes.items()})


_EXPORT = """
from providers import call_records, tracing
from providers.call_records import CallContext, CallRecord
from providers.clients.usage import Usage
print("configured" if tracing.configure() else "off")
print("observer" if tracing.observe_call in call_records._observers and tracing.enabled else "no observer")
record = CallRecord(provider_name="bedrock-prod", provider_kind="bedrock", requested_model="sonnet",
                    model_id="us.anthropic.claude-sonnet-5-5-v1:0", status="ok", context=CallContext(purpose="client"),
                    usage=Usage(120, 30), latency_ms=12.5, stop_reason="end_turn")
call_records.emit(record)
import sys
if len(sys.argv) > 1:  # a real SDK call through the provider layer: the SDK's own span joins ours
    from providers.clients.anthropic_client import AnthropicClient
    from tests.fake_providers import anthropic_settings
    class Server:
        url = sys.argv[1]
    request = {"model": "haiku", "max_tokens": 20, "messages": [{"role": "user", "content": "PROMPT-5c1e do not export"}]}
    client = AnthropicClient(anthropic_settings(Server))
    tracing.traced_call(lambda _chain, req, _context, stream: client.create_message(req), None, request,
                        CallContext(purpose="client"), False)
tracing.flush()
"""


class _Collector(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        _Collector.received.append((self.path, request))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


def _run(env, *args):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ANTHROPIC_OPEN_TELEMETRY"))}
    out = subprocess.run([sys.executable, "-c", _EXPORT, *args], cwd=ROOT, env={**clean, **env},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_a_call_that_fails_everywhere_ends_its_span_with_the_error(spans, anthropic_fake):
    import pytest as _pytest

    from providers.clients.errors import ProviderError

    anthropic_fake.inject(Fault("unavailable", times=None))
    with _pytest.raises(ProviderError):
        invoke([anthropic_settings(anthropic_fake, name="primary")], _request(), CallContext(purpose="client"))
    call, (attempt,) = _split(spans)
    assert call.status.status_code is StatusCode.ERROR and dict(call.attributes)["error.type"] == "unavailable"


def test_a_stream_stopped_early_ends_its_call_span(spans, anthropic_fake):
    with invoke([anthropic_settings(anthropic_fake, name="primary")], _request(), CallContext(purpose="client"),
                stream=True) as stream:
        next(iter(stream))
    call, (attempt,) = _split(spans)
    assert dict(attempt.attributes)["moments.status"] == "abandoned"


def test_nothing_is_traced_or_registered_without_an_endpoint():
    assert _run({}) == ["off", "no", "observer"]


def test_spans_are_exported_over_otlp_http_when_the_endpoint_is_set(anthropic_server):
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert _run({"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
                     "OTEL_SERVICE_NAME": "moments-test"}, anthropic_server.url) == ["configured", "observer"]
    finally:
        server.shutdown()
    assert {path for path, _ in _Collector.received} == {"/v1/traces"}
    resource_spans = [r for _, request in _Collector.received for r in request.resource_spans]
    service = {a.key: a.value.string_value for a in resource_spans[0].resource.attributes}["service.name"]
    by_scope = {}
    for scope in (scope for r in resource_spans for scope in r.scope_spans):
        by_scope.setdefault(scope.scope.name, []).extend(scope.spans)
    span, call = sorted(by_scope[tracing.SCOPE], key=lambda s: s.name)  # "chat sonnet", then "invoke haiku"
    (sdk_span,) = by_scope["com.anthropic.sdk.python"]  # the SDK's own span, to the same exporter
    assert sdk_span.name == "anthropic.messages.create" and call.name == "invoke haiku"
    assert sdk_span.parent_span_id == call.span_id, "the SDK's span is a child of the call's span"
    assert "PROMPT-5c1e" not in str(sdk_span), "the SDK exports no content unless told to"
    attributes = {a.key: a.value for a in span.attributes}
    assert service == "moments-test" and span.name == "chat sonnet"
    assert attributes["gen_ai.provider.name"].string_value == "aws.bedrock"
    assert attributes["gen_ai.response.model"].string_value == "us.anthropic.claude-sonnet-5-5-v1:0"
    assert attributes["gen_ai.usage.input_tokens"].int_value == 120
    assert attributes["gen_ai.usage.output_tokens"].int_value == 30
    assert [v.string_value for v in attributes["gen_ai.response.finish_reasons"].array_value.values] == ["end_turn"]
