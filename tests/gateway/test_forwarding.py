"""The gateway's forwarding path (providers.calls_async): requests sent as bytes through a pooled aiohttp
session, signed by botocore for Bedrock (the fake verifies SigV4 and bearer keys), Bedrock's event-stream
turned into the API's SSE, usage recorded after the answer; what it does not cover goes through the SDK path."""
import json

import httpx2 as httpx
import pytest

from providers import crypto
from providers.background import bookkeeping
from providers.models import ProviderRouting
from tests.fake_providers import model_calls
from tests.gateway.conftest import gateway_sdk, make_bedrock
from tests.providers.conftest import BEDROCK_API_KEY
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = {"model": "haiku", "max_tokens": 32, "messages": [{"role": "user", "content": "Hello"}]}
API_EVENTS = ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
              "message_stop"]


def sse_events(text):
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


GUARDRAIL = {"version": "1", "blocked_input_words": ["forbidden"], "blocked_output_words": []}


@pytest.fixture
def bedrock_only(bedrock_api, transactional_db):
    def configure(**fields):
        bedrock_api.reset()
        bedrock_api.guardrails.update({"gr-forwarding": GUARDRAIL, "gr-fallback": GUARDRAIL})
        make_bedrock(server=bedrock_api, **fields)
        ProviderRouting.objects.create(pk=1, primary="bedrock", fallbacks=[])
        return bedrock_api

    yield configure
    bedrock_api.reset()
    bedrock_api.guardrails.clear()


def stream_through(gateway, key):
    with httpx.stream("POST", f"{gateway}/v1/messages", json={**HELLO, "stream": True}, timeout=30,
                      headers={"x-api-key": key}) as answer:
        body = answer.read().decode()
    bookkeeping.wait()  # the record is written after the answer (providers.background)
    return answer, body


@pytest.mark.parametrize("integration, path_end", [("invoke", "/invoke-with-response-stream"),
                                                   ("messages", "/anthropic/v1/messages")])
def test_a_bedrock_stream_is_signed_and_arrives_as_the_apis_event_sequence(gateway, gateway_key, bedrock_only,
                                                                          integration, path_end):
    fake = bedrock_only(bedrock_integration=integration)
    answer, body = stream_through(gateway, gateway_key[1])
    assert answer.status_code == 200 and answer.headers["x-moments-provider"] == "bedrock"
    events = sse_events(body)
    names = [name for name, _data in events if name != "ping"]
    assert [n for i, n in enumerate(names) if i == 0 or n != names[i - 1]] == API_EVENTS
    assert all(data["type"] == name for name, data in events)
    assert "amazon-bedrock-invocationMetrics" not in body  # Bedrock's own metrics stay out of the API's events
    (call,) = model_calls(fake)
    assert call.path.endswith(path_end) and call.status == 200  # the fake refuses a bad signature with 403
    headers = {name.lower(): value for name, value in call.headers.items()}
    assert headers["authorization"] == "<redacted>" and "x-amz-date" in headers
    record = UsageRecord.objects.get()
    assert (record.status, record.stream, record.provider_name) == ("ok", True, "bedrock")
    assert record.output_tokens > 0 and record.ttft_ms is not None and record.gateway_key == "team-web"


def test_a_bedrock_api_key_is_sent_as_a_bearer_token(gateway, gateway_key, bedrock_only):
    fake = bedrock_only(auth_mode="api_key", bedrock_api_key_env="",
                        bedrock_api_key_encrypted=crypto.encrypt(BEDROCK_API_KEY))
    with gateway_sdk(gateway, api_key=gateway_key[1]) as client:
        message = client.messages.create(**HELLO)
    assert message.content[0].text
    (call,) = model_calls(fake)
    assert call.status == 200 and "x-amz-date" not in {k.lower() for k in call.headers}


@pytest.mark.parametrize("integration", ["invoke", "messages"])
def test_a_created_message_is_the_providers_answer_with_its_usage_recorded(gateway, gateway_key, bedrock_only,
                                                                           integration):
    bedrock_only(bedrock_integration=integration)
    with gateway_sdk(gateway, api_key=gateway_key[1]) as client:
        raw = client.messages.with_raw_response.create(**HELLO)
    message = raw.parse()
    assert message.type == "message" and message.content[0].text and message.stop_reason == "end_turn"
    assert raw.headers["x-moments-model-id"] == UsageRecord.objects.get().model_id
    record = UsageRecord.objects.get()
    assert (record.status, record.stream) == ("ok", False)
    assert (record.input_tokens, record.output_tokens) == (message.usage.input_tokens, message.usage.output_tokens)


