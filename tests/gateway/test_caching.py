"""The gateway's response cache and automatic prompt caching, through the real anthropic SDK over real
HTTP (uvicorn) against the fakes: hits served without an upstream call (JSON and SSE), each key's policy
honoured, each provider's prompt caching policy honoured."""
import json

import anthropic
import httpx2 as httpx
import pytest

from providers import response_cache
from providers.background import bookkeeping
from providers.gateway import services
from providers.models import ProviderConfig, ResponseCacheEntry
from providers.response_cache_index import background
from tests.fake_providers import model_calls
from tests.gateway.conftest import gateway_sdk
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = {"model": "haiku", "max_tokens": 64, "messages": [{"role": "user", "content": "echo: hello cache"}]}
USE = {"x-moments-cache": "use"}
SONNET = "claude-sonnet-4-6"  # 1,024-token minimum cacheable prompt
SYSTEM = "You answer questions about the handbook. " + "Handbook paragraph. " * 300  # ~1,500 tokens


@pytest.fixture(autouse=True)
def empty_response_cache():
    response_cache.invalidate_all()
    yield
    background.wait()
    response_cache.invalidate_all()


def sdk_for(gateway, key):
    return gateway_sdk(gateway, api_key=key, max_retries=0, timeout=20)


def breakpoints(body):
    blocks = list(body.get("tools") or []) + (body["system"] if isinstance(body.get("system"), list) else [])
    for message in body["messages"]:
        if isinstance(message["content"], list):
            blocks += message["content"]
    return sum(1 for block in blocks if isinstance(block, dict) and block.get("cache_control"))


def sse_events(text):
    """[(event line name, data dict)] of an SSE body."""
    frames = [frame for frame in text.split("\n\n") if frame.strip()]
    events = []
    for frame in frames:
        event_line, data_line = frame.split("\n")
        events.append((event_line.removeprefix("event: "), json.loads(data_line.removeprefix("data: "))))
    return events


def test_a_json_hit_is_served_without_an_upstream_call(sdk, stored):
    anthropic_api, _bedrock = stored
    first = sdk.messages.with_raw_response.create(**HELLO, extra_headers=USE)
    second = sdk.messages.with_raw_response.create(**HELLO, extra_headers=USE)
    assert first.headers["x-moments-cache"] == "miss" and second.headers["x-moments-cache"] == "hit"
    assert second.parse().content[0].text == first.parse().content[0].text == "hello cache"
    assert second.headers["x-moments-provider"] == "anthropic"
    assert len(model_calls(anthropic_api)) == 1  # the fake's request log: one upstream call for two answers
    statuses = sorted(UsageRecord.objects.values_list("status", "gateway_key", "cost_total", "response_cache_saving"))
    assert [s[:2] for s in statuses] == [("cache_hit", "team-web"), ("ok", "team-web")]
    assert statuses[0][2] == 0  # a hit costs nothing
    assert statuses[0][3] == statuses[1][2] > 0 and statuses[1][3] is None  # and saves what the answer cost


def test_a_streamed_hit_is_the_exact_sse_sequence_without_an_upstream_call(gateway, gateway_key, stored):
    anthropic_api, _bedrock = stored
    headers = {"x-api-key": gateway_key[1], **USE}
    bodies = []
    for _ in range(2):
        with httpx.stream("POST", f"{gateway}/v1/messages", json={**HELLO, "stream": True},
                          headers=headers) as answer:
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")
            bodies.append((answer.headers["x-moments-cache"], "".join(answer.iter_text())))
    assert [status for status, _ in bodies] == ["miss", "hit"]
    assert len(model_calls(anthropic_api)) == 1
    replayed = sse_events(bodies[1][1])
    names = [name for name, _data in replayed]
    assert all(name == data["type"] for name, data in replayed)
    assert names[:2] == ["message_start", "content_block_start"] and "content_block_delta" in names
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    text = "".join(data["delta"].get("text", "") for name, data in replayed if name == "content_block_delta")
    assert text == "hello cache"


