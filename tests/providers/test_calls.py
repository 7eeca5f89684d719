"""The choke point: usage is recorded for every outcome, and failover fires only when it should."""
import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.test import override_settings

from providers import breaker
from providers.call_records import CallContext
from providers.calls import invoke
from providers.clients.errors import ErrorKind, ProviderError
from providers.fakes import Fault
from tests.fake_providers import anthropic_settings, bedrock_settings, model_calls
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]
HELLO = {"model": "haiku", "max_tokens": 32, "messages": [{"role": "user", "content": "Hello"}]}
TEST = CallContext(purpose="test")
UNREACHABLE_CACHE = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                 "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens on port 1


@pytest.fixture
def primary(bedrock_fake):
    return bedrock_settings(bedrock_fake, name="bedrock-primary")


@pytest.fixture
def secondary(anthropic_fake):
    return anthropic_settings(anthropic_fake, name="anthropic-fallback")


def test_a_call_records_usage_and_cost(primary):
    result = invoke([primary], HELLO, CallContext(purpose="test", gateway_key="key-1", agent="summarizer"))
    record = UsageRecord.objects.get()
    assert (record.provider_name, record.provider_kind, record.model_id) == ("bedrock-primary", "bedrock",
                                                                             result.model_id)
    assert (record.purpose, record.status, record.gateway_key, record.agent) == ("test", "ok", "key-1", "summarizer")
    assert record.input_tokens == result.usage.input_tokens and record.output_tokens == result.usage.output_tokens
    assert record.logical_model == "haiku" and record.region == "us-east-1"
    assert record.cost_total is not None and record.cost_total > 0
    assert record.latency_ms > 0
    assert result.provider_name == "bedrock-primary" and not result.failed_over


def test_a_failed_call_is_recorded_with_its_kind(primary, bedrock_fake):
    bedrock_fake.inject(Fault("access_denied", path_contains="/messages"))  # haiku: Bedrock's Messages API
    with pytest.raises(ProviderError):
        invoke([primary], HELLO)
    record = UsageRecord.objects.get()
    assert record.status == "permission" and record.output_tokens == 0


def test_failover_on_service_unavailable_returned_as_400(primary, secondary, bedrock_fake):
    bedrock_fake.inject(Fault("service_unavailable_400", times=None))
    result = invoke([primary, secondary], HELLO)
    assert result.provider_kind == "anthropic" and result.failed_over
    statuses = dict(UsageRecord.objects.values_list("provider_name", "status"))
    assert statuses == {"bedrock-primary": "unavailable", "anthropic-fallback": "ok"}


def test_invalid_request_does_not_fail_over(primary, secondary, anthropic_fake):
    with pytest.raises(ProviderError) as caught:
        invoke([primary, secondary], {**HELLO, "messages": []})
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert model_calls(anthropic_fake) == []


def test_streaming_fails_over_before_the_first_event(primary, secondary, bedrock_fake):
    bedrock_fake.inject(Fault("throttling", times=None))
    stream = invoke([primary, secondary], HELLO, stream=True)
    types = [event["type"] for event in stream]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert stream.provider_name == "anthropic-fallback" and stream.failed_over
    ok = UsageRecord.objects.get(status="ok")
    assert ok.stream and ok.provider_name == "anthropic-fallback" and ok.output_tokens > 0 and ok.ttft_ms


def test_a_stream_whose_connection_drops_before_its_first_event_fails_over(secondary, anthropic_fake, bedrock_fake):
    first = anthropic_settings(anthropic_fake, name="anthropic-primary")
    anthropic_fake.inject(Fault("reset", times=3))  # every attempt on the primary
    stream = invoke([first, bedrock_settings(bedrock_fake, name="bedrock-fallback")], HELLO, stream=True)
    assert [e["type"] for e in stream][-1] == "message_stop" and stream.provider_name == "bedrock-fallback"
    failed = UsageRecord.objects.get(provider_name="anthropic-primary")
    assert failed.status == "connection" and failed.output_tokens == 0  # not "ok" with 0 tokens
    assert breaker.state("anthropic-primary")["failures"] == 1


