"""A response cache hit answered on the event loop, from what this process holds in memory.

A hot entry (served by this process in the last seconds) needs no worker thread, no cache round
trip and no database: the key from the key table, the budget's hard stop from the blocked-keys set,
the entry and its generations from memory. Whenever any of them is due for a reload, or anything
about the request is wrong, `hit_from_memory` answers None and the request takes the ordinary path
(a worker thread), which reloads and says what is wrong. The hit's statistics, its usage record
and the key's last use are written by the bookkeeping thread after the answer.
"""
from providers.background import bookkeeping
from providers.call_records import CallContext
from providers.gateway import errors
from providers.gateway.access import check_model, presented_key
from providers.gateway.caching import cache_mode, may_use, prompt_caching_on
from providers.gateway.keys import keys
from providers.gateway.requests import with_betas
from providers.response_cache import entry_in_memory
from providers.response_cache_calls import account_for, cache_hit
from usage.services import is_key_blocked_in_memory


def hit_from_memory(request):
    key = presented_key(request.headers)
    entry = keys.lookup_in_memory(key) if key and len(key) <= 256 else None
    if entry is None or not may_use(entry, request.headers) or is_key_blocked_in_memory(entry.label) is not False:
        return None
    try:
        data = request.json()
        stream = data.pop("stream", False)
        if not isinstance(stream, bool) or cache_mode(entry, request.headers, data.get("model")) != "use":
            return None
        check_model(entry, data.get("model"))
        data = with_betas(request, data)  # the same request the ordinary path would look up
    except (errors.GatewayError, ValueError, TypeError, RecursionError):
        return None  # the ordinary path says what is wrong
    cache_key, stored = entry_in_memory(data)
    if stored is None:
        return None
    context = CallContext(purpose="gateway", gateway_key=entry.label,
                          prompt_caching=prompt_caching_on(entry, request.headers))
    hit = cache_hit(stored, data, context, stream=stream, key=cache_key)
    bookkeeping.submit(account_for, cache_key, stored, hit.record)
    if keys.use_due(entry):
        bookkeeping.submit(keys.mark_used, entry)
    request.cache_status = "hit"
    return hit

