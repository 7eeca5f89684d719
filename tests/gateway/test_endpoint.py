"""The /v1/ endpoint through the real anthropic SDK over real HTTP (uvicorn), on stored providers and the fakes."""
import json
import time

import anthropic
import httpx2 as httpx
import pytest

from providers.changes import update_routing
from providers.fakes import Fault
from tests.fake_providers import model_calls
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = {"model": "haiku", "max_tokens": 64, "messages": [{"role": "user", "content": "echo: hello gateway"}]}
WEATHER_TOOL = {"name": "get_weather", "description": "Weather for a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"]}}


def make_primary(name, fallbacks):
    update_routing(None, primary=name, fallbacks=fallbacks, auto_fallback=bool(fallbacks))


@pytest.mark.parametrize("primary", ["anthropic", "bedrock"])
def test_create_answers_through_the_active_provider_and_records_the_key(sdk, stored, primary):
    make_primary(primary, [])
    raw = sdk.messages.with_raw_response.create(**HELLO)
    message = raw.parse()
    assert message.content[0].text == "hello gateway"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert raw.headers["x-moments-provider"] == primary and raw.headers["x-moments-failed-over"] == "false"
    assert raw.headers["request-id"].startswith("req_gw_")
    record = UsageRecord.objects.get()
    assert (record.purpose, record.gateway_key, record.provider_name, record.status) == (
        "gateway", "team-web", primary, "ok")
    assert record.model_id == raw.headers["x-moments-model-id"]


@pytest.mark.parametrize("primary", ["anthropic", "bedrock"])
def test_stream_with_tool_use_gives_the_sdk_a_complete_message(sdk, stored, primary):
    make_primary(primary, [])
    with sdk.messages.stream(model="sonnet", max_tokens=256, tools=[WEATHER_TOOL],
                             messages=[{"role": "user", "content": "use tool for Paris"}]) as stream:
        final = stream.get_final_message()
    tool_use = next(block for block in final.content if block.type == "tool_use")
    assert tool_use.name == "get_weather" and isinstance(tool_use.input, dict)
    assert final.stop_reason == "tool_use"
    record = UsageRecord.objects.get()
    assert record.stream and record.status == "ok" and record.provider_name == primary


def test_sse_has_the_api_event_sequence_with_event_lines(gateway, gateway_key, stored):
    body = {**HELLO, "stream": True}
    with httpx.stream("POST", f"{gateway}/v1/messages", json=body, headers={"x-api-key": gateway_key[1]}) as answer:
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
        text = "".join(answer.iter_text())
    frames = [frame for frame in text.split("\n\n") if frame.strip()]
    names = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        name = event_line.removeprefix("event: ")
        assert json.loads(data_line.removeprefix("data: "))["type"] == name
        names.append(name)
    assert names[0] == "message_start" and names[1] == "content_block_start"
    assert "content_block_delta" in names and names[-3:] == ["content_block_stop", "message_delta", "message_stop"]


@pytest.mark.parametrize("primary", ["anthropic", "bedrock"])
def test_count_tokens_is_free_and_counts(sdk, stored, primary):
    make_primary(primary, [])
    counted = sdk.messages.count_tokens(model="sonnet", messages=[{"role": "user", "content": "count these words"}])
    assert counted.input_tokens > 0
    assert not UsageRecord.objects.exists()
    assert not model_calls(stored[0]) and not model_calls(stored[1])


def test_models_lists_logical_names_and_the_ids_each_provider_serves(sdk, stored):
    ids = [model.id for model in sdk.models.list()]
    assert {"sonnet", "haiku", "opus"} <= set(ids)
    assert any(i.startswith("claude-") for i in ids)
    assert any("anthropic." in i for i in ids)  # the Bedrock fallback's IDs
    assert sdk.models.retrieve("sonnet").id == "sonnet"
    with pytest.raises(anthropic.NotFoundError):
        sdk.models.retrieve("no-such-model")


def test_switching_the_primary_mid_run_changes_nothing_for_the_client(sdk, stored, staff_client):
    first = sdk.messages.with_raw_response.create(**HELLO)
    make_primary("bedrock", ["anthropic"])  # what the dashboard's routing form does
    second = sdk.messages.with_raw_response.create(**HELLO)
    assert first.headers["x-moments-provider"] == "anthropic"
    assert second.headers["x-moments-provider"] == "bedrock"
    assert first.parse().content[0].text == second.parse().content[0].text == "hello gateway"


@pytest.mark.parametrize("fault", ["overloaded", "rate_limit", "unavailable", "server_error", "access_denied"])
def test_provider_faults_fail_over(sdk, stored, fault):
    anthropic_api, bedrock_api = stored
    anthropic_api.inject(Fault(fault, times=None, retry_after=0))
    raw = sdk.messages.with_raw_response.create(**HELLO)
    assert raw.parse().content[0].text == "hello gateway"
    assert raw.headers["x-moments-provider"] == "bedrock" and raw.headers["x-moments-failed-over"] == "true"
    assert len(model_calls(bedrock_api)) == 1


def test_bedrock_service_unavailable_as_400_fails_over(sdk, stored):
    anthropic_api, bedrock_api = stored
    make_primary("bedrock", ["anthropic"])
    bedrock_api.inject(Fault("service_unavailable_400", times=None))
    raw = sdk.messages.with_raw_response.create(**HELLO)
    assert raw.headers["x-moments-provider"] == "anthropic" and raw.headers["x-moments-failed-over"] == "true"


def test_an_invalid_request_never_fails_over(sdk, stored):
    anthropic_api, bedrock_api = stored
    with pytest.raises(anthropic.BadRequestError) as caught:
        sdk.messages.create(model="haiku", max_tokens=64, messages="not a list")
    assert caught.value.status_code == 400
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert not model_calls(bedrock_api)


