"""The same calling code against both providers: same shapes, same usage record, same error kinds."""
import datetime as dt
import json

import pytest

from providers.clients import anthropic_client, catalog
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.registry import get_client
from providers.clients.usage import Usage
from providers.fakes import Fault
from tests.fake_providers import ANTHROPIC_KEY, DictCache, anthropic_settings, model_calls

HELLO = {"model": "haiku", "max_tokens": 64, "messages": [{"role": "user", "content": "Hello there"}]}
WEATHER_TOOL = {"name": "get_weather", "description": "Weather for a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"]}}
EXPECTED_ID = {"anthropic": "claude-haiku-5-5", "bedrock": "global.anthropic.claude-haiku-5-5"}  # haiku today


def test_create_message_same_shape(provider):
    kind, fake, settings = provider
    result = get_client(settings()).create_message(HELLO)
    assert result.provider_kind == kind
    assert result.model_id == EXPECTED_ID[kind]
    assert {"id", "type", "role", "content", "model", "stop_reason", "usage"} <= set(result.message)
    assert result.message["content"][0]["type"] == "text" and result.message["content"][0]["text"]
    assert isinstance(result.usage, Usage) and result.usage.input_tokens > 0 and result.usage.output_tokens > 0
    assert result.request_id and result.attempts == 1
    [call] = model_calls(fake)
    # Bedrock's InvokeModel names the model in the path, its Messages API (5.x models) in the body.
    assert EXPECTED_ID[kind] in (call.path + str(call.json.get("model", "")))


def test_stream_matches_the_plain_response(provider):
    kind, fake, settings = provider
    client = get_client(settings())
    plain = client.create_message(HELLO)
    stream = client.stream_message(HELLO)
    events = list(stream)
    types = [e["type"] for e in events]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert "content_block_delta" in types
    assert stream.message["content"][0]["text"] == plain.message["content"][0]["text"]
    assert stream.usage == plain.usage
    assert stream.ttft_ms is not None and stream.request_id


def test_streamed_tool_use_arrives_as_parsed_input(provider):
    kind, fake, settings = provider
    request = {**HELLO, "tools": [WEATHER_TOOL], "messages": [{"role": "user", "content": "use tool for Paris"}]}
    stream = get_client(settings()).stream_message(request)
    events = list(stream)
    assert any(e.get("delta", {}).get("type") == "input_json_delta" for e in events)
    tool_use = [b for b in stream.message["content"] if b["type"] == "tool_use"]
    assert tool_use and tool_use[0]["name"] == "get_weather" and "city" in tool_use[0]["input"]
    assert stream.message["stop_reason"] == "tool_use"


def test_thinking_blocks_stream_with_signature(provider):
    kind, fake, settings = provider
    request = {**HELLO, "max_tokens": 2048, "thinking": {"type": "enabled", "budget_tokens": 1024}}
    stream = get_client(settings()).stream_message(request)
    list(stream)
    thinking = stream.message["content"][0]
    assert thinking["type"] == "thinking" and thinking["thinking"] and thinking["signature"]


