"""Circuit breakers shared by every web and worker process through the shared cache.

A circuit opens after FAILURE_THRESHOLD consecutive provider-side failures and stays open
for OPEN_SECONDS; the router skips open providers while another is healthy. The failure
count is an atomic counter (cache incr), so failures recorded at the same moment by several
processes all count. With the cache unreachable every circuit reads as closed.
"""
import time

from providers.shared_cache import shared_cache

FAILURE_THRESHOLD = 3
OPEN_SECONDS = 60
LAST_OK_EVERY_SECONDS = 10  # "last success" is refreshed at most this often, not on every call
LOCAL_SECONDS = 1.0  # a process reuses what it read this long; its own updates drop it at once
_COUNTER_TTL = 3600  # failures an hour apart are not "consecutive"
_FIELDS = ("failures", "open_until", "last_error", "last_ok")


def _key(name, field):
    return f"breaker:{name}:{field}"


_recent = {}  # name -> (state, monotonic time read)


def states(names, *, fresh=False):
    """Each name's state (failures, open_until, last_error, last_ok), from this process's read of
    the last LOCAL_SECONDS or in one cache round trip for the rest."""
    now = time.monotonic()
    found = {} if fresh else {n: _recent[n][0] for n in names if n in _recent and now - _recent[n][1] < LOCAL_SECONDS}
    missing = [n for n in names if n not in found]
    if missing:
        values = shared_cache.get_many([_key(name, field) for name in missing for field in _FIELDS])
        for name in missing:
            found[name] = {field: values.get(_key(name, field)) or (None if field == "last_error" else 0)
                           for field in _FIELDS}
            _recent[name] = (found[name], now)
    return found


def forget_recent():
    _recent.clear()


def state(name):
    return states([name], fresh=True)[name]


def is_open_state(current):
    return current["open_until"] > time.time()


def is_open(name):
    return is_open_state(state(name))


def record_failure(name, error):
    _recent.pop(name, None)
    failures = shared_cache.incr(_key(name, "failures"), timeout=_COUNTER_TTL)
    shared_cache.set(_key(name, "last_error"),
                     {"kind": error.kind.value, "message": str(error)[:300], "at": time.time()}, None)
    if failures is not None and failures >= FAILURE_THRESHOLD:
        shared_cache.set(_key(name, "open_until"), time.time() + OPEN_SECONDS, OPEN_SECONDS)
    return failures


def record_success(name, known=None):
    """Close the circuit. `known` is the state the caller read before the call (saves a round trip)."""
    current = known if known is not None else state(name)
    now = time.time()
    if current["failures"] or current["open_until"] or now - current["last_ok"] > LAST_OK_EVERY_SECONDS:
        _recent.pop(name, None)
    if now - current["last_ok"] > LAST_OK_EVERY_SECONDS:
        shared_cache.set(_key(name, "last_ok"), now, None)
    if current["failures"] or current["open_until"]:
        shared_cache.delete(_key(name, "failures"))
        shared_cache.delete(_key(name, "open_until"))