def test_a_provider_with_a_guardrail_is_served_through_the_sdk_path(gateway, gateway_key, bedrock_only):
    fake = bedrock_only(bedrock_integration="invoke", guardrail_identifier="gr-forwarding", guardrail_version="1")
    with gateway_sdk(gateway, api_key=gateway_key[1]) as client:
        assert client.messages.create(**HELLO).content[0].text
    (call,) = model_calls(fake)
    headers = {name.lower(): value for name, value in call.headers.items()}
    assert headers["x-amzn-bedrock-guardrailidentifier"] == "gr-forwarding"
    assert UsageRecord.objects.get().status == "ok"


def test_a_fallback_the_forwarding_path_does_not_cover_is_tried_through_the_sdk_path(gateway, gateway_key,
                                                                                     anthropic_api, bedrock_only):
    """Anthropic forwarded and failing (529 every time), then Bedrock with a guardrail through the SDK."""
    from providers.fakes import Fault
    from tests.providers.conftest import make_anthropic

    anthropic_api.reset()
    bedrock_only(bedrock_integration="invoke", guardrail_identifier="gr-fallback", guardrail_version="1", position=1)
    make_anthropic(server=anthropic_api)
    ProviderRouting.objects.update(primary="anthropic", fallbacks=["bedrock"])
    anthropic_api.inject(Fault("overloaded", times=None))
    try:
        with gateway_sdk(gateway, api_key=gateway_key[1]) as client:
            raw = client.messages.with_raw_response.create(**HELLO)
        assert raw.headers["x-moments-provider"] == "bedrock" and raw.headers["x-moments-failed-over"] == "true"
        assert raw.parse().content[0].text
        statuses = list(UsageRecord.objects.order_by("id").values_list("provider_name", "status"))
        assert statuses == [("anthropic", "overloaded"), ("bedrock", "ok")]
    finally:
        anthropic_api.reset()


@pytest.mark.parametrize("fault", ["stream_break", "malformed_frame"])
@pytest.mark.parametrize("integration", ["invoke", "messages"])
def test_a_bedrock_stream_breaking_after_its_first_event_ends_with_an_error_event(gateway, gateway_key, bedrock_only,
                                                                               integration, fault):
    from providers.fakes import Fault

    fake = bedrock_only(bedrock_integration=integration)
    fake.inject(Fault(fault, after_events=3))
    answer, body = stream_through(gateway, gateway_key[1])
    events = sse_events(body)
    assert answer.status_code == 200 and events[0][0] == "message_start"
    assert events[-1][0] == "error" and events[-1][1]["error"]["type"] == "api_error"
    record = UsageRecord.objects.get()
    assert record.status == "stream_interrupted" and record.output_tokens >= 1


def test_a_bedrock_throttle_before_the_first_event_is_retried(gateway, gateway_key, bedrock_only):
    from providers.fakes import Fault

    fake = bedrock_only(bedrock_integration="invoke")
    fake.inject(Fault("throttling", path_contains="/invoke"))
    answer, body = stream_through(gateway, gateway_key[1])
    assert answer.status_code == 200 and sse_events(body)[-1][0] == "message_stop"
    assert len(model_calls(fake)) == 2
    assert list(UsageRecord.objects.values_list("status", flat=True)) == ["ok"]  # one record per provider attempt


def test_a_provider_behind_tls_is_reached_with_its_ca_bundle(gateway, gateway_key, bedrock_tls_api, transactional_db):
    bedrock_tls_api.reset()
    make_bedrock(server=bedrock_tls_api, bedrock_integration="invoke")
    ProviderRouting.objects.create(pk=1, primary="bedrock", fallbacks=[])
    with gateway_sdk(gateway, api_key=gateway_key[1]) as client:
        assert client.messages.create(**HELLO).content[0].text
    (call,) = model_calls(bedrock_tls_api)
    assert bedrock_tls_api.url.startswith("https://") and call.status == 200
