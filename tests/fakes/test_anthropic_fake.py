"""The real anthropic SDK against FakeAnthropic: messages, streaming, tools, thinking, tokens, models."""

from __future__ import annotations

import anthropic
import httpx2
import pytest

from providers.fakes import FakeAnthropic

from .conftest import API_KEY, HAIKU

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city", "days", "unit"],
    },
}
HI = [{"role": "user", "content": "Hi there"}]


def test_plain_message_shape_usage_and_record(client, fake_anthropic):
    raw = client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=200, messages=HI)
    msg = raw.parse()
    assert raw.headers["request-id"].startswith("req_fake_")
    assert msg.model == HAIKU  # aliases resolve to the dated id
    assert msg.content[0].text == f"Hello from the fake Anthropic API (model {HAIKU})."
    assert msg.stop_reason == "end_turn" and msg.id.startswith("msg_01")
    assert msg.usage.input_tokens == len("Hi there") // 4
    assert msg.usage.output_tokens == len(msg.content[0].text) // 4
    assert msg.usage.cache_read_input_tokens == 0 and msg.usage.cache_creation.ephemeral_5m_input_tokens == 0
    rec = fake_anthropic.requests[-1]
    assert (rec.method, rec.path, rec.status) == ("POST", "/v1/messages", 200)
    assert rec.headers["Authorization"] == "<redacted>"
    assert rec.json["messages"] == HI


def test_echo_reply(client):
    msg = client.messages.create(model=HAIKU, max_tokens=50, messages=[{"role": "user", "content": "echo: ping 42"}])
    assert msg.content[0].text == "ping 42"


def test_x_api_key_header_is_accepted_too(fake_anthropic):
    body = {"model": HAIKU, "max_tokens": 20, "messages": HI}
    ok = httpx2.post(
        f"{fake_anthropic.url}/v1/messages",
        json=body,
        headers={"x-api-key": API_KEY, "anthropic-version": "2023-06-01"},
    )
    assert ok.status_code == 200 and ok.json()["type"] == "message"
    assert fake_anthropic.requests[-1].headers["x-api-key"] == "<redacted>"


def test_stream_text_event_sequence_and_usage(client):
    with client.messages.stream(model=HAIKU, max_tokens=100, messages=HI) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_message()
    assert types[:2] == ["message_start", "content_block_start"]
    assert "ping" not in types  # the SDK swallows pings; see the raw SSE test below
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert types.count("text") >= 2  # chunked text deltas
    assert final.content[0].text.startswith("Hello from the fake Anthropic API")
    assert final.usage.output_tokens == len(final.content[0].text) // 4
    assert final.usage.input_tokens == 2


def test_raw_sse_has_ping_and_message_delta_usage(client):
    stream = client.messages.create(model=HAIKU, max_tokens=100, messages=HI, stream=True)
    events = list(stream)
    assert [e.type for e in events][:2] == ["message_start", "content_block_start"]
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == "end_turn"
    assert delta.usage.output_tokens > 1 and delta.usage.input_tokens == 2
    assert events[0].message.usage.output_tokens == 1 and events[0].message.stop_reason is None
    raw = httpx2.post(
        client.base_url.join("/v1/messages"),
        json={"model": HAIKU, "max_tokens": 50, "messages": HI, "stream": True},
        headers={"authorization": f"Bearer {API_KEY}", "anthropic-version": "2023-06-01"},
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert "event: ping\n" in raw.text and raw.text.index("event: ping") > raw.text.index("content_block_start")


def test_stream_tool_use_with_input_json_deltas(client):
    with client.messages.stream(
        model=HAIKU,
        max_tokens=300,
        tools=[WEATHER_TOOL],
        messages=[{"role": "user", "content": "Please use tool for Paris"}],
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    partials = [e.partial_json for e in events if e.type == "input_json"]
    assert len(partials) > 2  # streamed in several chunks
    assert final.stop_reason == "tool_use"
    assert [b.type for b in final.content] == ["text", "tool_use"]
    tool = final.content[1]
    assert tool.name == "get_weather" and tool.id.startswith("toolu_")
    assert tool.input == {"city": "example", "days": 1, "unit": "c"}


def test_forced_tool_choice_picks_named_tool_without_preamble(client):
    second = {
        "name": "lookup",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
    }
    msg = client.messages.create(
        model=HAIKU,
        max_tokens=200,
        tools=[WEATHER_TOOL, second],
        tool_choice={"type": "tool", "name": "lookup"},
        messages=HI,
    )
    assert [b.type for b in msg.content] == ["tool_use"]
    assert msg.content[0].name == "lookup" and msg.content[0].input == {"q": "example"}


def test_tool_result_turn_ends_the_loop(client):
    first = client.messages.create(
        model=HAIKU, max_tokens=200, tools=[WEATHER_TOOL], messages=[{"role": "user", "content": "use tool"}]
    )
    tool = first.content[-1]
    follow = client.messages.create(
        model=HAIKU,
        max_tokens=200,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "use tool"},
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id, "content": "sunny"}]},
        ],
    )
    assert follow.stop_reason == "end_turn"
    assert follow.content[0].text == "Tool result received: sunny"


