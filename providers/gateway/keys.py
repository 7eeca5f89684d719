"""Gateway keys on the request path: checked against an in-process table, never a query per request.

The table (SHA-256 of each usable key -> KeyEntry) is loaded once per process and reloaded when
the version token in the shared cache changes (every save or delete of a GatewayKey replaces it
after the transaction commits), checked at most every CHECK_SECONDS: a revoked key stops working
in every process within about that time. An unknown key costs a dict lookup (the table is the
negative cache: nothing is queried for it), and failed attempts are counted per client address
in the shared cache; an address over FAILED_ATTEMPTS_LIMIT per window gets 429 for further bad keys.
"""
import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from providers.models import GatewayKey
from providers.shared_cache import shared_cache

KEY_PREFIX = "mgw-"
VERSION_KEY = "gateway-keys-version"
CHECK_SECONDS = 1.0
REBUILD_WITHOUT_CACHE_SECONDS = 5.0
FAILED_ATTEMPTS_LIMIT = 20
FAILED_ATTEMPTS_WINDOW_SECONDS = 60
LAST_USED_KEY = "gateway-key-used:{}"
LAST_USED_EVERY_SECONDS = 30.0


@dataclass(frozen=True)
class KeyEntry:
    id: int
    label: str
    allowed_models: frozenset  # empty: every model
    expires_at: object  # datetime or None
    response_cache: str = "request"  # the key's response cache policy: request, use or off
    response_cache_ttl: int | None = None  # seconds; None: RESPONSE_CACHE_TTL_SECONDS
    prompt_caching: bool = True  # automatic breakpoints where the serving provider has them on


def new_key():
    """A fresh high-entropy key (256 bits), its hash and a hint to recognise it by."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hash_key(key), f"{key[:8]}…{key[-4:]}"


def hash_key(key):
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class KeyTable:
    def __init__(self):
        self._entries, self._version = None, None
        self._built_at = self._checked_at = 0.0
        self._lock = threading.Lock()
        self._used = {}  # key id -> monotonic time last reported to the shared cache

    def lookup(self, key):
        """The KeyEntry for a usable key (not revoked, not expired), else None."""
        return _usable(self._current().get(hash_key(key)))

    def lookup_in_memory(self, key):
        """lookup() from the table in memory only: None when it is due for a check or the key is unknown."""
        if self._entries is None or time.monotonic() - self._checked_at >= CHECK_SECONDS:
            return None
        return _usable(self._entries.get(hash_key(key)))

    def use_due(self, entry):
        """Whether mark_used would write (the event loop asks before handing it to a thread)."""
        return time.monotonic() - self._used.get(entry.id, -LAST_USED_EVERY_SECONDS) >= LAST_USED_EVERY_SECONDS

    def _current(self):
        now = time.monotonic()
        if self._entries is not None and now - self._checked_at < CHECK_SECONDS:
            return self._entries
        version = shared_cache.get(VERSION_KEY)
        if version is None and shared_cache.add(VERSION_KEY, uuid.uuid4().hex, None):
            version = shared_cache.get(VERSION_KEY)
        with self._lock:
            if self._entries is not None and version is not None and version == self._version:
                self._checked_at = now
                return self._entries
            if self._entries is not None and version is None and now - self._built_at < REBUILD_WITHOUT_CACHE_SECONDS:
                return self._entries  # cache unreachable: reload every few seconds, not per request
            self._entries, self._version = _load(), version
            self._built_at = self._checked_at = now
            return self._entries

    def forget(self):
        with self._lock:
            self._entries = None

    def mark_used(self, entry):
        """Note the use in the shared cache, at most every LAST_USED_EVERY_SECONDS per key and process."""
        if self.use_due(entry):
            self._used[entry.id] = time.monotonic()
            shared_cache.set(LAST_USED_KEY.format(entry.id), timezone.now().isoformat(), 40 * 86400)


def _usable(entry):
    """The entry, unless it is missing or expired."""
    if entry is None or (entry.expires_at is not None and entry.expires_at <= timezone.now()):
        return None
    return entry


def _load():
    rows = GatewayKey.objects.filter(revoked_at__isnull=True).values_list(
        "id", "label", "key_hash", "allowed_models", "expires_at", "response_cache", "response_cache_ttl_seconds",
        "prompt_caching")
    return {key_hash: KeyEntry(pk, label, frozenset(models or ()), expires, cache, ttl, caching)
            for pk, label, key_hash, models, expires, cache, ttl, caching in rows}


keys = KeyTable()


def keys_changed(**_):
    """Signal receiver: this process reloads now, every process once the change is committed."""
    keys.forget()
    transaction.on_commit(lambda: shared_cache.set(VERSION_KEY, uuid.uuid4().hex, None))


def last_used(key_ids):
    """{key id: ISO time} of the last use any process reported."""
    found = shared_cache.get_many([LAST_USED_KEY.format(pk) for pk in key_ids]) or {}
    return {pk: found.get(LAST_USED_KEY.format(pk)) for pk in key_ids}


class FailedAttempts:
    """Failed authentications per client address, counted in the shared cache."""

    def __init__(self, limit=FAILED_ATTEMPTS_LIMIT, window=FAILED_ATTEMPTS_WINDOW_SECONDS):
        self.limit, self.window = limit, window
        self._blocked = {}  # address -> monotonic time until which it is refused without a cache trip

    def _key(self, address):
        return f"gateway-failed-auth:{address}"

    def blocked(self, address):
        until = self._blocked.get(address)
        if until is not None:
            if time.monotonic() < until:
                return True
            self._blocked.pop(address, None)
        count = shared_cache.get(self._key(address))
        return isinstance(count, int) and count >= self.limit

    def record(self, address):
        count = shared_cache.incr(self._key(address), 1, self.window)
        if isinstance(count, int) and count >= self.limit:
            if len(self._blocked) > 10000:
                self._blocked.clear()
            self._blocked[address] = time.monotonic() + min(self.window, 5.0)


failed_attempts = FailedAttempts()