def test_the_sdk_streams_a_hit_into_a_complete_message(sdk, stored):
    anthropic_api, _bedrock = stored
    finals = []
    for _ in range(2):
        with sdk.messages.stream(**HELLO, extra_headers=USE) as stream:
            finals.append(stream.get_final_message())
    assert len(model_calls(anthropic_api)) == 1
    assert finals[1].content[0].text == finals[0].content[0].text == "hello cache"
    assert finals[1].stop_reason == finals[0].stop_reason == "end_turn"
    assert finals[1].usage.output_tokens == finals[0].usage.output_tokens


def test_requests_that_did_not_ask_are_never_served_from_the_cache(sdk, stored):
    anthropic_api, _bedrock = stored
    sdk.messages.create(**HELLO, extra_headers=USE)  # stored
    raw = sdk.messages.with_raw_response.create(**HELLO)  # the default key policy: as the request asks
    assert "x-moments-cache" not in raw.headers
    assert len(model_calls(anthropic_api)) == 2


def test_a_key_with_policy_use_caches_every_request_and_its_ttl_applies(gateway, stored):
    anthropic_api, _bedrock = stored
    _row, key = services.create_key("cached", response_cache="use", response_cache_ttl_seconds=120)
    with sdk_for(gateway, key) as client:
        client.messages.create(**HELLO)
        hit = client.messages.with_raw_response.create(**HELLO)
        refreshed = client.messages.with_raw_response.create(**HELLO, extra_headers={"x-moments-cache": "refresh"})
    assert hit.headers["x-moments-cache"] == "hit" and refreshed.headers["x-moments-cache"] == "refresh"
    assert len(model_calls(anthropic_api)) == 2  # the first call and the refresh
    background.wait()  # index rows are written off the request path
    entry = ResponseCacheEntry.objects.get()
    lifetime = (entry.expires_at - entry.created_at).total_seconds()
    assert 110 <= lifetime <= 121


def test_a_key_with_policy_off_ignores_the_header(gateway, stored):
    anthropic_api, _bedrock = stored
    _row, key = services.create_key("uncached", response_cache="off")
    with sdk_for(gateway, key) as client:
        for _ in range(2):
            raw = client.messages.with_raw_response.create(**HELLO, extra_headers=USE)
            assert "x-moments-cache" not in raw.headers
    assert len(model_calls(anthropic_api)) == 2
    assert not UsageRecord.objects.filter(status="cache_hit").exists()


def test_a_bad_cache_header_is_an_invalid_request(sdk, stored):
    with pytest.raises(anthropic.BadRequestError) as caught:
        sdk.messages.create(**HELLO, extra_headers={"x-moments-cache": "sometimes"})
    assert "x-moments-cache must be one of use, skip, refresh" in caught.value.body["error"]["message"]
    assert not model_calls(stored[0])


def test_a_long_or_non_ascii_cache_header_is_echoed_short_and_escaped(gateway, gateway_key, stored):
    for value, shown in ((b"caf\xc3\xa9", "'caf\\xc3\\xa9'"), (b"x" * 6000, "'" + "x" * 40 + "'\u2026")):
        answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, timeout=30,
                            headers=[(b"x-api-key", gateway_key[1].encode()), (b"x-moments-cache", value)])
        message = answer.json()["error"]["message"]
        assert answer.status_code == 400 and message.endswith(f"not {shown}."), message
        assert len(message) < 150


def test_the_gateway_places_prompt_caching_breakpoints_and_the_fake_reads_them_back(sdk, stored):
    anthropic_api, _bedrock = stored
    anthropic_api.cache.clear()
    for text in ("echo: first", "echo: second"):
        sdk.messages.create(model=SONNET, max_tokens=16, system=SYSTEM, messages=[{"role": "user", "content": text}])
    requests = model_calls(anthropic_api)
    assert all(0 < breakpoints(request.json) <= 4 for request in requests)
    assert all("x-moments-prompt-caching" not in request.headers for request in requests)
    first, second = UsageRecord.objects.order_by("id")
    assert first.cache_write_5m_tokens > 1000 and second.cache_read_tokens > 1000  # the system prompt, read back


