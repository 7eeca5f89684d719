"""Automatic prompt caching: where to put `cache_control` breakpoints in a Messages request.

A pure function over the request dict (no I/O, no Django). It places at most four
breakpoints, in the API's cache order (tools, system, messages):

- the end of the tools, and the end of the system prompt (stable across conversations);
- the end of the previous user turn (what the previous request of this conversation wrote,
  so this one reads it) and the end of the last turn (written now, read by the next turn).

A breakpoint is placed only when the prefix it closes reaches the model's minimum cacheable
length (a shorter prefix is not cached, and a breakpoint that caches nothing wastes one of
the four). Nothing is placed when the caller placed any breakpoint of its own, anywhere.
Tokens are estimated at four characters each, which undercounts real text slightly, so a
breakpoint is never placed below the minimum.
"""
import copy
import json

from providers.clients.resolution import resolve

MAX_BREAKPOINTS = 4
HEADER = "x-moments-prompt-caching"  # "off" turns automatic breakpoints off for one call
TTLS = ("5m", "1h")
# Minimum cacheable prompt length per model, (anthropic, bedrock). From the Anthropic prompt
# caching docs as quoted in anthropic-sdk-python issue 1194 (4,096 Opus 4.6 and 4.5 and Haiku
# 4.5; 1,024 Sonnet 4.x and Opus 4.1/4; 2,048 Haiku 3.x) and the Bedrock prompt caching page
# (checked 2026-11-29). Opus 4.7 (2,048) is from a secondary source; 5.x models take their
# family's value until their own is published (a minimum set too high only skips a breakpoint,
# one set too low wastes one). Keys are catalog keys or their prefixes; the longest match wins.
MINIMUM_TOKENS = {
    "claude-haiku-4-5": (4096, 4096),
    "claude-haiku": (2048, 2048),
    "claude-3-5-haiku": (2048, 2048),
    "claude-opus-4-5": (4096, 4096),
    "claude-opus-4-6": (4096, 4096),
    "claude-opus-4-7": (2048, 2048),
    "claude-sonnet": (1024, 1024),
    "claude-opus": (1024, 1024),
    "claude-fable": (1024, 1024),
}
SMALLEST_MINIMUM = min(min(pair) for pair in MINIMUM_TOKENS.values())
UNKNOWN_MODEL_MINIMUM = 4096  # the largest minimum any current model has: never too low
UNCACHEABLE_BLOCKS = {"thinking", "redacted_thinking"}


def minimum_cacheable_tokens(catalog_key, provider_kind="anthropic"):
    """The smallest prefix (in tokens) that `catalog_key` caches on this kind of provider."""
    key = catalog_key or ""
    matches = [prefix for prefix in MINIMUM_TOKENS if key.startswith(prefix)]
    if not matches:
        return UNKNOWN_MODEL_MINIMUM
    anthropic_min, bedrock_min = MINIMUM_TOKENS[max(matches, key=len)]
    return bedrock_min if provider_kind == "bedrock" else anthropic_min


def header_allows(value):
    """What the x-moments-prompt-caching header says: "off" (or 0, false, no) is off; anything else is auto."""
    return str(value).strip().lower() not in ("off", "0", "false", "no")


def for_provider(settings, request):
    """`request` with automatic breakpoints for the provider `settings` describe, when its policy
    (settings.prompt_caching, settings.prompt_caching_ttl) has them on; else `request` itself."""
    if not settings.prompt_caching or not isinstance(request, dict) or has_caller_breakpoints(request):
        return request
    positions = _candidate_positions(request)
    if not positions or positions[-1][0] < SMALLEST_MINIMUM:  # prefix totals only grow
        return request  # too short for any model: no need to resolve the model (the common small request)
    model = request.get("model")
    if not isinstance(model, str) or not model:
        return request  # the call path reports the missing model
    try:
        catalog_key = resolve(settings, model).catalog_key
    except Exception:
        catalog_key = None  # unknown here: the largest minimum applies
    minimum = minimum_cacheable_tokens(catalog_key, settings.kind)
    ttl = settings.prompt_caching_ttl if settings.prompt_caching_ttl in TTLS else "5m"
    return place_breakpoints(request, minimum_tokens=minimum, ttl=ttl)[0]


