"""Token estimation and a prompt-cache simulation faithful to the Messages API usage fields.

Estimate: max(1, chars // 4) per text unit. The prompt is walked in the API's cache order
(tools, then system, then messages); a block carrying ``cache_control`` closes a cacheable prefix.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

IMAGE_TOKENS = 1600  # ~ a 1092x1092 image; the real count depends on pixels
DOCUMENT_TOKENS = 2000
TTL_SECONDS = {"5m": 300, "1h": 3600}


def estimate(text: str) -> int:
    return max(1, len(text) // 4)


def _canon(obj: Any) -> str:
    # cache_control does not change what is cached, only where the prefix ends.
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k != "cache_control"}
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return json.dumps(block)
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "thinking":
        return str(block.get("thinking", ""))
    if kind == "redacted_thinking":
        return str(block.get("data", ""))
    if kind == "tool_use":
        return str(block.get("name", "")) + json.dumps(block.get("input", {}), sort_keys=True)
    if kind == "tool_result":
        content = block.get("content", "")
        if isinstance(content, list):
            return "\n".join(block_text(b) for b in content)
        return str(content)
    return _canon(block)


def block_tokens(block: Any) -> int:
    if isinstance(block, dict):
        if block.get("type") == "image":
            return IMAGE_TOKENS
        if block.get("type") == "document":
            source = block.get("source") or {}
            if source.get("type") == "text":
                return estimate(str(source.get("data", "")))
            return DOCUMENT_TOKENS
    return estimate(block_text(block))


@dataclass
class Unit:
    tokens: int
    canon: str
    ttl: str | None  # "5m"/"1h" when this block carries cache_control


def prompt_units(body: dict) -> list[Unit]:
    units: list[Unit] = []

    def add(block: Any, tokens: int) -> None:
        cc = block.get("cache_control") if isinstance(block, dict) else None
        ttl = (cc.get("ttl") or "5m") if isinstance(cc, dict) else None
        units.append(Unit(tokens, _canon(block), ttl))

    for tool in body.get("tools") or []:
        add(tool, estimate(_canon(tool)))
    system = body.get("system")
    if isinstance(system, str) and system:
        add(system, estimate(system))
    elif isinstance(system, list):
        for block in system:
            add(block, block_tokens(block))
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            add(content, estimate(content))
        elif isinstance(content, list):
            for block in content:
                add(block, block_tokens(block))
    return units


def count_input_tokens(body: dict) -> int:
    return sum(u.tokens for u in prompt_units(body))


def count_cache_breakpoints(body: dict) -> int:
    return sum(1 for u in prompt_units(body) if u.ttl is not None)


@dataclass
class InputUsage:
    input_tokens: int = 0
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total(self) -> int:
        return self.input_tokens + self.cache_read + self.cache_write

    def as_usage(self, output_tokens: int) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_write,
            "cache_read_input_tokens": self.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_write_5m,
                "ephemeral_1h_input_tokens": self.cache_write_1h,
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }


class PromptCache:
    """Prefix-hash cache with per-entry TTL. Reads refresh the TTL, as on the real API.

    ``min_tokens`` mirrors the API's minimum cacheable prefix (1024+ on real models); the
    default 0 caches any marked prefix so tests can use short prompts.
    """

    def __init__(self, min_tokens: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.min_tokens = min_tokens
        self._clock = clock
        self._entries: dict[str, tuple[float, str]] = {}  # hash -> (expiry, ttl)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def account(self, scope: str, body: dict) -> InputUsage:
        """Split the prompt's tokens into uncached / cache-read / cache-write (and record writes)."""
        running = hashlib.sha256(scope.encode())
        total = 0
        breakpoints: list[tuple[int, str, str]] = []  # (prefix tokens, prefix hash, ttl)
        for unit in prompt_units(body):
            running.update(unit.canon.encode())
            total += unit.tokens
            if unit.ttl is not None:
                breakpoints.append((total, running.hexdigest(), unit.ttl))

        usage = InputUsage()
        now = self._clock()
        with self._lock:
            hit = -1
            for i in range(len(breakpoints) - 1, -1, -1):  # the longest cached prefix wins
                entry = self._entries.get(breakpoints[i][1])
                if entry and entry[0] > now:
                    hit = i
                    break
            for _, digest, _ttl in breakpoints[: hit + 1]:
                entry = self._entries.get(digest)
                if entry and entry[0] > now:
                    self._entries[digest] = (now + TTL_SECONDS.get(entry[1], 300), entry[1])
            covered = breakpoints[hit][0] if hit >= 0 else 0
            usage.cache_read = covered
            for tokens, digest, ttl in breakpoints[hit + 1 :]:
                if tokens < self.min_tokens:
                    continue  # too short to cache: these tokens stay plain input
                if ttl == "1h":
                    usage.cache_write_1h += tokens - covered
                else:
                    usage.cache_write_5m += tokens - covered
                covered = tokens
                self._entries[digest] = (now + TTL_SECONDS.get(ttl, 300), ttl)
        usage.input_tokens = total - usage.cache_read - usage.cache_write
        return usage