def test_no_failover_after_the_first_streamed_event(primary, secondary, bedrock_fake, anthropic_fake):
    bedrock_fake.inject(Fault("stream_break", after_events=4))
    stream = invoke([primary, secondary], HELLO, stream=True)
    received = []
    with pytest.raises(ProviderError) as caught:
        for event in stream:
            received.append(event)
    assert caught.value.kind is ErrorKind.STREAM_INTERRUPTED
    assert received and model_calls(anthropic_fake) == []  # the client's stream was never spliced
    record = UsageRecord.objects.get()
    assert record.status == "stream_interrupted"
    deltas = sum(1 for e in received if e["type"] == "content_block_delta")
    assert deltas >= 1 and record.output_tokens >= deltas  # what was delivered, not a flat 1


def test_a_stream_the_caller_abandons_is_recorded_as_abandoned(secondary):
    long = {**HELLO, "max_tokens": 200, "messages": [{"role": "user", "content": "Tell me a long story"}]}
    with invoke([secondary], long, stream=True) as stream:
        events = iter(stream)
        received = [next(events) for _ in range(4)]
    assert sum(1 for e in received if e["type"] == "content_block_delta") >= 1
    record = UsageRecord.objects.get()
    assert record.status == "abandoned" and record.output_tokens >= 1 and record.input_tokens > 0


def test_a_failure_while_opening_a_stream_is_recorded(secondary):
    # max_tokens leaves no room for a thinking budget: refused before anything is sent.
    request = {**HELLO, "model": "claude-sonnet-4-6", "max_tokens": 600,
               "thinking": {"type": "enabled", "budget_tokens": 2048}}
    with pytest.raises(ProviderError) as caught:
        invoke([secondary], request, stream=True)
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert UsageRecord.objects.get().status == "invalid_request"


@pytest.mark.parametrize("request_, field", [
    ({**HELLO, "temprature": 0.2}, "temprature"),
    ({"model": "haiku", "messages": HELLO["messages"], "thinking": {"type": "enabled", "budget_tokens": 1024}},
     "max_tokens"),
    ({**HELLO, "thinking": {"type": "enabled"}}, "budget_tokens"),
    ({**HELLO, "messages": "Hello"}, "messages"),
    (["not", "an", "object"], "JSON object"),
])
def test_a_malformed_request_is_invalid_request_naming_the_field_with_a_usage_row(secondary, request_, field):
    with pytest.raises(ProviderError) as caught:
        invoke([secondary], request_)
    assert caught.value.kind is ErrorKind.INVALID_REQUEST and field in str(caught.value)
    assert UsageRecord.objects.get().status == "invalid_request"


def test_per_request_beta_flags_merge_with_the_providers(anthropic_fake):
    settings = anthropic_settings(anthropic_fake, beta_flags=("context-1m-2025-08-07",))
    invoke([settings], {**HELLO, "betas": ["token-efficient-tools-2025-02-19"],
                        "extra_headers": {"anthropic-beta": "interleaved-thinking-2025-05-14", "x-trace": "t1"}})
    sent = model_calls(anthropic_fake)[-1].headers
    flags = {f.strip() for f in sent["anthropic-beta"].split(",")}
    assert flags == {"context-1m-2025-08-07", "token-efficient-tools-2025-02-19", "interleaved-thinking-2025-05-14"}
    assert sent["x-trace"] == "t1"


def test_a_retry_after_longer_than_the_wait_allowed_fails_over_at_once(secondary, bedrock_fake):
    first = bedrock_settings(bedrock_fake, name="bedrock-primary")
    bedrock_fake.inject(Fault("throttling", times=None, retry_after=20))
    result = invoke([first, secondary], HELLO)
    assert result.provider_name == "anthropic-fallback"
    assert len(model_calls(bedrock_fake)) == 1  # not retried 8 s later, 12 s before the server allowed it


def test_a_timeout_is_not_retried_on_the_same_provider(primary, secondary, bedrock_fake):
    bedrock_fake.inject(Fault("slow", times=None, delay=1.0))
    result = invoke([dataclasses.replace(primary, timeout=0.3), secondary], HELLO)
    assert result.provider_name == "anthropic-fallback"
    assert len(model_calls(bedrock_fake)) == 1  # the first attempt may have been billed


