"""Deterministic model output: the reply content for a Messages body, and its stream events.

Rules: "echo: X" as the last user text replies X; tools are called when the user says "use tool"
or tool_choice forces it; extended thinking adds a thinking block first. Otherwise a greeting.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

from .tokens import InputUsage, block_text, estimate

_B62 = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    # Same look as real ids (msg_01..., toolu_01...): "01" + 22 base62 characters.
    return f"{prefix}_01" + "".join(secrets.choice(_B62) for _ in range(22))


@dataclass
class Reply:
    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int


def _last_user(messages: list[dict]) -> dict | None:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message
    return None


def _blocks(message: dict | None) -> list[Any]:
    if message is None:
        return []
    content = message.get("content")
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])


def sample_value(schema: Any, depth: int = 0) -> Any:
    """A small value satisfying a JSON schema's type / enum / required properties."""
    if not isinstance(schema, dict):
        return "example"
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        if depth > 4:
            return {}
        props = schema.get("properties") or {}
        return {name: sample_value(props.get(name, {}), depth + 1) for name in schema.get("required") or []}
    if kind == "array":
        count = schema.get("minItems") or 0
        return [sample_value(schema.get("items", {}), depth + 1) for _ in range(count)]
    return {"integer": 1, "number": 1, "boolean": True, "null": None}.get(kind, "example")


def _pick_tool(body: dict, user_text: str, answered_tool: bool) -> tuple[dict | None, bool]:
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict) and "input_schema" in t]
    choice = body.get("tool_choice") or {"type": "auto"}
    if not tools or choice.get("type") == "none":
        return None, False
    if choice.get("type") == "tool":
        return next((t for t in tools if t.get("name") == choice.get("name")), None), True
    if choice.get("type") == "any":
        return tools[0], True
    # auto: only when asked, and not right after a tool result (so agent loops terminate)
    if "use tool" in user_text.lower() and not answered_tool:
        return tools[0], False
    return None, False


def build_reply(body: dict, model_id: str, greeting: str) -> Reply:
    last = _last_user(body.get("messages") or [])
    blocks = _blocks(last)
    user_text = "\n".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
    results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]

    planned: list[dict[str, Any]] = []
    thinking = body.get("thinking") or {}
    if thinking.get("type") in ("enabled", "adaptive"):
        thought = f"The user wrote {len(user_text)} characters. I will answer deterministically."
        signature = base64.b64encode(hashlib.sha256(thought.encode()).digest() * 3).decode()
        planned.append({"type": "thinking", "thinking": thought, "signature": signature})

    tool, forced = _pick_tool(body, user_text, bool(results))
    stripped = user_text.strip()
    if tool is not None:
        if not forced:
            planned.append({"type": "text", "text": f"I'll use the {tool['name']} tool."})
        tool_input = sample_value(tool.get("input_schema") or {})
        planned.append({"type": "tool_use", "id": new_id("toolu"), "name": tool["name"], "input": tool_input})
    elif stripped.lower().startswith("echo:"):
        planned.append({"type": "text", "text": stripped[len("echo:") :].strip()})
    elif results:
        planned.append({"type": "text", "text": f"Tool result received: {block_text(results[-1])}"})
    else:
        planned.append({"type": "text", "text": f"Hello from the {greeting} (model {model_id})."})

    return _apply_limits(planned, body)


def _apply_limits(planned: list[dict], body: dict) -> Reply:
    """Cut output at the first stop sequence or at max_tokens, as the model would stop there."""
    budget = body.get("max_tokens") or 0
    stops = [s for s in body.get("stop_sequences") or [] if s]
    content: list[dict] = []
    used = 0
    stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in planned) else "end_turn"
    stop_sequence = None
    for block in planned:
        if block["type"] == "text":
            text = block["text"]
            hits = [(text.find(s), s) for s in stops if s in text]
            if hits:
                pos, seq = min(hits)
                text, stop_reason, stop_sequence = text[:pos], "stop_sequence", seq
            cost = estimate(text)
            if used + cost > budget:
                text, stop_reason, stop_sequence = text[: max(0, budget - used) * 4], "max_tokens", None
                cost = estimate(text) if text else 0
            used += cost
            content.append({"type": "text", "text": text})
            if stop_reason in ("stop_sequence", "max_tokens"):
                break
        else:
            cost = estimate(block_text(block))
            if used + cost > budget and block["type"] == "tool_use":
                stop_reason = "max_tokens"
                break
            used += cost
            content.append(block)
    return Reply(content, stop_reason, stop_sequence, max(1, used))


def message_json(msg_id: str, model: str, reply: Reply, usage: InputUsage) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": reply.content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.stop_sequence,
        "usage": usage.as_usage(reply.output_tokens),
    }


def _text_chunks(text: str) -> list[str]:
    words = re.findall(r"\S+\s*|\s+", text)
    return ["".join(words[i : i + 3]) for i in range(0, len(words), 3)] or [""]


def _block_events(index: int, block: dict) -> list[dict]:
    kind = block["type"]
    if kind == "text":
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": c} for c in _text_chunks(block["text"])]
    elif kind == "thinking":
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": c} for c in _text_chunks(block["thinking"])]
        deltas.append({"type": "signature_delta", "signature": block["signature"]})
    else:
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        raw = json.dumps(block["input"])
        deltas = [{"type": "input_json_delta", "partial_json": ""}]
        deltas += [{"type": "input_json_delta", "partial_json": raw[i : i + 12]} for i in range(0, len(raw), 12)]
    events = [{"type": "content_block_start", "index": index, "content_block": start}]
    events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
    events.append({"type": "content_block_stop", "index": index})
    return events


def stream_events(msg_id: str, model: str, reply: Reply, usage: InputUsage, ping: bool = True) -> list[dict]:
    start = message_json(msg_id, model, Reply([], "", None, 1), usage)
    start.update(stop_reason=None, stop_sequence=None)
    events: list[dict] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(reply.content):
        events += _block_events(index, block)
        if index == 0 and ping:
            events.insert(2, {"type": "ping"})  # the API pings right after the first block opens
    final = usage.as_usage(reply.output_tokens)
    final.pop("cache_creation")
    final.pop("service_tier")
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence},
            "usage": final,
        }
    )
    events.append({"type": "message_stop"})
    return events
