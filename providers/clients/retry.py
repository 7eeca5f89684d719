"""The one retry loop: exponential backoff with full jitter, honouring Retry-After.

The SDKs' own retries are turned off (max_retries=0) so that every attempt is counted
here, exactly once. Rules:
- never retry sooner than the provider's Retry-After; when Retry-After is longer than the
  policy's longest wait (max_retry_after) or than what is left of the call's deadline, give up on this
  provider at once (the choke point fails over) instead of waiting;
- a timeout is not retried on the same provider unless the policy says so: the first
  attempt may have been processed and billed.
"""
import asyncio
import logging
import random
import time

from providers.clients.errors import ErrorKind, ProviderError

log = logging.getLogger(__name__)


def backoff_delay(attempt, policy, retry_after=None, rng=random.random):
    """Seconds to wait before attempt number `attempt + 1` (attempt counts from 1)."""
    ceiling = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
    jittered = ceiling * rng()
    if retry_after is not None and retry_after >= 0:
        return max(retry_after, jittered)
    return jittered


def remaining(deadline, clock=time.monotonic):
    return None if deadline is None else deadline - clock()


def call_with_retries(operation, policy, *, describe="provider call", deadline=None, sleep=time.sleep,
                      clock=time.monotonic):
    """Run operation() until it succeeds, fails with a non-retryable kind, runs out of
    attempts, or would outlive `deadline` (a time.monotonic() value). Returns (result, attempts)."""
    attempt = 1
    while True:
        try:
            return operation(), attempt
        except ProviderError as error:
            sleep(next_delay(error, attempt, policy, describe=describe, deadline=deadline, clock=clock))
            attempt += 1


async def call_with_retries_async(operation, policy, *, describe="provider call", deadline=None):
    """call_with_retries for a coroutine function, waiting with asyncio.sleep."""
    attempt = 1
    while True:
        try:
            return await operation(), attempt
        except ProviderError as error:
            await asyncio.sleep(next_delay(error, attempt, policy, describe=describe, deadline=deadline))
            attempt += 1


def next_delay(error, attempt, policy, *, describe, deadline, clock=time.monotonic):
    """Seconds to wait before retrying after `error` on attempt number `attempt`; raises the error
    when it is not retried (its kind, the attempts, Retry-After or the deadline say so)."""
    if not error.retryable or attempt >= policy.max_attempts:
        raise error
    if error.kind is ErrorKind.TIMEOUT and not policy.retry_timeouts:
        raise error
    delay = backoff_delay(attempt, policy, error.retry_after)
    if error.retry_after is not None and error.retry_after > policy.max_retry_after:
        log.warning("%s: retry-after %.1fs exceeds the longest wait (%.1fs); giving up on this provider",
                    describe, error.retry_after, policy.max_retry_after)
        raise error
    left = remaining(deadline, clock)
    if left is not None and delay >= left:
        log.warning("%s: waiting %.1fs would pass the call's deadline; giving up on this provider",
                    describe, delay)
        raise error
    log.warning("%s failed (%s, attempt %d/%d); retrying in %.2fs",
                describe, error.kind.value, attempt, policy.max_attempts, delay)
    return delay
