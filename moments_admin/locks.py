"""Locks for periodic jobs that free themselves when their holder dies.

    with job_lock("usage-rollups") as held:
        if not held:
            return "skipped"
        ...

On PostgreSQL: a session-level pg_try_advisory_lock on a connection of its own, released by the
server the moment that connection closes, including when the holder is killed (kill -9, OOM).
Elsewhere: a cache entry holding an owner token for JOB_LOCK_TTL_SECONDS, renewed by a thread of
the holder every third of that; release deletes it only when it still holds our token
(compare-and-delete, atomic in Redis with a script), so no run ever frees another run's lock.
A dead holder blocks the next run for at most the TTL.

For "once per interval across every worker and beat" (the health checks), `claim_interval` takes
the current epoch-aligned slot of an interval: the first claim wins, every other one in the same
slot gets None, and the key expires with its slot.
"""
import contextlib
import hashlib
import logging
import threading
import time
import uuid

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections

log = logging.getLogger(__name__)
PREFIX = "moments:lock:"
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


@contextlib.contextmanager
def job_lock(name, *, ttl=None):
    """Yields True when this process holds the lock named `name` (and frees it after), else False."""
    lock = make_lock(name, ttl=ttl)
    if not lock.acquire():
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def make_lock(name, *, ttl=None):
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        return AdvisoryLock(name)
    ttl = ttl or settings.JOB_LOCK_TTL_SECONDS
    if (settings.CACHE_URL or "").startswith(("redis://", "rediss://")):
        return RedisLock(name, ttl, redis.Redis.from_url(settings.CACHE_URL, socket_timeout=2.0))
    return CacheLock(name, ttl)


def advisory_key(name):
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class AdvisoryLock:
    def __init__(self, name):
        self.name, self.key, self._connection = name, advisory_key(name), None

    def acquire(self):
        db = connections[DEFAULT_DB_ALIAS]
        # A connection of its own: the lock lives exactly as long as it, whatever Django does
        # with its own connection (transactions, closing at the end of a task).
        self._connection = db.get_new_connection(db.get_connection_params())
        self._connection.autocommit = True
        held = self._connection.execute("SELECT pg_try_advisory_lock(%s)", [self.key]).fetchone()[0]
        if not held:
            self._close()
        return held

    def release(self):
        try:
            self._connection.execute("SELECT pg_advisory_unlock(%s)", [self.key])
        except Exception:  # the connection is gone, and the lock with it
            log.warning("Releasing job lock %s: connection already closed", self.name)
        finally:
            self._close()

    def _close(self):
        with contextlib.suppress(Exception):
            self._connection.close()
        self._connection = None


class _RenewedLock:
    """An owner token under a short TTL, renewed by a daemon thread while held."""

    def __init__(self, name, ttl):
        self.name, self.key, self.ttl = name, PREFIX + name, float(ttl)
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._thread = None
        self.lost = False

    def acquire(self):
        if not self._take():
            return False
        self._thread = threading.Thread(target=self._keep, name=f"job-lock-{self.name}", daemon=True)
        self._thread.start()
        return True

    def release(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.ttl)
        self._give_back()

    def _keep(self):
        try:
            while not self._stop.wait(self.ttl / 3):
                if not self._renew():
                    self.lost = True
                    log.warning("Job lock %s expired while held (held longer than its TTL without renewal)",
                                self.name)
                    return
        finally:
            self._thread_done()

    def _thread_done(self):
        pass


class RedisLock(_RenewedLock):
    def __init__(self, name, ttl, client):
        super().__init__(name, ttl)
        self.client = client

    def _take(self):
        return bool(self.client.set(self.key, self.token, nx=True, px=int(self.ttl * 1000)))

    def _renew(self):
        return bool(self.client.eval(_RENEW, 1, self.key, self.token, int(self.ttl * 1000)))

    def _give_back(self):
        self.client.eval(_RELEASE, 1, self.key, self.token)


class CacheLock(_RenewedLock):
    """Django's cache (the database cache of the embedded default). Its get-then-delete is not
    atomic, but the token only changes hands after a whole TTL without renewal."""

    def _take(self):
        return cache.add(self.key, self.token, timeout=self.ttl)

    def _renew(self):
        return cache.get(self.key) == self.token and cache.touch(self.key, timeout=self.ttl)

    def _give_back(self):
        if cache.get(self.key) == self.token:
            cache.delete(self.key)

    def _thread_done(self):
        connections.close_all()  # the renewal thread's own database connection (database cache)


def claim_interval(name, interval_seconds, *, now=None):
    """Claim the current interval slot of `name`: an owner token, or None when another process
    already claimed it, or when the cache is unreachable (skipping a round is safer than every
    worker running it). Slots are aligned on the epoch, so beats started at different moments
    still share one slot."""
    now = time.time() if now is None else now
    slot = int(now // interval_seconds)
    owner = uuid.uuid4().hex
    ttl = max(1, int((slot + 1) * interval_seconds - now) + 1)
    try:
        return owner if cache.add(f"{PREFIX}{name}:{interval_seconds}:{slot}", owner, ttl) else None
    except Exception as exc:
        log.warning("Interval claim %s: the cache is unreachable (%s); skipping", name, type(exc).__name__)
        return None
