"""Which Anthropic beta flags each provider accepts, and what the layer does with the others.

A request's betas (the SDK's ``betas``, an ``anthropic-beta`` header, the provider's configured
``beta_flags``) are checked against the provider that will serve it, after routing and failover:
a beta the target does not accept is dropped with a logged warning, one it knows under another
name is translated, the rest pass. The change is listed with the request's adaptations, so the
usage record shows it. On Bedrock InvokeModel the SDK then moves the header into the body as
``anthropic_beta`` (the form InvokeModel takes).

Targets: ``anthropic`` (the Claude API), ``aws_platform`` (Claude Platform on AWS, the same API),
and one per Bedrock integration: ``bedrock:invoke``, ``bedrock:messages``, ``bedrock:mantle``.
The Claude API and Claude Platform on AWS take every beta (an unknown one is the API's to refuse,
as it would be without us); the Bedrock integrations take only the betas listed for them, since
Bedrock answers "invalid beta flag" to the rest and fails the whole request.

Sources: the Claude API's beta headers page; AWS's Claude-on-Bedrock parameter pages; LiteLLM's
maintained per-provider mapping (anthropic_beta_headers_config.json, checked 2026-12) for the
Bedrock rows no AWS page lists. Bedrock's list changes: when it answers "invalid beta flag" for a
beta marked accepted here, move the beta to the dropped side.
"""
import logging

log = logging.getLogger(__name__)

TARGETS = ("anthropic", "aws_platform", "bedrock:invoke", "bedrock:messages", "bedrock:mantle")
TARGET_LABELS = {"anthropic": "Anthropic API", "aws_platform": "Claude Platform on AWS",
                 "bedrock:invoke": "Bedrock InvokeModel", "bedrock:messages": "Bedrock Messages API",
                 "bedrock:mantle": "bedrock-mantle"}
PASS_UNKNOWN = frozenset({"anthropic", "aws_platform"})  # the Claude API itself decides

_ALL = frozenset(TARGETS)
_API = frozenset({"anthropic", "aws_platform"})
_RUNTIME = frozenset({"bedrock:invoke", "bedrock:messages"})
_MANTLE = frozenset({"bedrock:mantle"})
_BEDROCK = _RUNTIME | _MANTLE

# beta flag -> the targets that accept it as is
ACCEPTED = {
    "computer-use-2024-10-22": _ALL,
    "computer-use-2025-01-24": _ALL,
    "computer-use-2025-11-24": _ALL,
    "context-1m-2025-08-07": _ALL,
    "context-management-2025-06-27": _ALL,
    "effort-2025-11-24": _ALL,
    "fine-grained-tool-streaming-2025-05-14": _ALL,
    "thinking-binding-controls-2026-08-01": _ALL,
    "thinking-display-updates-2026-08-18": _ALL,
    "compact-2026-01-12": _ALL,
    "dangerous-tool-use-2026-09-03": _ALL,
    "tool-search-tool-2025-10-19": _BEDROCK,
    "mid-conversation-output-config-2026-07-01": _API | _RUNTIME,
    "mid-conversation-tool-changes-2026-07-01": _API | _RUNTIME,
    "interleaved-thinking-2025-05-14": _API | _MANTLE,
    "output-128k-2025-02-19": _API | _MANTLE,
    "token-efficient-tools-2025-02-19": _API | _MANTLE,
    "structured-outputs-2025-11-13": _API | _MANTLE,
    "per-turn-control-2026-07-01": _API | _MANTLE,
    "tool-examples-2025-10-29": _MANTLE,
    "web-search-2025-03-05": _API | _MANTLE,
    "claude-code-20250219": _API | _MANTLE,
    "advanced-tool-use-2025-11-20": _API,
    "code-execution-2025-08-25": _API,
    "files-api-2025-04-14": _API,
    "mcp-client-2025-04-04": _API,
    "mcp-client-2025-11-20": _API,
    "skills-2025-10-02": _API,
    "web-fetch-2025-09-10": _API,
    "fast-mode-2026-02-01": _API,
    "prompt-caching-scope-2026-01-05": _API,
    "advisor-tool-2026-03-01": _API,
    "compact-2026-09-04": _API,
}
# beta flag -> {target: the name that target knows it by}
TRANSLATED = {
    "advanced-tool-use-2025-11-20": {"bedrock:invoke": "tool-search-tool-2025-10-19",
                                     "bedrock:messages": "tool-search-tool-2025-10-19",
                                     "bedrock:mantle": "tool-search-tool-2025-10-19"},
    # Bedrock's name for tool search, sent to the Claude API after a failover: the API's own name.
    "tool-search-tool-2025-10-19": {"anthropic": "advanced-tool-use-2025-11-20",
                                    "aws_platform": "advanced-tool-use-2025-11-20"},
}


def beta_target(kind, integration=None):
    """The table's column for a provider kind (and, on Bedrock, the integration serving the call)."""
    return f"bedrock:{integration or 'invoke'}" if kind == "bedrock" else kind


def verdict(flag, target):
    """("pass", flag), ("translate", new name) or ("drop", None) for one beta on one target."""
    if target in ACCEPTED.get(flag, ()):
        return "pass", flag
    renamed = TRANSLATED.get(flag, {}).get(target)
    if renamed:
        return "translate", renamed
    if flag not in ACCEPTED and target in PASS_UNKNOWN:
        return "pass", flag
    return "drop", None


def filter_betas(flags, target, *, model_id=""):
    """(flags to send, changes as plain sentences) for `target`; drops and translations are logged."""
    kept, changes = [], []
    label = TARGET_LABELS.get(target, target)
    for flag in flags:
        action, name = verdict(flag, target)
        if action == "translate":
            changes.append(f"beta {flag} sent as {name} ({label})")
        elif action == "drop":
            changes.append(f"beta {flag} dropped: not accepted by {label}")
        if name and name not in kept:
            kept.append(name)
    for change in changes:
        log.warning("Request to %s%s: %s", label, f" {model_id}" if model_id else "", change)
    return kept, changes


def table():
    """[(beta, {target: "accepted" | "as <name>" | "dropped"})] for every known beta, for the docs page."""
    rows = []
    for flag in sorted(set(ACCEPTED) | set(TRANSLATED)):
        cells = {}
        for target in TARGETS:
            action, name = verdict(flag, target)
            cells[target] = {"pass": "accepted", "translate": f"as {name}", "drop": "dropped"}[action]
        rows.append((flag, cells))
    return rows