@pytest.mark.parametrize("how", ["key", "header", "provider"])
def test_prompt_caching_off_by_key_header_or_provider(gateway, stored, how):
    anthropic_api, _bedrock = stored
    _row, key = services.create_key("plain", prompt_caching=how != "key")
    headers = {"x-moments-prompt-caching": "off"} if how == "header" else {}
    if how == "provider":
        provider = ProviderConfig.objects.get(name="anthropic")
        provider.prompt_caching = "off"
        provider.save()  # every process sees the new snapshot
    with sdk_for(gateway, key) as client:
        client.messages.create(model=SONNET, max_tokens=16, system=SYSTEM, extra_headers=headers,
                               messages=[{"role": "user", "content": "echo: hi"}])
    [request] = model_calls(anthropic_api)
    assert breakpoints(request.json) == 0


def test_a_providers_one_hour_policy_reaches_the_request(sdk, stored):
    anthropic_api, _bedrock = stored
    anthropic_api.cache.clear()
    provider = ProviderConfig.objects.get(name="anthropic")
    provider.prompt_caching_ttl = "1h"
    provider.save()
    sdk.messages.create(model=SONNET, max_tokens=16, system=SYSTEM, messages=[{"role": "user", "content": "echo: x"}])
    [request] = model_calls(anthropic_api)
    markers = [block["cache_control"] for block in request.json["system"] if block.get("cache_control")]
    assert markers == [{"type": "ephemeral", "ttl": "1h"}]
    assert UsageRecord.objects.get().cache_write_1h_tokens > 1000


def test_a_hot_entry_is_answered_on_the_event_loop_from_memory(gateway, stored):
    """After a miss stored the answer, the same request is a hit from this process's memory (no worker
    thread, no cache round trip); with the key table due for a check, it takes the ordinary path."""
    from providers.gateway.keys import keys
    from providers.gateway.memory_hits import hit_from_memory
    from providers.gateway.requests import Request

    anthropic_api, _bedrock = stored
    _row, key = services.create_key("hot", response_cache="use")
    with gateway_sdk(gateway, api_key=key) as client:
        first = client.messages.create(**HELLO)  # a miss: answered upstream and stored
        raw = client.messages.with_raw_response.create(**HELLO)
        again = client.messages.create(**HELLO)  # hot: from memory, its JSON rendered once and kept
        again_too = client.messages.create(**HELLO)
        with client.messages.stream(**HELLO) as stream:  # the same entry as the API's event sequence
            streamed = "".join(stream.text_stream)
            final = stream.get_final_message()
    assert raw.headers["x-moments-cache"] == "hit" and raw.parse().content == first.content
    assert again == again_too and again.content == first.content and again.id == first.id
    assert streamed == first.content[0].text and final.id == first.id and final.usage == first.usage
    scope = {"method": "POST", "path": "/v1/messages", "headers": [(b"x-api-key", key.encode())]}
    hit = hit_from_memory(Request(scope, json.dumps(HELLO).encode()))
    assert hit is not None and hit.message["content"][0]["text"] == first.content[0].text
    assert hit_from_memory(Request(scope, json.dumps({**HELLO, "max_tokens": 65}).encode())) is None
    keys.forget()
    assert hit_from_memory(Request(scope, json.dumps(HELLO).encode())) is None
    assert len(model_calls(anthropic_api)) == 1
    bookkeeping.wait()
    assert UsageRecord.objects.filter(status="cache_hit", gateway_key="hot").count() == 5
    paid = UsageRecord.objects.get(status="ok", gateway_key="hot").cost_total
    assert set(UsageRecord.objects.filter(status="cache_hit").values_list("response_cache_saving", flat=True)) \
        == {paid}  # hits served from memory too
