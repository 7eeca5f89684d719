"""Circuit breakers shared by every web and worker process through the shared cache.

A breaker guards a *target*: a provider ("bedrock") or one model of a provider ("bedrock/haiku",
see `model_target`). It opens after `policy.failures` consecutive provider-side failures, or when
at least `policy.min_calls` calls in the window failed at `policy.error_rate` percent or more.
Open, the router skips the target for `policy.open_seconds`; then it is *half-open*: one caller
wins the probe (an atomic `add`) and its call is the trial; a success closes the breaker, a
failure opens it again. Every counter is an atomic incr, so failures recorded at the same moment
by several processes all count. Successes are counted in memory and added to the shared window
counter at most once a second per process (no extra round trip per call). With the cache
unreachable every breaker reads as closed. The policy comes from the configuration snapshot.
"""
import threading
import time
from dataclasses import dataclass

from providers.shared_cache import shared_cache

FAILURE_THRESHOLD = 3  # defaults of Policy; the dashboard edits the stored ones
OPEN_SECONDS = 60
PROBE_SECONDS = 30  # a probe holder that never reports frees the probe after this
LAST_OK_EVERY_SECONDS = 10  # "last success" is refreshed at most this often, not on every call
LOCAL_SECONDS = 1.0  # a process reuses what it read this long; its own updates drop it at once
FLUSH_CALLS_SECONDS = 1.0  # successes are added to the shared window counter this often
_COUNTER_TTL = 3600  # failures an hour apart are not "consecutive"
_FIELDS = ("failures", "open_until", "last_error", "last_ok", "tripped")


@dataclass(frozen=True)
class Policy:
    failures: int = FAILURE_THRESHOLD  # consecutive failures that open the breaker
    error_rate: int = 50  # percent of calls failed in the window that opens it (0: off)
    window_seconds: int = 60
    min_calls: int = 10  # no error-rate decision on fewer calls
    open_seconds: int = OPEN_SECONDS  # open this long, then half-open


DEFAULT_POLICY = Policy()


def model_target(provider_name, model):
    """The breaker name of one model of a provider (the model as the caller named it)."""
    return f"{provider_name}/{str(model)[:120]}"


def _key(name, field):
    return f"breaker:{name}:{field}"


_recent = {}  # name -> (state, monotonic time read)
_pending_calls = {}  # name -> successes not yet added to the shared window counter
_next_flush = {}  # name -> monotonic time of the next flush
_pending_lock = threading.Lock()
_probe_lost = {}  # name -> monotonic time this process last lost the half-open probe


def states(names, *, fresh=False):
    """Each name's state (failures, open_until, last_error, last_ok, tripped), from this process's
    read of the last LOCAL_SECONDS or in one cache round trip for the rest."""
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
    _probe_lost.clear()
    with _pending_lock:
        _pending_calls.clear()
        _next_flush.clear()


def state(name):
    return states([name], fresh=True)[name]


def is_open_state(current):
    return current["open_until"] > time.time()


def phase(current):
    """closed, open, or half_open (tripped, its open period over: one trial call may go)."""
    if is_open_state(current):
        return "open"
    return "half_open" if current.get("tripped") else "closed"


def is_open(name):
    return is_open_state(state(name))


def admit(name, current):
    """May a call go to `name` now? Closed: yes. Open: no. Half-open: only the one caller that
    wins the probe (atomic add); every other caller keeps skipping it until the probe reports."""
    current_phase = phase(current)
    if current_phase == "closed":
        return True
    if current_phase == "open":
        return False
    lost_at = _probe_lost.get(name)
    if lost_at is not None and time.monotonic() - lost_at < LOCAL_SECONDS:
        return False  # another caller holds the probe: no round trip per call to learn it again
    if shared_cache.add(_key(name, "probe"), 1, PROBE_SECONDS):
        _probe_lost.pop(name, None)
        return True
    _probe_lost[name] = time.monotonic()
    return False


