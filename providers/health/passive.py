"""Passive signals from real traffic: calls served by a provider other than the primary, counted
in the shared cache.

A call counts when it was failed over, or when the primary was skipped (its breaker open) and a
fallback served it; calls pinned to a provider and health checks do not. One atomic increment
per such call (none for ordinary calls), so an incident can say how many calls were served
elsewhere while it lasted: the counter at its end minus the counter at its start.
"""
from providers import snapshot
from providers.shared_cache import shared_cache

FAILOVERS_KEY = "health:failovers"
_IGNORED_PURPOSES = {"test", "health"}


def observe_call(record):
    if record.status != "ok" or record.context.provider or record.context.purpose in _IGNORED_PURPOSES:
        return
    if record.failed_over or _served_by_a_fallback(record.provider_name):
        shared_cache.incr(FAILOVERS_KEY)


def _served_by_a_fallback(name):
    chain = snapshot.active_chain()  # in memory: no query per call
    return bool(chain) and chain[0].name != name


def failovers_so_far():
    return shared_cache.get(FAILOVERS_KEY) or 0
