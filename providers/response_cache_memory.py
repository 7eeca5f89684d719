"""What each process keeps in memory for the response cache, so a hit costs far less than the
provider round trip it saves: counters written to the shared cache once a second, and the
entries it served in the last seconds."""
import collections
import threading
import time

from providers.shared_cache import shared_cache


class BufferedCounters:
    """Counts added in memory and written at most once per FLUSH_SECONDS (by the call that notices,
    in one go): a hit must cost far less than the provider round trip it saves, and a counter
    increment is three cache round trips. Statistics go to the shared cache; each entry's hits go to
    `write_hits({entry key: hits})` (its index row). A process that dies loses at most its last
    second of counts (statistics only; usage records are not buffered)."""

    FLUSH_SECONDS = 1.0

    def __init__(self, write_hits=None):
        self._lock = threading.Lock()
        self._pending = {}  # cache key -> (amount, ttl)
        self._hits = collections.Counter()  # entry key -> hits
        self._write_hits = write_hits
        self._flushed_at = time.monotonic()

    def add(self, key, amount, ttl):
        with self._lock:
            held, _ttl = self._pending.get(key, (0, ttl))
            self._pending[key] = (held + amount, ttl)
        self._flush_if_due()

    def add_hit(self, entry_key):
        with self._lock:
            self._hits[entry_key] += 1
        self._flush_if_due()

    def _flush_if_due(self):
        if time.monotonic() - self._flushed_at >= self.FLUSH_SECONDS:
            self.flush()

    def forget(self):
        with self._lock:
            self._pending, self._hits = {}, collections.Counter()

    def flush(self):
        with self._lock:
            pending, self._pending = self._pending, {}
            hits, self._hits = self._hits, collections.Counter()
            self._flushed_at = time.monotonic()
        for key, (amount, ttl) in pending.items():
            shared_cache.incr(key, amount, ttl)
        if hits and self._write_hits is not None:
            self._write_hits(dict(hits))


class RecentEntries:
    """The entries this process served in the last MAX_AGE_SECONDS (at most MAX_ENTRIES), so a
    hot entry costs no cache round trip. Safe because a key's entry never changes (an
    invalidation changes the key); a flush of one entry reaches other processes within MAX_AGE_SECONDS."""

    MAX_ENTRIES = 256
    MAX_AGE_SECONDS = 2.0

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = collections.OrderedDict()  # key -> (entry, read at, {form: bytes})

    def get(self, key):
        with self._lock:
            found = self._entries.get(key)
            if found is None or time.monotonic() - found[1] >= self.MAX_AGE_SECONDS:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def rendered(self, key, entry, form, render):
        """render() (the entry's answer as bytes in some form), kept beside `entry` while this process
        holds it under `key`, so a hot hit is not serialized again; computed afresh otherwise."""
        with self._lock:
            found = self._entries.get(key)
        if found is None or found[0] is not entry:
            return render()
        body = found[2].get(form)
        if body is None:
            body = found[2][form] = render()
        return body

    def put(self, key, entry):
        with self._lock:
            self._entries[key] = (entry, time.monotonic(), {})  # the entry, when read, its renderings
            self._entries.move_to_end(key)
            while len(self._entries) > self.MAX_ENTRIES:
                self._entries.popitem(last=False)

    def forget(self, key=None):
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)