def test_the_overall_deadline_bounds_retries_and_failover(primary, secondary, bedrock_fake):
    bedrock_fake.inject(Fault("slow", times=None, delay=2.0))
    with pytest.raises(ProviderError) as caught:
        invoke([dataclasses.replace(primary, timeout=5.0), secondary], HELLO, CallContext(deadline_seconds=0.5))
    assert caught.value.kind is ErrorKind.TIMEOUT


def test_open_circuit_is_skipped_while_another_provider_is_healthy(primary, secondary, bedrock_fake):
    bedrock_fake.inject(Fault("unavailable", times=None))
    for _ in range(breaker.FAILURE_THRESHOLD):
        invoke([primary, secondary], HELLO)
    assert breaker.is_open("bedrock-primary")
    before = len(model_calls(bedrock_fake))
    served = invoke([primary, secondary], HELLO)
    assert served.provider_kind == "anthropic" and served.failed_over  # the primary was skipped
    assert len(model_calls(bedrock_fake)) == before  # not even tried
    breaker.record_success("bedrock-primary")
    assert not breaker.is_open("bedrock-primary")


@pytest.mark.skipif("redis" not in settings.CACHES["default"]["BACKEND"].lower(),
                    reason="atomic counters need the shared Redis cache (CI runs this with CACHE_URL)")
@pytest.mark.django_db(transaction=True)
def test_failures_from_many_threads_all_count():

    error = ProviderError(ErrorKind.UNAVAILABLE, "down")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: breaker.record_failure("busy", error), range(40)))
    assert breaker.state("busy")["failures"] == 40


def test_a_call_that_fails_before_resolving_is_recorded_under_the_requested_name(secondary):
    no_key = dataclasses.replace(secondary, api_key=None)
    with pytest.raises(ProviderError) as caught:
        invoke([no_key], HELLO, TEST)
    assert caught.value.kind is ErrorKind.CONFIGURATION
    record = UsageRecord.objects.get()
    assert (record.model_id, record.status, record.cost_total) == ("haiku", "configuration", None)


def test_test_connection_calls_never_move_the_circuit_breaker(primary):
    # Testing unsaved values must not take the stored provider of the same name out of traffic.
    bad = dataclasses.replace(primary, aws_secret_access_key="typed-but-not-saved")
    for _ in range(breaker.FAILURE_THRESHOLD + 1):
        with pytest.raises(ProviderError):
            invoke([bad], HELLO, TEST)
    assert not breaker.is_open("bedrock-primary") and breaker.state("bedrock-primary")["failures"] == 0
    assert UsageRecord.objects.filter(purpose="test", status="authentication").count() == 4  # still recorded
    for _ in range(breaker.FAILURE_THRESHOLD):
        with pytest.raises(ProviderError):
            invoke([bad], HELLO)
    assert breaker.is_open("bedrock-primary")  # real traffic does


def test_pinning_a_provider_never_fails_over(primary, secondary, bedrock_fake):
    bedrock_fake.inject(Fault("unavailable", times=None))
    with pytest.raises(ProviderError) as caught:
        invoke([primary, secondary], HELLO, CallContext(provider="bedrock-primary"))
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert invoke([primary, secondary], HELLO, CallContext(provider="anthropic-fallback")).provider_kind == "anthropic"
    with pytest.raises(ProviderError) as caught:
        invoke([primary, secondary], HELLO, CallContext(provider="nope"))
    assert caught.value.kind is ErrorKind.CONFIGURATION and "nope" in caught.value.message


def test_with_the_cache_unreachable_calls_succeed_and_fail_over(primary, secondary, bedrock_fake):
    with override_settings(CACHES=UNREACHABLE_CACHE):
        assert invoke([secondary], HELLO).provider_name == "anthropic-fallback"  # returned, not raised after billing
        bedrock_fake.inject(Fault("unavailable", times=None))
        result = invoke([primary, secondary], HELLO)
        assert result.provider_name == "anthropic-fallback" and result.failed_over
        stream = invoke([secondary], HELLO, stream=True)
        assert [e["type"] for e in stream][-1] == "message_stop"
    assert UsageRecord.objects.filter(status="ok").count() == 3


