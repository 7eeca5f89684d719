"""The Anthropic betas the fake's Bedrock endpoints take; any other is refused as Bedrock refuses it.

Real Bedrock answers 400 "invalid beta flag" (InvokeModel: ValidationException) for a beta it does not
serve, failing the whole request: the failure Claude Code users met on Opus 4.7 (FACTS.md).
"""
RUNTIME_BETAS = frozenset({
    "computer-use-2024-10-22", "computer-use-2025-01-24", "computer-use-2025-11-24", "context-1m-2025-08-07",
    "context-management-2025-06-27", "effort-2025-11-24", "fine-grained-tool-streaming-2025-05-14",
    "tool-search-tool-2025-10-19", "compact-2026-01-12", "dangerous-tool-use-2026-09-03",
    "thinking-binding-controls-2026-08-01", "thinking-display-updates-2026-08-18",
    "mid-conversation-output-config-2026-07-01", "mid-conversation-tool-changes-2026-07-01",
})
MANTLE_BETAS = (RUNTIME_BETAS - {"mid-conversation-output-config-2026-07-01",
                                 "mid-conversation-tool-changes-2026-07-01"}) | frozenset({
    "interleaved-thinking-2025-05-14", "output-128k-2025-02-19", "token-efficient-tools-2025-02-19",
    "structured-outputs-2025-11-13", "per-turn-control-2026-07-01", "tool-examples-2025-10-29",
    "web-search-2025-03-05", "claude-code-20250219"})
INVALID_BETA = "invalid beta flag"


def refused_beta(flags, accepted):
    """The first beta of `flags` (a list, or an anthropic-beta header value) not in `accepted`, or None."""
    if isinstance(flags, str):
        flags = [f.strip() for f in flags.split(",") if f.strip()]
    return next((f for f in flags if f not in accepted), None)
