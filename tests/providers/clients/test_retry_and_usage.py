"""The retry loop and usage normalization, without the network."""
import pytest

from providers.clients.base import RetryPolicy
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.retry import backoff_delay, call_with_retries
from providers.clients.usage import Usage

POLICY = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0)


def test_backoff_never_waits_less_than_retry_after():
    assert backoff_delay(1, POLICY, retry_after=3, rng=lambda: 1.0) == 3
    assert backoff_delay(1, POLICY, retry_after=20, rng=lambda: 1.0) == 20  # was capped at 8 s: 12 s too early
    assert backoff_delay(4, POLICY, retry_after=0.1, rng=lambda: 1.0) == 4  # backoff still applies


def _failing(*errors):
    calls = []

    def operation():
        calls.append(1)
        raise errors[min(len(calls), len(errors)) - 1]

    return operation, calls


def test_a_retry_after_longer_than_the_longest_wait_gives_up_on_the_provider_at_once():
    operation, calls = _failing(ProviderError(ErrorKind.RATE_LIMITED, "slow down", retry_after=20))
    sleeps = []
    with pytest.raises(ProviderError) as caught:
        call_with_retries(operation, POLICY, sleep=sleeps.append)
    assert caught.value.kind is ErrorKind.RATE_LIMITED and caught.value.triggers_failover
    assert len(calls) == 1 and sleeps == []  # no retry 12 s before the server allowed it


def test_a_wait_that_would_pass_the_deadline_gives_up_instead():
    operation, calls = _failing(ProviderError(ErrorKind.RATE_LIMITED, "slow down", retry_after=5))
    now = [100.0]
    with pytest.raises(ProviderError):
        call_with_retries(operation, POLICY, deadline=103.0, sleep=lambda s: None, clock=lambda: now[0])
    assert len(calls) == 1


def test_timeouts_are_not_retried_on_the_same_provider_unless_asked():
    operation, calls = _failing(ProviderError(ErrorKind.TIMEOUT, "slow"))
    with pytest.raises(ProviderError):
        call_with_retries(operation, POLICY, sleep=lambda _: None)
    assert len(calls) == 1
    operation, calls = _failing(ProviderError(ErrorKind.TIMEOUT, "slow"))
    with pytest.raises(ProviderError):
        call_with_retries(operation, RetryPolicy(max_attempts=3, retry_timeouts=True), sleep=lambda _: None)
    assert len(calls) == 3


def test_backoff_is_exponential_with_full_jitter():
    assert [backoff_delay(n, POLICY, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1, 2, 4, 8, 8]
    assert backoff_delay(3, POLICY, rng=lambda: 0.25) == 0.5


def test_retries_only_retryable_kinds_and_counts_attempts():
    sleeps, outcomes = [], [ProviderError(ErrorKind.RATE_LIMITED, "slow down", retry_after=2),
                            ProviderError(ErrorKind.OVERLOADED, "busy"), "done"]

    def operation():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    result, attempts = call_with_retries(operation, POLICY, sleep=sleeps.append)
    assert (result, attempts) == ("done", 3)
    assert sleeps[0] >= 2 and 0 <= sleeps[1] <= 1.0


def test_non_retryable_errors_are_raised_at_once():
    calls = []

    def operation():
        calls.append(1)
        raise ProviderError(ErrorKind.INVALID_REQUEST, "bad")

    with pytest.raises(ProviderError):
        call_with_retries(operation, POLICY, sleep=lambda _: None)
    assert len(calls) == 1


def test_gives_up_after_max_attempts():
    calls = []

    def operation():
        calls.append(1)
        raise ProviderError(ErrorKind.UNAVAILABLE, "down")

    with pytest.raises(ProviderError) as caught:
        call_with_retries(operation, POLICY, sleep=lambda _: None)
    assert caught.value.kind is ErrorKind.UNAVAILABLE and len(calls) == 4


@pytest.mark.parametrize("kind, retryable, failover", [
    (ErrorKind.RATE_LIMITED, True, True), (ErrorKind.UNAVAILABLE, True, True),
    (ErrorKind.AUTHENTICATION, False, True), (ErrorKind.MODEL_NOT_AVAILABLE, False, True),
    (ErrorKind.INVALID_REQUEST, False, False), (ErrorKind.CONTEXT_TOO_LONG, False, False),
    (ErrorKind.STREAM_INTERRUPTED, False, False),
])
def test_each_kind_says_whether_to_retry_and_fail_over(kind, retryable, failover):
    error = ProviderError(kind, "x")
    assert (error.retryable, error.triggers_failover) == (retryable, failover)


def test_usage_from_anthropic_shape_with_ttl_breakdown():
    usage = Usage.from_anthropic({
        "input_tokens": 10, "output_tokens": 7, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 2000,
        "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
    })
    assert (usage.cache_write_5m_tokens, usage.cache_write_1h_tokens, usage.cache_read_tokens) == (100, 200, 2000)
    assert usage.total_input_tokens == 10 + 300 + 2000


def test_usage_without_breakdown_counts_writes_as_five_minute_ones():
    usage = Usage.from_anthropic({"input_tokens": 5, "output_tokens": 1, "cache_creation_input_tokens": 40,
                                  "cache_read_input_tokens": None})
    assert (usage.cache_write_5m_tokens, usage.cache_write_1h_tokens, usage.cache_read_tokens) == (40, 0, 0)


def test_usage_from_converse_shape():
    usage = Usage.from_converse({"inputTokens": 12, "outputTokens": 3, "cacheReadInputTokens": 50,
                                 "cacheWriteInputTokens": 8, "totalTokens": 73})
    assert usage.total_input_tokens + usage.output_tokens == 73


def test_stream_delta_updates_output_and_keeps_input():
    start = Usage.from_anthropic({"input_tokens": 20, "output_tokens": 1, "cache_read_input_tokens": 5})
    final = start.merged_with_stream_delta({"output_tokens": 42})
    assert (final.input_tokens, final.output_tokens, final.cache_read_tokens) == (20, 42, 5)