def test_a_request_is_adapted_to_the_model_that_serves_it(anthropic_fake, monkeypatch):
    # Sonnet 5.5 answers 400 to a manual thinking budget and to non-default sampling.
    request = {"model": "sonnet", "max_tokens": 4000, "temperature": 0.3, "top_k": 5,
               "thinking": {"type": "enabled", "budget_tokens": 2048}, "messages": HELLO["messages"]}
    result = invoke([anthropic_settings(anthropic_fake)], request)
    sent = model_calls(anthropic_fake)[-1].json
    assert sent["model"].startswith("claude-sonnet-5-5")
    assert sent["thinking"] == {"type": "adaptive"} and sent["output_config"]["effort"] == "low"
    assert "temperature" not in sent and "top_k" not in sent
    assert result.record.adaptations and any("temperature" in change for change in result.record.adaptations)
    stored = UsageRecord.objects.get()  # the usage row says what was changed (CSV export's adaptations)
    assert stored.adaptations == "; ".join(result.record.adaptations)
    assert "effort low" in stored.adaptations and "dropped temperature=0.3" in stored.adaptations


def test_after_failover_the_request_is_adapted_to_the_next_providers_model(anthropic_fake, bedrock_fake):
    # The primary maps sonnet to Sonnet 4.5, which takes sampling parameters; it fails on every attempt. The
    # fallback Bedrock provider maps sonnet to Sonnet 5.5 (the Messages API), which answers 400 to them.
    primary = anthropic_settings(anthropic_fake, name="anthropic-primary",
                                 model_mapping={"sonnet": "claude-sonnet-4-5-20250929"})
    fallback = bedrock_settings(bedrock_fake, name="bedrock-fallback")
    anthropic_fake.inject(Fault("reset", times=None))
    request = {"model": "sonnet", "max_tokens": 64, "temperature": 0.3, "top_k": 5, "messages": HELLO["messages"]}
    result = invoke([primary, fallback], request)
    assert result.failed_over and result.provider_kind == "bedrock"
    [sent] = [c.json for c in model_calls(bedrock_fake) if c.path == "/anthropic/v1/messages"]
    assert sent["model"].endswith("claude-sonnet-5-5")
    assert "temperature" not in sent and "top_k" not in sent  # adapted for the model that served it
    assert any("temperature" in change and "Sonnet 5.5" in change for change in result.record.adaptations)
    assert request["temperature"] == 0.3  # the caller's request is untouched
    served = UsageRecord.objects.get(provider_name="bedrock-fallback", status="ok")
    assert "dropped temperature=0.3 (Claude Sonnet 5.5" in served.adaptations
    assert not UsageRecord.objects.filter(provider_name="anthropic-primary").exclude(adaptations="").exists()


def test_a_setting_with_no_safe_adaptation_is_refused_naming_it(anthropic_fake):
    prefill = {**HELLO, "model": "sonnet", "messages": [*HELLO["messages"], {"role": "assistant", "content": "Sure"}]}
    with pytest.raises(ProviderError) as caught:
        invoke([anthropic_settings(anthropic_fake)], prefill)
    assert caught.value.kind is ErrorKind.INVALID_REQUEST and "prefill" in str(caught.value).lower()
    assert model_calls(anthropic_fake) == []  # never reached the provider as a 400


def test_us_only_inference_is_priced_at_its_premium(anthropic_fake):
    request = {**HELLO, "model": "opus"}
    plain = invoke([anthropic_settings(anthropic_fake)], request)
    us_only = invoke([anthropic_settings(anthropic_fake)], {**request, "inference_geo": "us"})
    assert us_only.usage == plain.usage
    assert us_only.record.cost_usd == (plain.record.cost_usd * 11 / 10).quantize(us_only.record.cost_usd)
    assert UsageRecord.objects.filter(inference_geo="us").count() == 1
