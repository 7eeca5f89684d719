"""The shared cache as an optimization, never a point of failure.

Every read or write the call path makes to the Django cache (breakers, the configuration
version, the availability cache) goes through `shared_cache`: when the cache is unreachable
it answers "unknown" (None / the default), logs a warning at most once a minute, and counts
the failure, so a call that reached the provider is still returned and failover still works.
"""
import logging
import threading
import time

from django.core.cache import cache

log = logging.getLogger(__name__)
WARN_EVERY_SECONDS = 60


class SharedCache:
    def __init__(self, backend=None):
        self._backend = backend
        self._lock = threading.Lock()
        self.failures = 0  # in this process, since start
        self.last_failure_at = 0.0
        self._last_warning = 0.0
        self.failure_listeners = []  # called with the operation name (metrics); must not raise

    @property
    def backend(self):
        return self._backend if self._backend is not None else cache

    def _failed(self, operation, exc):
        with self._lock:
            self.failures += 1
            self.last_failure_at = time.time()
            warn = self.last_failure_at - self._last_warning > WARN_EVERY_SECONDS
            if warn:
                self._last_warning = self.last_failure_at
        for listener in self.failure_listeners:
            try:
                listener(operation)
            except Exception:  # a metrics defect must not turn a tolerated outage into a failure
                log.debug("shared-cache failure listener failed", exc_info=True)
        if warn:
            log.warning("Shared cache unreachable (%s: %s); continuing without it", operation, type(exc).__name__)

    def get(self, key, default=None):
        try:
            return self.backend.get(key, default)
        except Exception as exc:
            self._failed("get", exc)
            return default

    def get_many(self, keys):
        try:
            return self.backend.get_many(keys)
        except Exception as exc:
            self._failed("get_many", exc)
            return {}

    def set(self, key, value, timeout=None):
        try:
            self.backend.set(key, value, timeout)
            return True
        except Exception as exc:
            self._failed("set", exc)
            return False

    def add(self, key, value, timeout=None):
        try:
            return self.backend.add(key, value, timeout)
        except Exception as exc:
            self._failed("add", exc)
            return False

    def delete(self, key):
        try:
            self.backend.delete(key)
        except Exception as exc:
            self._failed("delete", exc)

    def incr(self, key, delta=1, timeout=None):
        """Atomic on Redis; creates the key at 0 first. None when the cache is unreachable."""
        try:
            self.backend.add(key, 0, timeout)
            try:
                return self.backend.incr(key, delta)
            except ValueError:  # expired between add and incr
                self.backend.set(key, delta, timeout)
                return delta
        except Exception as exc:
            self._failed("incr", exc)
            return None

    def reachable(self):
        """A live probe, for pages that show a warning when the cache is down."""
        try:
            self.backend.get("shared-cache-probe")
            return True
        except Exception as exc:
            self._failed("probe", exc)
            return False


shared_cache = SharedCache()
