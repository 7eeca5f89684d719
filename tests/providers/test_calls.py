"""The choke point: usage is recorded for every call, and failover fires only when it should."""
import dataclasses

import pytest

from providers import calls, health
from providers.clients.errors import ErrorKind, ProviderError
from providers.fakes import Fault
from tests.fake_providers import anthropic_settings, bedrock_settings, model_calls
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]
HELLO = {"model": "haiku", "max_tokens": 32, "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture
def primary(bedrock_fake):
    return bedrock_settings(bedrock_fake, name="bedrock-primary")


@pytest.fixture
def secondary(anthropic_fake):
    return anthropic_settings(anthropic_fake, name="anthropic-fallback")


def test_a_call_records_usage_and_cost(primary):
    result = calls.create_message(primary, HELLO, purpose="test", gateway_key="key-1", agent="summarizer")
    record = UsageRecord.objects.get()
    assert (record.provider_name, record.provider_kind, record.model_id) == ("bedrock-primary", "bedrock",
                                                                             result.model_id)
    assert (record.purpose, record.status, record.gateway_key, record.agent) == ("test", "ok", "key-1", "summarizer")
    assert record.input_tokens == result.usage.input_tokens and record.output_tokens == result.usage.output_tokens
    assert record.logical_model == "haiku" and record.region == "us-east-1"
    assert record.cost_total is not None and record.cost_total > 0
    assert record.latency_ms > 0


def test_a_failed_call_is_recorded_with_its_kind(primary, bedrock_fake):
    bedrock_fake.inject(Fault("access_denied", path_contains="/invoke"))
    with pytest.raises(ProviderError):
        calls.create_message(primary, HELLO)
    record = UsageRecord.objects.get()
    assert record.status == "permission" and record.output_tokens == 0


def test_failover_on_service_unavailable_returned_as_400(primary, secondary, bedrock_fake, anthropic_fake):
    bedrock_fake.inject(Fault("service_unavailable_400", times=None))
    result = calls.create_with_failover([primary, secondary], HELLO)
    assert result.provider_kind == "anthropic"
    statuses = dict(UsageRecord.objects.values_list("provider_name", "status"))
    assert statuses == {"bedrock-primary": "unavailable", "anthropic-fallback": "ok"}


def test_invalid_request_does_not_fail_over(primary, secondary, anthropic_fake):
    with pytest.raises(ProviderError) as caught:
        calls.create_with_failover([primary, secondary], {**HELLO, "messages": []})
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert model_calls(anthropic_fake) == []


def test_streaming_fails_over_before_the_first_event(primary, secondary, bedrock_fake):
    bedrock_fake.inject(Fault("throttling", times=None))
    stream, events = calls.stream_with_failover([primary, secondary], HELLO)
    types = [event["type"] for event in events]
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert stream.settings.name == "anthropic-fallback"
    ok = UsageRecord.objects.get(status="ok")
    assert ok.stream and ok.provider_name == "anthropic-fallback" and ok.output_tokens > 0 and ok.ttft_ms


def test_no_failover_after_the_first_streamed_event(primary, secondary, bedrock_fake, anthropic_fake):
    bedrock_fake.inject(Fault("stream_break", after_events=2))
    stream, events = calls.stream_with_failover([primary, secondary], HELLO)
    received = []
    with pytest.raises(ProviderError) as caught:
        for event in events:
            received.append(event)
    assert caught.value.kind is ErrorKind.STREAM_INTERRUPTED
    assert received and model_calls(anthropic_fake) == []  # the client's stream was never spliced
    assert UsageRecord.objects.get().status == "stream_interrupted"


def test_open_circuit_is_skipped_while_another_provider_is_healthy(primary, secondary, bedrock_fake):
    bedrock_fake.inject(Fault("unavailable", times=None))
    for _ in range(health.FAILURE_THRESHOLD):
        calls.create_with_failover([primary, secondary], HELLO)
    assert health.is_open("bedrock-primary")
    before = len(model_calls(bedrock_fake))
    assert calls.create_with_failover([primary, secondary], HELLO).provider_kind == "anthropic"
    assert len(model_calls(bedrock_fake)) == before  # not even tried
    health.record_success("bedrock-primary")
    assert not health.is_open("bedrock-primary")


def test_a_call_that_fails_before_resolving_is_recorded_under_the_requested_name(secondary):
    no_key = dataclasses.replace(secondary, api_key=None)
    with pytest.raises(ProviderError) as caught:
        calls.create_message(no_key, HELLO, purpose="test")
    assert caught.value.kind is ErrorKind.CONFIGURATION
    record = UsageRecord.objects.get()
    assert (record.model_id, record.status, record.cost_total) == ("haiku", "configuration", None)


def test_test_connection_calls_never_move_the_circuit_breaker(primary, bedrock_fake):
    # Testing unsaved values must not take the stored provider of the same name out of traffic.
    bad = dataclasses.replace(primary, aws_secret_access_key="typed-but-not-saved")
    for _ in range(health.FAILURE_THRESHOLD + 1):
        with pytest.raises(ProviderError):
            calls.create_message(bad, HELLO, purpose="test")
    assert not health.is_open("bedrock-primary") and health.state("bedrock-primary")["failures"] == 0
    assert UsageRecord.objects.filter(purpose="test", status="authentication").count() == 4  # still recorded
    for _ in range(health.FAILURE_THRESHOLD):
        with pytest.raises(ProviderError):
            calls.create_message(bad, HELLO, purpose="gateway")
    assert health.is_open("bedrock-primary")  # real traffic does
