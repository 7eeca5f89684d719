"""Step 4's probe requests: the same requests on source and target, each observed the same way.

Every Messages call goes through providers.calls.invoke pinned to one provider with purpose
"wizard", so each probe is recorded as usage (and priced). Token counting is free and is asked of
the provider's client directly, as the in-process client does.
"""
import time

from providers.call_records import CallContext
from providers.calls import invoke
from providers.client_pool import client_for
from providers.clients.catalog import load_catalog
from providers.clients.errors import ErrorKind, ProviderError

# Long enough to pass every model's minimum cacheable prompt (4096 tokens at most); tokens are ~4 chars.
CACHE_SYSTEM = ("These are the standing instructions of the Moments migration probe. " * 300).strip()
WEATHER_TOOL = {"name": "get_weather", "description": "The weather in a city.",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"]}}


def _user(text):
    return {"role": "user", "content": text}


def _observe(settings, request, *, stream=False):
    """What a call did: ok, error, stop reason, content block types and usage by token kind."""
    context = CallContext(purpose="wizard", provider=settings.name)
    started = time.monotonic()
    try:
        if stream:
            return _observe_stream(settings, request, context)
        result = invoke([settings], request, context)
    except ProviderError as error:
        return {"ok": False, "error": f"{error.kind.value}: {error.message}"[:400],
                "latency_ms": round((time.monotonic() - started) * 1000, 1)}
    message = result.message
    return {"ok": True, "stop_reason": message.get("stop_reason"),
            "blocks": [block.get("type") for block in message.get("content") or []],
            "content": message.get("content") or [], "usage": _usage(result.usage),
            "model_id": result.model_id, "latency_ms": round(result.latency_ms or 0, 1)}


def _observe_stream(settings, request, context):
    stream = invoke([settings], request, context, stream=True)
    events, stop_reason, blocks = [], None, []
    with stream:
        for event in stream:
            events.append(event.get("type"))
            if event.get("type") == "content_block_start":
                blocks.append((event.get("content_block") or {}).get("type"))
            if event.get("type") == "message_delta":
                stop_reason = (event.get("delta") or {}).get("stop_reason") or stop_reason
    ok = "message_stop" in events
    return {"ok": ok, "error": "" if ok else "the stream ended without message_stop", "stop_reason": stop_reason,
            "blocks": blocks, "events": sorted(set(events)), "usage": _usage(stream.usage),
            "model_id": stream.model_id, "ttft_ms": stream.ttft_ms,
            "latency_ms": round(stream.record.latency_ms or 0, 1) if stream.record else None}


def _usage(usage):
    return {"input": usage.input_tokens, "output": usage.output_tokens,
            "cache_write": usage.cache_write_5m_tokens + usage.cache_write_1h_tokens,
            "cache_read": usage.cache_read_tokens}


def plain_text(settings, model):
    return _observe(settings, {"model": model, "max_tokens": 64, "messages": [_user("echo: The probe answered.")]})


def system_prompt(settings, model):
    return _observe(settings, {"model": model, "max_tokens": 64, "system": "Answer in one short sentence.",
                               "messages": [_user("echo: System prompt honoured.")]})


def multi_turn(settings, model):
    return _observe(settings, {"model": model, "max_tokens": 64, "messages": [
        _user("Remember the word lantern."), {"role": "assistant", "content": "I will remember it."},
        _user("echo: lantern")]})


def streaming(settings, model):
    return _observe(settings, {"model": model, "max_tokens": 64, "messages": [_user("echo: Streamed.")]},
                    stream=True)


def tool_use(settings, model):
    """A tool call, then its result sent back: the loop an agent runs."""
    request = {"model": model, "max_tokens": 256, "tools": [WEATHER_TOOL],
               "messages": [_user("Please use tool get_weather for Paris.")]}
    first = _observe(settings, request)
    if not first["ok"]:
        return first
    call = next((b for b in first["content"] if b.get("type") == "tool_use"), None)
    if call is None:
        return {**first, "ok": False, "error": f"no tool_use block (stop reason {first['stop_reason']})"}
    follow = {**request, "messages": [*request["messages"], {"role": "assistant", "content": first["content"]},
                                      {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"],
                                                                    "content": "Sunny, 21 °C"}]}]}
    second = _observe(settings, follow)
    stop = f"{first['stop_reason']} then {second.get('stop_reason')}"
    return {**second, "stop_reason": stop, "blocks": [*first["blocks"], "|", *second.get("blocks", [])],
            "usage": _sum(first["usage"], second.get("usage"))}


