"""The response cache's index rows (ResponseCacheEntry) and its total size limit.

Each stored answer gets an index row (model, agent, size, tokens, cost, expiry) that feeds the
management page and the size limit: after each write, when the live entries add up to more
than RESPONSE_CACHE_MAX_TOTAL_BYTES, the oldest stored ones are evicted (their answer deleted
from the shared cache, their row deleted) until the total fits. A refreshed entry counts as
new. Expired rows are deleted on the way (their answers expired on their own).

The gateway must not write to the database on its request path, so it hands index writes to
one background thread (`background`, providers.background); the in-process client writes them at once.
"""
import logging
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Sum
from django.utils import timezone

from providers.background import Worker
from providers.models import ResponseCacheEntry
from providers.shared_cache import shared_cache

log = logging.getLogger(__name__)
INPUT_KINDS = ("input_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens")


def index_entry(key, entry, size, expires_at, on_evict=None):
    """Write the index row of `entry` stored under `key`, then enforce the total size limit.
    Returns how many entries were evicted."""
    usage = entry.get("usage") or {}
    try:
        ResponseCacheEntry.objects.update_or_create(cache_key=key, defaults={
            "model": entry["model"][:200], "agent": entry["agent"][:128], "size_bytes": size,
            "input_tokens": sum(int(usage.get(k) or 0) for k in INPUT_KINDS),
            "output_tokens": int(usage.get("output_tokens") or 0),
            "cost_usd": Decimal(entry["cost_usd"]) if entry.get("cost_usd") else None,
            "created_at": timezone.now(), "expires_at": expires_at, "hits": 0})
        return enforce_size_limit(on_evict=on_evict)
    except Exception:
        log.exception("Could not index the response cache entry for %s", entry.get("model"))
        return 0


def add_hits(hits):
    """Add buffered hit counts ({entry key: hits}) to the entries' index rows: one UPDATE each. A
    failure is logged, never raised: the counts are statistics, and this runs on a hit's path."""
    try:
        for key, amount in hits.items():
            ResponseCacheEntry.objects.filter(cache_key=key).update(hits=F("hits") + amount)
    except Exception:
        log.exception("Could not add %d entries' hit counts to the response cache index", len(hits))


def live_total_bytes():
    return ResponseCacheEntry.objects.filter(expires_at__gt=timezone.now()).aggregate(
        total=Sum("size_bytes"))["total"] or 0


def enforce_size_limit(limit=None, on_evict=None):
    """Evict the oldest entries until the live ones fit in `limit` bytes (the setting by default)."""
    limit = settings.RESPONSE_CACHE_MAX_TOTAL_BYTES if limit is None else limit
    ResponseCacheEntry.objects.filter(expires_at__lte=timezone.now()).delete()
    total = live_total_bytes()
    if total <= limit:
        return 0
    doomed = []
    for pk, cache_key, size in ResponseCacheEntry.objects.order_by("created_at", "pk").values_list(
            "pk", "cache_key", "size_bytes").iterator():
        if total <= limit:
            break
        doomed.append((pk, cache_key))
        total -= size
    for _pk, cache_key in doomed:
        shared_cache.delete(cache_key)
        if on_evict is not None:
            on_evict(cache_key)
    ResponseCacheEntry.objects.filter(pk__in=[pk for pk, _key in doomed]).delete()
    log.info("Response cache over its %d-byte limit: evicted the %d oldest entries", limit, len(doomed))
    return len(doomed)


background = Worker("response-cache-index")
