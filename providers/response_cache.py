"""A provider-agnostic response cache for repeated deterministic requests.

Used only when a call asks for it: `x-moments-cache: use` (serve a stored answer, store a
new one), `refresh` (call the provider and replace the stored answer) or `skip` (the
default: neither read nor write), through `extra_headers` or an agent's policy.

Entries live in the shared cache (Redis when configured) with a TTL, under a key made of a
hash of the normalized request (the model as the caller named it, a logical name or a
pinned ID; messages, system, tools and every parameter that changes the answer; not
cache_control markers, metadata or headers) and three generation tokens: one for all
entries, one for the model and one for the agent. Invalidating replaces a token, so every
old entry becomes unreachable at once and expires on its own. Tokens are random, so a cache
that lost its data never serves an entry stored before an invalidation.

An unreachable cache is never a point of failure: a lookup is then a miss and a store does
nothing. An index row per stored entry (ResponseCacheEntry) feeds the management page.
Hit and miss counts, tokens and cost saved are counted per hour in the shared cache.
"""
import atexit
import datetime
import functools
import hashlib
import json
import logging
import time
import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone

from providers.models import ResponseCacheEntry
from providers.response_cache_index import INPUT_KINDS, add_hits, background, index_entry
from providers.response_cache_memory import BufferedCounters, RecentEntries
from providers.shared_cache import shared_cache

log = logging.getLogger(__name__)
HEADER = "x-moments-cache"
MODES = ("use", "skip", "refresh")
PREFIX = "response-cache"
# Not part of what the model answers: never in the key.
IGNORED_FIELDS = {"stream", "metadata", "extra_headers", "cache_control"}
STATS = ("hits", "misses", "stores", "evictions", "saved_input_tokens", "saved_output_tokens", "saved_microusd")
STATS_TTL_SECONDS = 8 * 24 * 3600
MICRO = Decimal(1_000_000)


class CacheModeError(ValueError):
    pass


def mode_from_headers(headers, default="skip"):
    """(mode, headers without ours): the x-moments-cache header decides, else `default`."""
    mode, rest = default, {}
    for name, value in (headers or {}).items():
        if name.lower() == HEADER:
            mode = value
        else:
            rest[name] = value
    return parse_mode(mode), rest


def parse_mode(value):
    """The cache mode an x-moments-cache value names; CacheModeError, quoting it short and escaped, if none."""
    given = str(value).strip()
    mode = given.lower()
    if mode not in MODES:
        shown = ascii(given[:40]) + ("…" if len(given) > 40 else "")  # it came from a request
        raise CacheModeError(f"{HEADER} must be one of {', '.join(MODES)}, not {shown}.")
    return mode