def test_thinking_stream_emits_thinking_and_signature_deltas(client):
    with client.messages.stream(
        model=HAIKU, max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024}, messages=HI
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    kinds = {e.type for e in events}
    assert {"thinking", "signature"} <= kinds
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].signature and final.content[0].thinking


def test_count_tokens_matches_billed_input(client):
    kwargs = {"model": HAIKU, "system": "You are terse." * 10, "tools": [WEATHER_TOOL], "messages": HI}
    counted = client.messages.count_tokens(**kwargs)
    msg = client.messages.create(max_tokens=100, **kwargs)
    assert counted.input_tokens == msg.usage.input_tokens > 20


def test_models_list_paginates_and_retrieve_resolves_alias(client, fake_anthropic):
    page = client.models.list(limit=3)
    assert len(page.data) == 3 and page.has_more and page.first_id == page.data[0].id
    all_ids = [m.id for m in client.models.list(limit=3)]  # auto-pagination follows after_id
    assert all_ids == [m.id for m in fake_anthropic.models.models]
    assert {"claude-opus-4-5-20251101", "claude-sonnet-4-5-20250929", "claude-3-5-haiku-20241022"} <= set(all_ids)
    assert "claude-sonnet-4-5" not in all_ids  # aliases are not listed
    info = client.models.retrieve("claude-sonnet-4-5")
    assert info.id == "claude-sonnet-4-5-20250929" and info.display_name == "Claude Sonnet 4.5"
    assert info.type == "model" and info.created_at.year == 2025
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-nonexistent")


def test_models_override():
    with FakeAnthropic(api_keys={API_KEY}, models=["claude-custom-1"]) as server:
        c = anthropic.Anthropic(api_key=API_KEY, base_url=server.url, max_retries=0)
        assert [m.id for m in c.models.list()] == ["claude-custom-1"]
        assert c.messages.create(model="claude-custom-1", max_tokens=20, messages=HI).model == "claude-custom-1"
        with pytest.raises(anthropic.NotFoundError):
            c.messages.create(model=HAIKU, max_tokens=20, messages=HI)


def test_prompt_caching_write_then_read_5m_and_1h(client):
    system = [
        {"type": "text", "text": "A" * 4000, "cache_control": {"type": "ephemeral", "ttl": "1h"}},
        {"type": "text", "text": "B" * 2000, "cache_control": {"type": "ephemeral"}},
    ]
    first = client.messages.create(model=HAIKU, max_tokens=50, system=system, messages=HI).usage
    assert first.cache_creation.ephemeral_1h_input_tokens == 1000
    assert first.cache_creation.ephemeral_5m_input_tokens == 500
    assert first.cache_creation_input_tokens == 1500 and first.cache_read_input_tokens == 0
    assert first.input_tokens == 2  # only the uncached user turn
    second = client.messages.create(
        model=HAIKU, max_tokens=50, system=system, messages=[{"role": "user", "content": "A different question"}]
    ).usage
    assert second.cache_read_input_tokens == 1500 and second.cache_creation_input_tokens == 0
    assert second.input_tokens == len("A different question") // 4
    # Changing the second block keeps the 1h prefix but writes a new 5m entry.
    system[1] = {**system[1], "text": "C" * 2000}
    third = client.messages.create(model=HAIKU, max_tokens=50, system=system, messages=HI).usage
    assert (third.cache_read_input_tokens, third.cache_creation.ephemeral_5m_input_tokens) == (1000, 500)