def test_nan_in_a_request_is_an_invalid_request_not_a_failover(gateway, gateway_key, stored):
    """Python's json reads NaN; the call path must refuse it as the caller's error, not fail over on it."""
    anthropic_api, bedrock_api = stored
    body = b'{"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}], "system": [' \
           b'{"type": "text", "text": "x", "weight": NaN}]}'
    answer = httpx.post(f"{gateway}/v1/messages", content=body, timeout=30,
                        headers={"x-api-key": gateway_key[1], "content-type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"]["type"] == "invalid_request_error"
    assert "system[0].weight is NaN or Infinity" in answer.json()["error"]["message"]
    assert not model_calls(anthropic_api) and not model_calls(bedrock_api)


def test_a_stream_failing_before_its_first_byte_fails_over(sdk, stored):
    anthropic_api, bedrock_api = stored
    anthropic_api.inject(Fault("overloaded", times=None))
    with sdk.messages.stream(**HELLO) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "hello gateway"
    assert stream.response.headers["x-moments-provider"] == "bedrock"
    assert stream.response.headers["x-moments-failed-over"] == "true"


def test_a_stream_failing_after_its_first_byte_ends_with_an_error_event(gateway, gateway_key, stored):
    anthropic_api, bedrock_api = stored
    anthropic_api.inject(Fault("stream_break", after_events=3))
    with httpx.stream("POST", f"{gateway}/v1/messages", json={**HELLO, "stream": True},
                      headers={"x-api-key": gateway_key[1]}) as answer:
        assert answer.status_code == 200
        text = "".join(answer.iter_text())
    frames = [frame for frame in text.split("\n\n") if frame.strip()]
    assert frames[0].startswith("event: message_start")
    last = frames[-1].split("\n")
    assert last[0] == "event: error"
    payload = json.loads(last[1].removeprefix("data: "))
    assert payload["type"] == "error" and payload["error"]["type"] == "api_error"
    assert not model_calls(bedrock_api)  # never replayed elsewhere once bytes reached the client


def test_the_sdk_raises_on_a_mid_stream_error_event(sdk, stored):
    stored[0].inject(Fault("stream_break", after_events=3))
    with pytest.raises(anthropic.APIStatusError), sdk.messages.stream(**HELLO) as stream:
        stream.get_final_message()


def test_rate_limit_without_fallback_is_a_429_with_retry_after(gateway, gateway_key, stored):
    make_primary("anthropic", [])
    stored[0].inject(Fault("rate_limit", times=None, retry_after=3))
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, headers={"x-api-key": gateway_key[1]}, timeout=30)
    assert answer.status_code == 429
    assert answer.json()["error"]["type"] == "rate_limit_error"
    assert int(answer.headers["retry-after"]) >= 1 and answer.headers["request-id"].startswith("req_gw_")


def test_overloaded_without_fallback_is_a_529(gateway, gateway_key, stored):
    make_primary("anthropic", [])
    stored[0].inject(Fault("overloaded", times=None))
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, headers={"x-api-key": gateway_key[1]}, timeout=30)
    assert answer.status_code == 529 and answer.json()["error"]["type"] == "overloaded_error"


def test_beta_header_reaches_the_provider(gateway, gateway_key, stored):
    make_primary("anthropic", [])
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, headers={
        "x-api-key": gateway_key[1], "anthropic-version": "2023-06-01", "anthropic-beta": "context-1m-2025-08-07"})
    assert answer.status_code == 200
    sent = model_calls(stored[0])[-1]
    assert "context-1m-2025-08-07" in sent.headers.get("anthropic-beta", "")


def test_a_client_leaving_mid_stream_closes_it_and_it_is_recorded_abandoned(gateway, gateway_key, stored):
    stored[0].inject(Fault("slow", after_events=2, delay=1.0))
    with httpx.stream("POST", f"{gateway}/v1/messages", json={**HELLO, "stream": True},
                      headers={"x-api-key": gateway_key[1]}) as answer:
        first = next(answer.iter_raw())
        assert b"message_start" in first
    deadline = time.monotonic() + 5
    while not UsageRecord.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    record = UsageRecord.objects.get()
    assert record.status == "abandoned" and record.gateway_key == "team-web"


def test_the_call_deadline_is_a_504_timeout_error(gateway, gateway_key, stored, settings):
    make_primary("anthropic", [])
    settings.CALL_DEADLINE_SECONDS = 1
    stored[0].inject(Fault("slow", delay=3, times=None))
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, headers={"x-api-key": gateway_key[1]}, timeout=30)
    assert answer.status_code == 504 and answer.json()["error"]["type"] == "timeout_error"


@pytest.mark.parametrize("depth, message", [
    (200, "nests deeper than 128 levels"),  # parsed, then refused by the shape check
    (100_000, "The request body nests deeper than 128 levels"),  # too deep for the JSON parser itself
])
def test_deep_nesting_is_an_invalid_request_never_a_500(gateway, gateway_key, stored, depth, message):
    anthropic_api, bedrock_api = stored
    body = ('{"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}], "tools": [{"name": '
            '"t", "input_schema": {"type": "object", "properties": ' + "[" * depth + "1" + "]" * depth + "}}]}")
    for path in ("/v1/messages", "/v1/messages/count_tokens"):
        answer = httpx.post(f"{gateway}{path}", content=body.encode(), timeout=30,
                            headers={"x-api-key": gateway_key[1], "content-type": "application/json"})
        assert answer.status_code == 400 and answer.json()["error"]["type"] == "invalid_request_error", path
        assert message in answer.json()["error"]["message"] and len(answer.json()["error"]["message"]) < 200
    assert not model_calls(anthropic_api) and not model_calls(bedrock_api)