def estimate_tokens(value):
    """About four characters per token: what the text, or the JSON of anything else, costs."""
    if isinstance(value, str):
        return len(value) // 4
    if isinstance(value, dict) and value.get("type") == "text":
        return len(str(value.get("text", ""))) // 4
    return len(json.dumps(value, sort_keys=True, default=str)) // 4


def has_caller_breakpoints(request):
    """True when the request already carries cache_control anywhere the API reads it."""
    if request.get("cache_control"):
        return True
    blocks = list(request.get("tools") or [])
    if isinstance(request.get("system"), list):
        blocks += request["system"]
    for message in request.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            blocks += content
    return any(isinstance(block, dict) and block.get("cache_control") for block in blocks)


def place_breakpoints(request, *, minimum_tokens, ttl="5m"):
    """A copy of `request` with cache_control breakpoints added (or `request` itself, unchanged,
    when the caller placed its own or no prefix is long enough). Returns (request, count)."""
    if ttl not in TTLS:
        raise ValueError(f"ttl must be one of {TTLS}, not {ttl!r}.")
    if not isinstance(request, dict) or has_caller_breakpoints(request):
        return request, 0
    positions = _candidate_positions(request)
    chosen = [position for position in positions if position[0] >= minimum_tokens][-MAX_BREAKPOINTS:]
    if not chosen:
        return request, 0
    changed = copy.deepcopy(request)
    marker = {"type": "ephemeral"} if ttl == "5m" else {"type": "ephemeral", "ttl": ttl}
    for _tokens, path in chosen:
        _mark(changed, path, marker)
    return changed, len(chosen)


def _candidate_positions(request):
    """(prefix tokens, path) for each place a breakpoint may go, in cache order."""
    positions, total = [], 0
    tools = request.get("tools") or []
    if isinstance(tools, list) and tools:
        total += sum(estimate_tokens(tool) for tool in tools)
        if isinstance(tools[-1], dict):
            positions.append((total, ("tools", len(tools) - 1)))
    system = request.get("system")
    if isinstance(system, str) and system:
        total += estimate_tokens(system)
        positions.append((total, ("system", None)))
    elif isinstance(system, list) and system:
        total += sum(estimate_tokens(block) for block in system)
        if isinstance(system[-1], dict) and system[-1].get("type") == "text":
            positions.append((total, ("system", len(system) - 1)))
    messages = request.get("messages") or []
    turn_ends = []  # (prefix tokens, path) at the end of each user message
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return positions
        content = message.get("content")
        blocks = content if isinstance(content, list) else [content]
        total += sum(estimate_tokens(block) for block in blocks)
        last = blocks[-1] if blocks else None
        cacheable = isinstance(last, str) and last or (isinstance(last, dict) and last.get("type")
                                                        not in UNCACHEABLE_BLOCKS)
        if message.get("role") == "user" and cacheable:
            turn_ends.append((total, ("messages", index)))
    # The previous user turn (read now) and the last one (written for the next turn).
    return positions + turn_ends[-2:]


def _mark(request, path, marker):
    where, index = path
    if where == "tools":
        request["tools"][index]["cache_control"] = dict(marker)
    elif where == "system":
        if index is None:
            request["system"] = [{"type": "text", "text": request["system"], "cache_control": dict(marker)}]
        else:
            request["system"][index]["cache_control"] = dict(marker)
    else:
        message = request["messages"][index]
        if isinstance(message["content"], str):
            message["content"] = [{"type": "text", "text": message["content"]}]
        message["content"][-1]["cache_control"] = dict(marker)