def test_stop_sequence_and_max_tokens_truncate(client):
    msg = client.messages.create(model=HAIKU, max_tokens=100, stop_sequences=["fake"], messages=HI)
    assert msg.stop_reason == "stop_sequence" and msg.stop_sequence == "fake"
    assert msg.content[0].text == "Hello from the "
    short = client.messages.create(model=HAIKU, max_tokens=3, messages=HI)
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens == 3
    assert short.content[0].text == "Hello from t"


def test_bad_key_is_rejected_with_api_error_shape(fake_anthropic):
    bad = anthropic.Anthropic(api_key="sk-ant-wrong", base_url=fake_anthropic.url, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as exc:
        bad.messages.create(model=HAIKU, max_tokens=10, messages=HI)
    assert exc.value.status_code == 401
    assert exc.value.body["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}
    assert exc.value.request_id.startswith("req_fake_") and exc.value.body["request_id"] == exc.value.request_id
    missing = httpx2.post(f"{fake_anthropic.url}/v1/messages", json={}, headers={"anthropic-version": "2023-06-01"})
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"model": "claude-nope"}, anthropic.NotFoundError, "model: claude-nope"),
        ({"max_tokens": 0}, anthropic.BadRequestError, "max_tokens: Input should be greater than or equal to 1"),
        (
            {"model": "claude-3-haiku-20240307", "max_tokens": 5000},
            anthropic.BadRequestError,
            "max_tokens: 5000 > 4096, which is the maximum allowed number of output tokens for claude-3-haiku-20240307",
        ),
        ({"messages": []}, anthropic.BadRequestError, "at least one message is required"),
        ({"messages": HI + HI}, anthropic.BadRequestError, 'roles must alternate between "user" and "assistant"'),
        ({"messages": [{"role": "assistant", "content": "x"}]}, anthropic.BadRequestError, "first message"),
        (
            {"messages": [{"role": "user", "content": "x" * 900_000}]},
            anthropic.BadRequestError,
            "prompt is too long: 225000 tokens > 200000 maximum",
        ),
        ({"thinking": {"type": "enabled", "budget_tokens": 500}}, anthropic.BadRequestError, "budget_tokens"),
    ],
)
def test_validation_errors(client, kwargs, error, message):
    params = {"model": HAIKU, "max_tokens": 100, "messages": HI, **kwargs}
    with pytest.raises(error) as exc:
        client.messages.create(**params)
    assert exc.value.body["error"]["type"] in ("invalid_request_error", "not_found_error")
    assert message in exc.value.body["error"]["message"]


def test_missing_fields_via_raw_http(fake_anthropic):
    headers = {"authorization": f"Bearer {API_KEY}", "anthropic-version": "2023-06-01"}
    resp = httpx2.post(f"{fake_anthropic.url}/v1/messages", json={"model": HAIKU, "messages": HI}, headers=headers)
    assert resp.status_code == 400 and resp.json()["error"]["message"] == "max_tokens: Field required"
    resp = httpx2.post(
        f"{fake_anthropic.url}/v1/messages",
        json={"model": HAIKU, "max_tokens": 5, "messages": HI},
        headers={"authorization": f"Bearer {API_KEY}"},
    )
    assert resp.status_code == 400 and "anthropic-version" in resp.json()["error"]["message"]
    assert resp.headers["request-id"] == resp.json()["request_id"]
