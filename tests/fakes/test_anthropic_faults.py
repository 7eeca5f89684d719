"""Injected faults on FakeAnthropic, observed through the real anthropic SDK."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import pytest

from providers.fakes import Fault

from .conftest import API_KEY, HAIKU

HI = [{"role": "user", "content": "Hi"}]


def create(client, **kw):
    return client.messages.create(model=HAIKU, max_tokens=100, messages=HI, **kw)


@pytest.mark.parametrize(
    ("kind", "error", "status", "error_type"),
    [
        ("rate_limit", anthropic.RateLimitError, 429, "rate_limit_error"),
        ("throttling", anthropic.RateLimitError, 429, "rate_limit_error"),
        ("overloaded", anthropic.OverloadedError, 529, "overloaded_error"),
        ("server_error", anthropic.InternalServerError, 500, "api_error"),
        ("unavailable", anthropic.ServiceUnavailableError, 503, "api_error"),
        ("access_denied", anthropic.PermissionDeniedError, 403, "permission_error"),
        ("model_timeout", anthropic.GatewayTimeoutError, 504, "timeout_error"),
    ],
)
def test_error_faults_fire_once(client, fake_anthropic, kind, error, status, error_type):
    fake_anthropic.inject(Fault(kind))
    with pytest.raises(error) as exc:
        create(client)
    assert exc.value.status_code == status
    assert exc.value.body["type"] == "error" and exc.value.body["error"]["type"] == error_type
    assert exc.value.response.headers["request-id"].startswith("req_fake_")
    assert create(client).content[0].text.startswith("Hello")  # consumed: the next call succeeds


def test_rate_limit_sends_retry_after(client, fake_anthropic):
    fake_anthropic.inject(Fault("rate_limit", retry_after=7))
    with pytest.raises(anthropic.RateLimitError) as exc:
        create(client)
    assert exc.value.response.headers["retry-after"] == "7"
    fake_anthropic.inject(Fault("rate_limit"))
    with pytest.raises(anthropic.RateLimitError) as exc:
        create(client)
    assert exc.value.response.headers["retry-after"] == "1"


def test_times_and_path_contains(client, fake_anthropic):
    fake_anthropic.inject(Fault("overloaded", times=2, path_contains="count_tokens"))
    assert create(client).stop_reason == "end_turn"  # /v1/messages does not match
    for _ in range(2):
        with pytest.raises(anthropic.OverloadedError):
            client.messages.count_tokens(model=HAIKU, messages=HI)
    assert client.messages.count_tokens(model=HAIKU, messages=HI).input_tokens == 1


def test_sdk_retries_through_a_transient_overload(fake_anthropic):
    retrying = anthropic.Anthropic(api_key=API_KEY, base_url=fake_anthropic.url, max_retries=2)
    fake_anthropic.inject(Fault("overloaded", retry_after=0.05))
    assert create(retrying).content
    statuses = [r.status for r in fake_anthropic.requests]
    assert statuses == [529, 200]
    assert fake_anthropic.requests[1].headers["x-stainless-retry-count"] == "1"


def test_slow_delays_and_times_out(client, fake_anthropic):
    fake_anthropic.inject(Fault("slow", delay=0.4))
    started = time.monotonic()
    create(client)
    assert time.monotonic() - started >= 0.4
    fake_anthropic.inject(Fault("slow", delay=1.0))
    with pytest.raises(anthropic.APITimeoutError):
        create(client.with_options(timeout=0.2))


def test_reset_drops_the_connection(client, fake_anthropic):
    fake_anthropic.inject(Fault("reset"))
    with pytest.raises(anthropic.APIConnectionError):
        create(client)
    assert fake_anthropic.requests[-1].status is None  # nothing was sent back
    assert create(client).content  # the server keeps serving


def test_stream_break_sends_error_event_after_n_events(client, fake_anthropic):
    fake_anthropic.inject(Fault("stream_break", after_events=3))
    seen = []
    with pytest.raises(anthropic.APIStatusError) as exc:
        for event in create(client, stream=True):
            seen.append(event.type)
    assert seen == ["message_start", "content_block_start"]  # 3 events: the third was a ping
    assert exc.value.body["error"] == {"type": "overloaded_error", "message": "Overloaded"}


def test_malformed_frame_breaks_json_decoding(client, fake_anthropic):
    fake_anthropic.inject(Fault("malformed_frame", after_events=1))
    seen = []
    with pytest.raises(json.JSONDecodeError):
        for event in create(client, stream=True):
            seen.append(event.type)
    assert seen == ["message_start"]


def test_stream_faults_skip_non_streaming_requests(client, fake_anthropic):
    fake_anthropic.inject(Fault("stream_break"))
    assert create(client).content  # not a stream: the fault waits
    with pytest.raises(anthropic.APIStatusError):
        list(create(client, stream=True))


def test_slow_mid_stream(client, fake_anthropic):
    fake_anthropic.inject(Fault("slow", delay=0.3, after_events=2))
    stamps = [(event.type, time.monotonic()) for event in create(client, stream=True)]
    assert stamps[-1][0] == "message_stop"
    # Events sent: message_start, content_block_start, ping (skipped by the SDK), then the pause.
    first_delta = next(i for i, (kind, _) in enumerate(stamps) if kind == "content_block_delta")
    assert stamps[first_delta][1] - stamps[first_delta - 1][1] >= 0.25
    assert stamps[first_delta - 1][1] - stamps[0][1] < 0.25


def test_bedrock_only_kinds_are_refused(fake_anthropic):
    with pytest.raises(ValueError):
        fake_anthropic.inject(Fault("model_not_ready"))
    with pytest.raises(ValueError):
        Fault("no_such_kind")


def test_reset_clears_faults_and_requests(client, fake_anthropic):
    fake_anthropic.inject(Fault("server_error"))
    with pytest.raises(anthropic.InternalServerError):
        create(client)
    fake_anthropic.inject(Fault("overloaded", times=None))
    assert len(fake_anthropic.requests) == 1
    fake_anthropic.reset()
    assert fake_anthropic.requests == []
    assert create(client).content
    assert [r.status for r in fake_anthropic.requests] == [200]


def test_concurrent_requests_consume_faults_exactly(client, fake_anthropic):
    fake_anthropic.inject(Fault("rate_limit", times=5))

    def call(_):
        try:
            create(client)
            return 200
        except anthropic.RateLimitError:
            return 429

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(call, range(40)))
    assert results.count(429) == 5 and results.count(200) == 35
    assert sorted(r.status for r in fake_anthropic.requests) == sorted(results)
