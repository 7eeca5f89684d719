"""Claude models the fake Anthropic API knows (ids, aliases, limits), newest first like /v1/models."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelSpec:
    id: str
    display_name: str
    created_at: str  # RFC 3339, as /v1/models returns it
    max_output_tokens: int = 64_000
    context_window: int = 200_000
    aliases: tuple[str, ...] = field(default_factory=tuple)
    line: str | None = None

    def info(self) -> dict[str, Any]:
        return {
            "type": "model",
            "id": self.id,
            "display_name": self.display_name,
            "created_at": self.created_at,
            "lifecycle": "active",
            "deprecated_at": None,
            "retires_at": None,
            "line": self.line,
            "max_input_tokens": self.context_window,
            "max_tokens": self.max_output_tokens,
        }


# Entries without a dated id are names the installed SDK lists that way; their dates are approximate.
DEFAULT_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("claude-fable-5-2", "Claude Fable 5.2", "2026-11-09T00:00:00Z", 128_000, 1_000_000, line="fable"),
    ModelSpec("claude-fable-5-1", "Claude Fable 5.1", "2026-08-01T00:00:00Z", 128_000, 1_000_000, line="fable"),
    ModelSpec("claude-opus-5-5", "Claude Opus 5.5", "2026-10-20T00:00:00Z", 128_000, 1_000_000, line="opus"),
    ModelSpec("claude-sonnet-5-5", "Claude Sonnet 5.5", "2026-10-20T00:00:00Z", 64_000, 1_000_000, line="sonnet"),
    ModelSpec("claude-haiku-5-5", "Claude Haiku 5.5", "2026-10-20T00:00:00Z", 64_000, line="haiku"),
    ModelSpec("claude-opus-5", "Claude Opus 5", "2026-08-01T00:00:00Z", 128_000, 1_000_000, line="opus"),
    ModelSpec("claude-sonnet-5", "Claude Sonnet 5", "2026-08-01T00:00:00Z", 64_000, 1_000_000, line="sonnet"),
    ModelSpec("claude-opus-4-8", "Claude Opus 4.8", "2026-06-01T00:00:00Z", 128_000, 1_000_000, line="opus"),
    ModelSpec("claude-opus-4-7", "Claude Opus 4.7", "2026-04-01T00:00:00Z", 128_000, 1_000_000, line="opus"),
    ModelSpec("claude-opus-4-6", "Claude Opus 4.6", "2026-02-05T00:00:00Z", 128_000, line="opus"),
    ModelSpec("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z", 64_000, line="sonnet"),
    ModelSpec(
        "claude-opus-4-5-20251101",
        "Claude Opus 4.5",
        "2025-11-24T00:00:00Z",
        64_000,
        aliases=("claude-opus-4-5",),
        line="opus",
    ),
    ModelSpec(
        "claude-haiku-4-5-20251001",
        "Claude Haiku 4.5",
        "2025-10-15T00:00:00Z",
        64_000,
        aliases=("claude-haiku-4-5",),
        line="haiku",
    ),
    ModelSpec(
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5",
        "2025-09-29T00:00:00Z",
        64_000,
        aliases=("claude-sonnet-4-5",),
        line="sonnet",
    ),
    ModelSpec(
        "claude-opus-4-1-20250805",
        "Claude Opus 4.1",
        "2025-08-05T00:00:00Z",
        32_000,
        aliases=("claude-opus-4-1",),
        line="opus",
    ),
    ModelSpec(
        "claude-opus-4-20250514",
        "Claude Opus 4",
        "2025-05-22T00:00:00Z",
        32_000,
        aliases=("claude-opus-4-0",),
        line="opus",
    ),
    ModelSpec(
        "claude-sonnet-4-20250514",
        "Claude Sonnet 4",
        "2025-05-22T00:00:00Z",
        64_000,
        aliases=("claude-sonnet-4-0",),
        line="sonnet",
    ),
    ModelSpec(
        "claude-3-5-haiku-20241022",
        "Claude Haiku 3.5",
        "2024-10-22T00:00:00Z",
        8_192,
        aliases=("claude-3-5-haiku-latest",),
        line="haiku",
    ),
    ModelSpec("claude-3-haiku-20240307", "Claude Haiku 3", "2024-03-07T00:00:00Z", 4_096, line="haiku"),
)


class ModelRegistry:
    """Lookup by id or alias. Accepts ModelSpec objects, plain ids, or dicts of ModelSpec fields."""

    def __init__(self, models: Iterable[ModelSpec | str | Mapping[str, Any]] | None = None) -> None:
        specs = []
        for m in DEFAULT_MODELS if models is None else models:
            if isinstance(m, str):
                m = ModelSpec(m, m, "1970-01-01T00:00:00Z")
            elif isinstance(m, Mapping):
                m = ModelSpec(**{"display_name": m["id"], "created_at": "1970-01-01T00:00:00Z", **m})
            specs.append(m)
        self.models: tuple[ModelSpec, ...] = tuple(specs)
        self._by_name: dict[str, ModelSpec] = {}
        for spec in self.models:
            for name in (spec.id, *spec.aliases):
                self._by_name[name] = spec

    def resolve(self, name: str) -> ModelSpec | None:
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name