def _without_markers(value):
    if isinstance(value, dict):
        return {k: _without_markers(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_without_markers(v) for v in value]
    return value


def request_digest(request):
    """SHA-256 of the normalized request: the same question gets the same digest."""
    normalized = {k: _without_markers(v) for k, v in request.items() if k not in IGNORED_FIELDS}
    headers = request.get("extra_headers") or {}
    betas = [v for k, v in headers.items() if k.lower() == "anthropic-beta"]
    if betas:  # beta features can change the answer; other headers cannot
        normalized["anthropic-beta"] = betas
    canonical = json.dumps(normalized, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _generation_key(scope, value=""):
    return f"{PREFIX}:gen:{scope}:{hashlib.sha256(value.encode()).hexdigest()[:16]}"


GENERATIONS_MEMO_SECONDS = 1.0
_generation_memo = {}  # (model, agent) -> (tokens, read at); an invalidation reaches other processes within 1 s


def _generations(model, agent):
    memo_key, now = (model, agent or ""), time.monotonic()
    memo = _generation_memo.get(memo_key)
    if memo is not None and now - memo[1] < GENERATIONS_MEMO_SECONDS:
        return memo[0]
    tokens = _read_generations(model, agent)
    if tokens is not None:
        if len(_generation_memo) > 10_000:
            _generation_memo.clear()
        _generation_memo[memo_key] = (tokens, now)
    return tokens


def forget_generations():
    _generation_memo.clear()
    recent.forget()


def _read_generations(model, agent):
    keys = [_generation_key("all"), _generation_key("model", model), _generation_key("agent", agent or "")]
    found = shared_cache.get_many(keys)
    tokens = []
    for key in keys:
        token = found.get(key)
        if token is None:
            shared_cache.add(key, uuid.uuid4().hex[:12], None)
            token = shared_cache.get(key)
            if token is None:
                return None  # the cache is unreachable: no stable key, so no caching
        tokens.append(token)
    return tokens


def entry_key(request, agent=None):
    """The cache key of this request, or None when the shared cache cannot give one."""
    return key_for(str(request.get("model") or ""), agent, request_digest(request))


def entry_in_memory(request, agent=None):
    """(key, entry) when this process has both in memory (the generations read in the last second,
    the entry served in the last seconds), else (None, None): no shared-cache round trip."""
    memo = _generation_memo.get((str(request.get("model") or ""), agent or ""))
    if memo is None or time.monotonic() - memo[1] >= GENERATIONS_MEMO_SECONDS:
        return None, None
    key = _entry_key(memo[0], request_digest(request))
    entry = recent.get(key)
    if entry is None or entry.get("expires_at", 0) <= time.time():
        return None, None
    return key, entry


def key_for(model, agent, digest):
    tokens = _generations(model, agent)
    return None if tokens is None else _entry_key(tokens, digest)


def _entry_key(tokens, digest):
    return f"{PREFIX}:entry:{':'.join(tokens)}:{digest}"


def digest_of(key):
    return key.rsplit(":", 1)[-1]


recent = RecentEntries()


def lookup(key):
    """The stored entry (a dict) for `key`, or None."""
    if key is None:
        return None
    entry = recent.get(key)
    if entry is not None and entry.get("expires_at", 0) > time.time():
        return entry
    entry = shared_cache.get(key)
    if not (isinstance(entry, dict) and isinstance(entry.get("message"), dict)):
        return None
    recent.put(key, entry)
    return entry


def store(key, request, result, agent=None, *, ttl=None, index_now=True):
    """Store a successful CallResult under `key`; too-large answers are not stored."""
    if key is None or not result.message.get("stop_reason"):  # only complete answers
        return False
    entry = {
        "digest": digest_of(key), "model": str(request.get("model") or ""), "agent": agent or "",
        "message": result.message, "provider_name": result.provider_name, "provider_kind": result.provider_kind,
        "model_id": result.model_id, "usage": result.usage.as_dict(),
        "cost_usd": str(result.record.cost_usd) if result.record and result.record.cost_usd is not None else None,
        "stored_at": timezone.now().isoformat(),
    }
    if not put(key, entry, ttl=ttl, index_now=index_now):
        return False
    count("stores")
    return True


def put(key, entry, *, ttl=None, index_now=True):
    """Write `entry` under `key` for `ttl` seconds (RESPONSE_CACHE_TTL_SECONDS by default) and index
    it (now, or in the background when `index_now` is false); False when too large or when the
    cache is unreachable."""
    size = entry_size(entry)
    if size > entry_limit():
        return False
    ttl = ttl or settings.RESPONSE_CACHE_TTL_SECONDS
    entry = {**entry, "expires_at": time.time() + ttl}  # the process memory never outlives the TTL
    if not shared_cache.set(key, entry, ttl):
        return False
    recent.forget(key)  # a refreshed answer replaces the one this process remembers
    expires_at = timezone.now() + datetime.timedelta(seconds=ttl)
    if index_now:
        evicted = index_entry(key, entry, size, expires_at, on_evict=recent.forget)
    else:
        background.submit(index_entry, key, entry, size, expires_at, recent.forget)
        evicted = 0
    count("evictions", evicted)
    return True


def entry_size(entry):
    """The bytes an entry counts for against the size limits."""
    return len(json.dumps(entry, default=str).encode())


def entry_limit():
    """The largest entry that is stored (larger answers are not)."""
    return min(settings.RESPONSE_CACHE_MAX_ENTRY_BYTES, settings.RESPONSE_CACHE_MAX_TOTAL_BYTES)


counters = BufferedCounters(write_hits=add_hits)
atexit.register(counters.flush)


def count(stat, amount=1, *, now=None):
    if amount:
        counters.add(_stat_key(stat, now), amount, STATS_TTL_SECONDS)


def entry_cost(entry):
    """What the answer stored in `entry` cost when it was paid for (its "cost_usd", a decimal string), as a
    Decimal; None when the original call was unpriced or the value is not a finite, non-negative number."""
    cost = entry.get("cost_usd")
    if cost is None or isinstance(cost, bool):
        return None
    try:
        value = Decimal(str(cost))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and value >= 0 else None


def count_hit(key, entry):
    usage = entry.get("usage") or {}
    count("hits")
    counters.add_hit(key)
    count("saved_input_tokens", sum(int(usage.get(k) or 0) for k in INPUT_KINDS))
    count("saved_output_tokens", int(usage.get("output_tokens") or 0))
    cost = entry_cost(entry)
    if cost:
        count("saved_microusd", int(cost * MICRO))


def _stat_key(stat, when=None):
    """The hourly counter of `stat` for the UTC hour of `when` (now when None)."""
    return _hour_prefix(int((when.timestamp() if when is not None else time.time()) // 3600)) + stat


@functools.lru_cache(maxsize=8)  # a hit counts four stats: format the hour once, not four times
def _hour_prefix(hour):
    return f"{PREFIX}:stat:{datetime.datetime.fromtimestamp(hour * 3600, datetime.UTC):%Y%m%d%H}:"


def hourly_stats(hours=48, now=None):
    """[(hour start, {stat: value})], oldest first, for the last `hours` hours."""
    counters.flush()  # this process's latest counts
    now = (now or timezone.now()).astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)
    starts = [now - datetime.timedelta(hours=h) for h in range(hours - 1, -1, -1)]
    keys = {(start, stat): _stat_key(stat, start) for start in starts for stat in STATS}
    found = shared_cache.get_many(list(keys.values()))
    return [(start, {stat: int(found.get(keys[(start, stat)]) or 0) for stat in STATS}) for start in starts]


def invalidate_all():
    shared_cache.set(_generation_key("all"), uuid.uuid4().hex[:12], None)
    forget_generations()
    return ResponseCacheEntry.objects.all().delete()[0]


def invalidate_model(model):
    shared_cache.set(_generation_key("model", model), uuid.uuid4().hex[:12], None)
    forget_generations()
    return ResponseCacheEntry.objects.filter(model=model).delete()[0]


def invalidate_agent(agent):
    shared_cache.set(_generation_key("agent", agent), uuid.uuid4().hex[:12], None)
    forget_generations()
    return ResponseCacheEntry.objects.filter(agent=agent).delete()[0]


def invalidate_entry(entry_id):
    entry = ResponseCacheEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        return 0
    shared_cache.delete(entry.cache_key)
    recent.forget(entry.cache_key)
    entry.delete()
    return 1
