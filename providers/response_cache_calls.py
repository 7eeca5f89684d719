"""Calls through the response cache, shared by the in-process client and the gateway.

    key, hit = look_up(request, mode, agent, context, stream=False)   # hit: a CacheHit, or None
    ... on a miss, call providers.calls.invoke, then:
    store_answer(key, request, result, agent, ttl=...)               # a CallResult
    StoringStream(call_stream, key, request, agent, ttl=...)          # a CallStream, stored when complete

A hit is recorded in usage (status "cache_hit", zero tokens, cost 0) with what it saved (the original
answer's cost, UsageRecord.response_cache_saving), and counted in the hourly statistics.
"""
from dataclasses import dataclass

from providers import response_cache
from providers.call_records import CallRecord, emit
from providers.client_streams import message_events
from providers.clients.usage import Usage


@dataclass
class CacheHit:
    message: dict  # the stored Messages response
    record: CallRecord
    provider_name: str
    model_id: str
    failed_over: bool = False
    request_id: str | None = None

    cache_key: str | None = None
    entry: dict | None = None  # the cache entry it came from

    def events(self):
        """The stored message as the API's stream event sequence (dicts)."""
        return message_events(self.message)

    def rendered(self, form, render):
        """render() of this hit's message, reused while this process holds the entry in memory."""
        if self.cache_key is None:
            return render()
        return response_cache.recent.rendered(self.cache_key, self.entry, form, render)


def look_up(request, mode, agent, context, *, stream=False):
    """(cache key or None, CacheHit or None) for `request` under the cache `mode` (use, refresh, skip)."""
    if mode == "skip":
        return None, None
    key = response_cache.entry_key(request, agent)
    entry = response_cache.lookup(key) if mode == "use" else None
    if entry is None:
        response_cache.count("misses")
        return key, None
    return key, served(key, entry, request, context, stream=stream)


def served(key, entry, request, context, *, stream=False):
    """Record the hit (zero tokens billed) and count what it saved."""
    hit = cache_hit(entry, request, context, stream=stream, key=key)
    account_for(key, entry, hit.record)
    return hit


def cache_hit(entry, request, context, *, stream=False, key=None):
    """The CacheHit of `entry` (stored under `key`), its usage record not yet handed to the sink
    (account_for does). The record carries what the hit saved: the cost of the original answer it
    replays (None when that call was unpriced)."""
    provider_name = entry.get("provider_name") or "response-cache"
    model_id = entry.get("model_id") or ""
    record = CallRecord(
        provider_name=provider_name, provider_kind=entry.get("provider_kind") or "anthropic",
        requested_model=str(request.get("model") or "")[:200], model_id=model_id, status="cache_hit",
        context=context, usage=Usage(), latency_ms=0.0, stream=stream, has_tools=bool(request.get("tools")),
        response_cache_saving=response_cache.entry_cost(entry))
    return CacheHit(entry["message"], record, provider_name, model_id, cache_key=key, entry=entry)


def account_for(key, entry, record):
    """A hit's statistics and its usage record (zero tokens billed, what it saved)."""
    response_cache.count_hit(key, entry)
    emit(record)


def store_answer(key, request, result, agent, *, ttl=None, index_now=True):
    if key is not None:
        response_cache.store(key, request, result, agent, ttl=ttl, index_now=index_now)


class StoringStream:
    """A CallStream whose final message is stored under `key` once it completed ("ok")."""

    def __init__(self, inner, key, request, agent, *, ttl=None, index_now=True):
        self._inner, self._key, self._request, self._agent = inner, key, request, agent
        self._ttl, self._index_now = ttl, index_now

    def __getattr__(self, name):  # provider_name, model_id, failed_over, request_id, record, usage...
        return getattr(self._inner, name)

    def __iter__(self):
        yield from self._inner
        inner = self._inner
        if self._key is not None and inner.record is not None and inner.record.status == "ok" and inner.message:
            response_cache.store(self._key, self._request, _StreamResult(inner), self._agent, ttl=self._ttl,
                                 index_now=self._index_now)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self._inner.close()


class _StreamResult:
    """What response_cache.store reads from a CallResult, for a completed stream."""

    def __init__(self, stream):
        self.message, self.usage, self.record = stream.message, stream.usage, stream.record
        self.provider_name, self.provider_kind, self.model_id = stream.provider_name, stream.provider_kind, \
            stream.model_id
