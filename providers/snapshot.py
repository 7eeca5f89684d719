"""The active configuration as a snapshot: built once per process, reused by every call.

A call reads the chain (primary, then fallbacks, with env vars and secrets resolved) from
memory: no database query and no decryption when nothing changed. Every change to the
stored configuration (a save, a delete, a revision restore, an import) replaces a version
token in the shared cache after its transaction commits; each process compares tokens at
most every CHECK_SECONDS and rebuilds when they differ. Tokens are random, so a cache that
lost its data never matches an old snapshot. With the cache unreachable the snapshot is
rebuilt at most every REBUILD_WITHOUT_CACHE_SECONDS.
"""
import threading
import time
import uuid
from dataclasses import dataclass

from django.db import transaction

from providers.breaker import DEFAULT_POLICY, Policy
from providers.models import ProviderRouting
from providers.resolve import active_rollout, active_settings
from providers.selection import SelectionError
from providers.shared_cache import shared_cache

VERSION_KEY = "provider-config-version"
CHECK_SECONDS = 1.0
REBUILD_WITHOUT_CACHE_SECONDS = 5.0


@dataclass
class Snapshot:
    chain: list  # ProviderSettings, primary first
    error: str  # why the chain is empty, when it is
    version: str | None
    built_at: float
    checked_at: float
    rollout: dict | None = None  # {"target": name, "percent": n}: that share of calls goes to the target first
    breaker: Policy = DEFAULT_POLICY  # the stored breaker policy (providers.breaker)


_current = None
_lock = threading.Lock()


def _build(version):
    now = time.monotonic()
    try:
        chain, error = active_settings(), ""
    except SelectionError as exc:
        chain, error = [], str(exc)
    return Snapshot(chain, error or ("" if chain else "No provider is configured."), version, now, now,
                    rollout=active_rollout([s.name for s in chain]), breaker=breaker_policy(ProviderRouting.load()))


def breaker_policy(routing):
    return Policy(failures=max(1, routing.breaker_failures), error_rate=min(100, routing.breaker_error_rate),
                  window_seconds=max(1, routing.breaker_window_seconds), min_calls=max(1, routing.breaker_min_calls),
                  open_seconds=max(1, routing.breaker_open_seconds))


def current():
    """The snapshot in force for this process."""
    global _current
    snap, now = _current, time.monotonic()
    if snap is not None and now - snap.checked_at < CHECK_SECONDS:
        return snap
    version = shared_cache.get(VERSION_KEY)
    if version is None and shared_cache.add(VERSION_KEY, uuid.uuid4().hex, None):
        version = shared_cache.get(VERSION_KEY)
    with _lock:
        snap = _current
        if snap is not None and version is not None and version == snap.version:
            snap.checked_at = now
            return snap
        if snap is not None and version is None and now - snap.built_at < REBUILD_WITHOUT_CACHE_SECONDS:
            return snap  # cache unreachable: a short-lived snapshot rather than a query per call
        _current = _build(version)
        return _current


def active_chain():
    return current().chain


def forget():
    """Drop this process's snapshot (tests; and at once in the process that made a change)."""
    global _current
    _current = None


def configuration_changed(**_):
    """Signal receiver: this process forgets now; every process sees a new token once the
    change is committed (a token set before the commit could be read with the old data)."""
    forget()
    transaction.on_commit(lambda: shared_cache.set(VERSION_KEY, uuid.uuid4().hex, None))
