"""Bedrock Converse <-> Anthropic Messages translation, so Converse shares the Messages engine."""

from __future__ import annotations

from typing import Any

from .anthropic_models import ModelSpec
from .replies import Reply
from .tokens import InputUsage

_EPHEMERAL = {"type": "ephemeral"}


def _block(item: dict[str, Any]) -> dict[str, Any] | None:
    if "text" in item:
        return {"type": "text", "text": item["text"]}
    if "toolUse" in item:
        use = item["toolUse"]
        return {"type": "tool_use", "id": use.get("toolUseId"), "name": use.get("name"), "input": use.get("input", {})}
    if "toolResult" in item:
        res = item["toolResult"]
        parts = [{"type": "text", "text": c["text"]} for c in res.get("content", []) if "text" in c]
        return {"type": "tool_result", "tool_use_id": res.get("toolUseId"), "content": parts}
    if "image" in item:
        return {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}
    if "document" in item:
        return {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": ""}}
    if "reasoningContent" in item:
        text = item["reasoningContent"].get("reasoningText", {})
        return {"type": "thinking", "thinking": text.get("text", ""), "signature": text.get("signature", "")}
    return None


def _blocks(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items or []:
        if "cachePoint" in item and out:
            # A cachePoint closes the prefix at the block before it, like cache_control does.
            out[-1] = {**out[-1], "cache_control": _EPHEMERAL}
            continue
        block = _block(item)
        if block is not None:
            out.append(block)
    return out


def to_messages_body(req: dict[str, Any], spec: ModelSpec) -> dict[str, Any]:
    inference = req.get("inferenceConfig") or {}
    body: dict[str, Any] = {
        "max_tokens": inference.get("maxTokens", min(4096, spec.max_output_tokens)),
        "messages": [
            {"role": m.get("role"), "content": _blocks(m.get("content", []))} for m in req.get("messages") or []
        ],
    }
    if req.get("system"):
        body["system"] = _blocks(req["system"])
    if inference.get("stopSequences"):
        body["stop_sequences"] = inference["stopSequences"]
    if "temperature" in inference:
        body["temperature"] = inference["temperature"]
    tool_config = req.get("toolConfig") or {}
    tools = []
    for tool in tool_config.get("tools", []):
        if "toolSpec" in tool:
            ts = tool["toolSpec"]
            tools.append(
                {
                    "name": ts.get("name"),
                    "description": ts.get("description", ""),
                    "input_schema": (ts.get("inputSchema") or {}).get("json", {}),
                }
            )
        elif "cachePoint" in tool and tools:
            tools[-1]["cache_control"] = _EPHEMERAL
    if tools:
        body["tools"] = tools
    choice = tool_config.get("toolChoice")
    if choice:
        kind = next(iter(choice))
        body["tool_choice"] = {"type": kind, **({"name": choice[kind].get("name")} if kind == "tool" else {})}
    extra = req.get("additionalModelRequestFields") or {}
    if isinstance(extra.get("thinking"), dict):
        body["thinking"] = extra["thinking"]
    return body


def response(reply: Reply, usage: InputUsage, latency_ms: int) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for block in reply.content:
        if block["type"] == "text":
            content.append({"text": block["text"]})
        elif block["type"] == "tool_use":
            content.append({"toolUse": {"toolUseId": block["id"], "name": block["name"], "input": block["input"]}})
        elif block["type"] == "thinking":
            content.append(
                {"reasoningContent": {"reasoningText": {"text": block["thinking"], "signature": block["signature"]}}}
            )
    total_in = usage.total
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": reply.stop_reason,
        "usage": {
            "inputTokens": usage.input_tokens,
            "outputTokens": reply.output_tokens,
            "totalTokens": total_in + reply.output_tokens,
            "cacheReadInputTokens": usage.cache_read,
            "cacheWriteInputTokens": usage.cache_write,
        },
        "metrics": {"latencyMs": latency_ms},
    }