def prompt_caching(settings, model):
    """The same cached system prompt twice: written (or already cached), then read."""
    request = {"model": model, "max_tokens": 32, "messages": [_user("echo: cached")],
               "system": [{"type": "text", "text": CACHE_SYSTEM, "cache_control": {"type": "ephemeral"}}]}
    first = _observe(settings, request)
    if not first["ok"]:
        return first
    second = _observe(settings, request)
    if not second["ok"]:
        return second
    written = first["usage"]["cache_write"] or first["usage"]["cache_read"]
    read = second["usage"]["cache_read"]
    result = {**second, "usage": _sum(first["usage"], second["usage"]), "cache": {"first": first["usage"],
                                                                                   "second": second["usage"]}}
    if not written or not read:
        return {**result, "ok": False, "error": f"cache not used: first call wrote {first['usage']['cache_write']} "
                f"tokens, second call read {read}"}
    return result


def extended_thinking(settings, model):
    resolution = client_for(settings).resolution(model)
    info = load_catalog().model(resolution.catalog_key or resolution.model_id)
    if info is not None and not info.extended_thinking:
        return {"ok": True, "unsupported": f"{info.display_name} has no extended thinking"}
    result = _observe(settings, {"model": model, "max_tokens": 2048, "thinking": {"type": "enabled",
                                                                                   "budget_tokens": 1024},
                                 "messages": [_user("Think about it: what is 12 times 12?")]})
    if result["ok"] and "thinking" not in result["blocks"]:
        return {**result, "ok": False, "error": "no thinking block in the answer"}
    return result


def limits(settings, model):
    """max_tokens stops the answer; a stop sequence stops it where it appears."""
    capped = _observe(settings, {"model": model, "max_tokens": 3, "messages": [
        _user("echo: one two three four five six seven eight nine ten eleven twelve")]})
    if not capped["ok"]:
        return capped
    stopped = _observe(settings, {"model": model, "max_tokens": 64, "stop_sequences": ["HALT"],
                                  "messages": [_user("echo: first part HALT second part")]})
    if not stopped["ok"]:
        return stopped
    return {**stopped, "stop_reason": f"{capped['stop_reason']} / {stopped['stop_reason']}",
            "usage": _sum(capped["usage"], stopped["usage"])}


def count_tokens(settings, model):
    started = time.monotonic()
    try:
        count = client_for(settings).count_tokens({"model": model, "max_tokens": 1,
                                                   "messages": [_user("How many tokens is this?")]})
    except ProviderError as error:
        if error.kind is ErrorKind.UNSUPPORTED:
            return {"ok": True, "unsupported": error.message}
        return {"ok": False, "error": f"{error.kind.value}: {error.message}"[:400]}
    ok = isinstance(count, int) and count > 0
    return {"ok": ok, "error": "" if ok else f"counted {count!r}", "count": count, "blocks": [],
            "latency_ms": round((time.monotonic() - started) * 1000, 1)}


def _sum(a, b):
    b = b or {}
    return {key: a.get(key, 0) + b.get(key, 0) for key in a}


PROBES = (
    ("plain_text", "Plain text", plain_text),
    ("system_prompt", "System prompt", system_prompt),
    ("multi_turn", "Multi-turn", multi_turn),
    ("streaming", "Streaming", streaming),
    ("tool_use", "Tool use with a tool result", tool_use),
    ("prompt_caching", "Prompt caching, write then read", prompt_caching),
    ("extended_thinking", "Extended thinking", extended_thinking),
    ("limits", "max_tokens and stop sequences", limits),
    ("count_tokens", "Count tokens", count_tokens),
)
LABELS = {name: label for name, label, _ in PROBES}


def run_probe(name, settings, model):
    """One probe on one provider; never raises."""
    function = {n: f for n, _, f in PROBES}[name]
    try:
        observed = function(settings, model)
    except ProviderError as error:
        observed = {"ok": False, "error": f"{error.kind.value}: {error.message}"[:400]}
    except Exception as exc:  # a defect must end in a readable failure, not a stuck progress bar
        observed = {"ok": False, "error": f"unexpected {type(exc).__name__}"}
    observed.pop("content", None)
    return observed
