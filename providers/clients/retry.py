"""The one retry loop: exponential backoff with full jitter, honouring Retry-After.

The SDKs' own retries are turned off (max_retries=0) so that every attempt is
counted here, exactly once.
"""
import logging
import random
import time

from providers.clients.errors import ProviderError

log = logging.getLogger(__name__)


def backoff_delay(attempt, policy, retry_after=None, rng=random.random):
    """Seconds to wait before attempt number `attempt + 1` (attempt counts from 1)."""
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, policy.max_delay)
    ceiling = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
    return ceiling * rng()


def call_with_retries(operation, policy, *, describe="provider call", sleep=time.sleep):
    """Run operation() until it succeeds, fails with a non-retryable kind, or
    attempts run out. Returns (result, attempts)."""
    attempt = 1
    while True:
        try:
            return operation(), attempt
        except ProviderError as error:
            if not error.retryable or attempt >= policy.max_attempts:
                raise
            delay = backoff_delay(attempt, policy, error.retry_after)
            log.warning("%s failed (%s, attempt %d/%d); retrying in %.2fs",
                        describe, error.kind.value, attempt, policy.max_attempts, delay)
            sleep(delay)
            attempt += 1