def test_prompt_cache_write_then_read_in_one_usage_record(provider):
    kind, fake, settings = provider
    system = [{"type": "text", "text": "You are a careful assistant. " * 200,
               "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    request = {**HELLO, "system": system}
    client = get_client(settings())
    first = client.create_message(request).usage
    second = client.create_message(request).usage
    assert first.cache_write_1h_tokens > 0 and first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_write_1h_tokens and second.cache_write_tokens == 0
    assert first.total_input_tokens == second.total_input_tokens
    streamed = client.stream_message(request)
    list(streamed)
    assert streamed.usage == second


BUDGET_MODEL = "claude-sonnet-4-6"  # takes a manual thinking budget (5.x models take an effort instead)


def test_caps_from_the_environment_are_applied(provider):
    kind, fake, settings = provider
    client = get_client(settings(max_output_tokens=2048, max_thinking_tokens=1024))
    client.create_message({**HELLO, "model": BUDGET_MODEL, "max_tokens": 4096,
                           "thinking": {"type": "enabled", "budget_tokens": 4000}})
    [call] = model_calls(fake)
    assert call.json["max_tokens"] == 2048 and call.json["thinking"]["budget_tokens"] == 1024


def test_the_thinking_cap_becomes_an_effort_on_models_that_take_no_budget(provider):
    kind, fake, settings = provider
    client = get_client(settings(max_thinking_tokens=1024))
    client.create_message({**HELLO, "model": "sonnet", "max_tokens": 4096,
                           "thinking": {"type": "enabled", "budget_tokens": 30000}})
    [call] = model_calls(fake)
    assert call.json["thinking"] == {"type": "adaptive"} and call.json["output_config"]["effort"] == "low"


def test_caps_that_leave_no_room_for_thinking_are_refused_before_sending(provider):
    kind, fake, settings = provider
    client = get_client(settings(max_output_tokens=512))
    with pytest.raises(ProviderError) as caught:
        client.create_message({**HELLO, "model": BUDGET_MODEL, "max_tokens": 4096,
                               "thinking": {"type": "enabled", "budget_tokens": 2000}})
    assert caught.value.kind is ErrorKind.INVALID_REQUEST and "512" in caught.value.message
    assert model_calls(fake) == []


@pytest.mark.parametrize("fault, kind", [
    ("rate_limit", ErrorKind.RATE_LIMITED),
    ("server_error", ErrorKind.UNAVAILABLE),
    ("unavailable", ErrorKind.UNAVAILABLE),
    ("access_denied", ErrorKind.PERMISSION),
    ("reset", ErrorKind.CONNECTION),
])
def test_same_fault_same_kind(provider, fault, kind):
    provider_kind, fake, settings = provider
    fake.inject(Fault(fault, times=None))
    with pytest.raises(ProviderError) as caught:
        get_client(settings()).create_message(HELLO)
    assert caught.value.kind is kind
    expected_attempts = 3 if caught.value.retryable else 1
    assert len(model_calls(fake)) == expected_attempts  # our loop only: the SDK's retries are off


def test_slow_answer_times_out(provider):
    kind, fake, settings = provider
    fake.inject(Fault("slow", times=None, delay=2))
    with pytest.raises(ProviderError) as caught:
        get_client(settings(timeout=0.5)).create_message(HELLO)
    assert caught.value.kind is ErrorKind.TIMEOUT


def test_retry_succeeds_after_transient_failures(provider):
    kind, fake, settings = provider
    fake.inject(Fault("rate_limit", times=2, retry_after=0.01))
    result = get_client(settings()).create_message(HELLO)
    assert result.attempts == 3 and len(model_calls(fake)) == 3


def test_stream_error_before_the_first_event_is_retried(provider):
    kind, fake, settings = provider
    fake.inject(Fault("rate_limit", times=1, retry_after=0.01))
    stream = get_client(settings()).stream_message(HELLO)
    assert [e["type"] for e in stream][-1] == "message_stop"
    assert stream.attempts == 2


def test_stream_broken_midway_is_not_retried(provider):
    kind, fake, settings = provider
    fake.inject(Fault("stream_break", after_events=3))
    stream = get_client(settings()).stream_message(HELLO)
    received = []
    with pytest.raises(ProviderError) as caught:
        for event in stream:
            received.append(event)
    assert caught.value.kind is ErrorKind.STREAM_INTERRUPTED
    assert not caught.value.triggers_failover
    # The SDK drops ping events, so up to three of the events sent before the break arrive.
    assert 1 <= len(received) <= 3 and len(model_calls(fake)) == 1


def test_wrong_credentials_are_authentication_errors(provider):
    kind, fake, settings = provider
    wrong = settings(api_key="sk-ant-wrong-key-000000000") if kind == "anthropic" else \
        settings(aws_secret_access_key="not-the-secret")
    with pytest.raises(ProviderError) as caught:
        get_client(wrong).create_message(HELLO)
    assert caught.value.kind is ErrorKind.AUTHENTICATION
    assert "not-the-secret" not in str(caught.value) and "wrong-key" not in str(caught.value)


def test_unknown_model_is_model_not_available(provider):
    kind, fake, settings = provider
    model = "claude-nonexistent-9" if kind == "anthropic" else "anthropic.claude-nonexistent-9-v1:0"
    with pytest.raises(ProviderError) as caught:
        get_client(settings()).create_message({**HELLO, "model": model})
    assert caught.value.kind is ErrorKind.MODEL_NOT_AVAILABLE


def test_too_long_prompt_is_context_too_long(provider):
    kind, fake, settings = provider
    huge = "word " * 900_000
    with pytest.raises(ProviderError) as caught:
        get_client(settings()).create_message({**HELLO, "messages": [{"role": "user", "content": huge}]})
    assert caught.value.kind is ErrorKind.CONTEXT_TOO_LONG
    assert not caught.value.triggers_failover


def test_invalid_request_is_not_retried(provider):
    kind, fake, settings = provider
    with pytest.raises(ProviderError) as caught:
        get_client(settings()).create_message({**HELLO, "messages": []})
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert len(model_calls(fake)) == 1


def test_count_tokens(provider):
    kind, fake, settings = provider
    client = get_client(settings())
    short = client.count_tokens(HELLO)
    longer = client.count_tokens({**HELLO, "messages": [{"role": "user", "content": "Hello there " * 100}]})
    assert 0 < short < longer


def test_health_check_is_a_one_token_request(provider):
    kind, fake, settings = provider
    result = get_client(settings()).check_health()
    assert result.usage.output_tokens <= 1
    [call] = model_calls(fake)
    assert call.json["max_tokens"] == 1


def test_capabilities_differ_where_the_providers_do(provider):
    kind, fake, settings = provider
    client = get_client(settings())
    sonnet = client.capabilities(client.resolve_model("sonnet"))
    assert sonnet.prompt_caching and sonnet.extended_thinking and sonnet.token_counting
    assert sonnet.batch is (kind == "anthropic")  # the SDK refuses batches on Bedrock
    assert sonnet.guardrails is (kind == "bedrock")
    # Haiku 3.5 is retired (it no longer resolves) but its catalog entry still answers for old IDs.
    old_haiku = "anthropic.claude-3-5-haiku-20241022-v1:0" if kind == "bedrock" else "claude-3-5-haiku-20241022"
    assert not client.capabilities(old_haiku).extended_thinking


def test_a_model_near_its_end_of_life_is_flagged_when_used(provider, caplog, monkeypatch):
    kind, fake, settings = provider
    soon = dt.date.today() + dt.timedelta(days=10)  # independent of the real calendar
    data = json.loads(catalog.CATALOG_PATH.read_text())
    data["models"]["claude-sonnet-4-20250514"]["retires_on"] = soon.isoformat()
    monkeypatch.setattr(catalog, "load_catalog", lambda: catalog.Catalog(data))
    monkeypatch.setattr(anthropic_client, "_warned", set())
    client = get_client(settings(model_mapping={"sonnet": "claude-sonnet-4-20250514"}))
    with caplog.at_level("WARNING", logger="providers.clients.anthropic_client"):
        result = client.create_message({**HELLO, "model": "sonnet"})
        stream = client.stream_message({**HELLO, "model": "sonnet"})
        list(stream)
    assert f"reaches end of life on {soon}" in result.lifecycle_message
    assert stream.lifecycle_message == result.lifecycle_message
    warnings = [r.getMessage() for r in caplog.records if "Remap the logical name" in r.getMessage()]
    assert len(warnings) == 1 and result.model_id in warnings[0]  # once per process and model


def test_a_key_sharing_the_last_characters_never_reuses_a_cached_answer(anthropic_fake):

    cache = {}

    good = get_client(anthropic_settings(anthropic_fake), availability_cache=DictCache(cache))
    assert good.available_model_ids()
    impostor_key = "sk-ant-wrong-" + ANTHROPIC_KEY[-12:]  # same hint, different key
    impostor = get_client(anthropic_settings(anthropic_fake, api_key=impostor_key), availability_cache=DictCache(cache))
    for check in (impostor.identity, impostor.available_model_ids):
        with pytest.raises(ProviderError) as caught:
            check()
        assert caught.value.kind is ErrorKind.AUTHENTICATION