def _bucket(policy, now):
    return int(now // max(1, policy.window_seconds))


def _flush_calls(name, policy, now, *, extra=0, force=False):
    """Count `extra` calls of `name` in this process and add what it counted to the shared window
    counter when due (at most every FLUSH_CALLS_SECONDS, or now with `force`). The count is a
    plain dict update (no lock on the hot path): two threads counting the same instant may lose
    one call, which an error *rate* can afford."""
    pending = _pending_calls.get(name, 0) + extra
    _pending_calls[name] = pending
    if not pending or (not force and time.monotonic() < _next_flush.get(name, 0.0)):
        return
    with _pending_lock:
        pending = _pending_calls.get(name, 0)
        _pending_calls[name] = 0
        _next_flush[name] = time.monotonic() + FLUSH_CALLS_SECONDS
    if pending:
        shared_cache.incr(_key(name, f"calls:{_bucket(policy, now)}"), pending,
                          timeout=2 * policy.window_seconds + 5)


def window_counts(name, policy=DEFAULT_POLICY, now=None):
    """(calls, errors) in the current and the previous window, as the shared cache has them."""
    return window_counts_many([name], policy, now)[name]


def window_counts_many(names, policy=DEFAULT_POLICY, now=None):
    """{name: (calls, errors)} for several breakers in one cache round trip (the Status page)."""
    now = time.time() if now is None else now
    bucket = _bucket(policy, now)
    keys = {name: [_key(name, f"{kind}:{b}") for kind in ("calls", "errors") for b in (bucket - 1, bucket)]
            for name in names}
    values = shared_cache.get_many([key for per_name in keys.values() for key in per_name])
    return {name: (sum(values.get(k) or 0 for k in per_name[:2]), sum(values.get(k) or 0 for k in per_name[2:]))
            for name, per_name in keys.items()}


def _rate_exceeded(name, policy, now):
    if not policy.error_rate:
        return False
    calls, errors = window_counts(name, policy, now)
    return calls >= max(1, policy.min_calls) and errors * 100 >= policy.error_rate * calls


def record_failure(name, error, policy=DEFAULT_POLICY, *, source="traffic"):
    """Count a provider-side failure of `name`; opens the breaker (or opens it again, when it was
    tripped: a failed half-open probe) and returns the consecutive failure count. `source`
    ("traffic" or "checks") is kept with the last error, so incidents can tell them apart."""
    now = time.time()
    _recent.pop(name, None)
    failures = shared_cache.incr(_key(name, "failures"), timeout=_COUNTER_TTL)
    shared_cache.set(_key(name, "last_error"),
                     {"kind": error.kind.value, "message": str(error)[:300], "at": now, "source": source}, None)
    shared_cache.incr(_key(name, f"errors:{_bucket(policy, now)}"), timeout=2 * policy.window_seconds + 5)
    _flush_calls(name, policy, now, extra=1, force=True)
    if failures is None:  # the cache is unreachable: nothing is shared, nothing opens
        return None
    tripped = shared_cache.get(_key(name, "tripped"))
    if tripped or failures >= policy.failures or _rate_exceeded(name, policy, now):
        _open(name, policy, now)
    return failures


def _open(name, policy, now):
    shared_cache.set(_key(name, "open_until"), now + policy.open_seconds, policy.open_seconds)
    shared_cache.set(_key(name, "tripped"), now, _COUNTER_TTL)
    shared_cache.delete(_key(name, "probe"))


def record_success(name, known=None, policy=DEFAULT_POLICY):
    """Close the breaker (a half-open probe that succeeded does). `known` is the state the caller
    read before the call (saves a round trip)."""
    current = known if known is not None else state(name)
    now = time.time()
    _flush_calls(name, policy, now, extra=1)
    troubled = current["failures"] or current["open_until"] or current.get("tripped")
    stale = now - current["last_ok"] > LAST_OK_EVERY_SECONDS
    if troubled or stale:
        _recent.pop(name, None)
    if stale:
        shared_cache.set(_key(name, "last_ok"), now, None)
    if troubled:
        _close(name)


def _close(name):
    for field in ("failures", "open_until", "tripped", "probe"):
        shared_cache.delete(_key(name, field))


def reset(name):
    """Close `name` now and forget its failures (a manual override)."""
    _recent.pop(name, None)
    _close(name)
    shared_cache.delete(_key(name, "last_error"))


def label(current):
    """How the Status page shows a state: closed, failing (n), open, half-open."""
    current_phase = phase(current)
    if current_phase != "closed":
        return current_phase.replace("_", "-")
    return f"failing ({current['failures']})" if current["failures"] else "closed"
