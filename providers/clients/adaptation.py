"""Adapt a Messages request to the model that will serve it.

Newer models answer 400 to request settings older ones accept (the catalog's
request capabilities, catalog.json `request_capabilities`). A request written
for one model can reach another (a logical name that moved, a failover to a
provider that maps the name to a different model), so the call path adapts it
here first instead of letting the provider refuse it:

- a manual thinking budget (`thinking: {"type": "enabled", "budget_tokens": N}`,
  also one set by a MAX_THINKING_TOKENS cap) becomes adaptive thinking
  (`thinking: {"type": "adaptive"}`) with an effort level in
  `output_config.effort`, chosen from the budget (EFFORT_BY_BUDGET); an effort
  the caller already set is kept;
- `thinking: {"type": "disabled"}` (refused by Sonnet 5.5) is removed and, unless
  the caller set an effort, the effort is set to low (the closest to no thinking);
- `temperature`, `top_p` and `top_k` are dropped (those models take only the
  default sampling);
- assistant prefill (the last message from the assistant) and forced tool choice
  (`tool_choice` of type `any` or `tool`) have no safe equivalent: the request is
  refused with ProviderError(INVALID_REQUEST) naming the setting and the model.

Each change is described in one short string, for the log and the usage record.
Pure: the caller's dict is never modified.
"""
import copy

from providers.clients.catalog import ModelInfo, load_catalog
from providers.clients.errors import ErrorKind, ProviderError

# Thinking budget (tokens) -> effort. Budgets below 4,096 (MAX_THINKING_TOKENS' recommended
# 1,024 included) are light thinking; 4,096 to 16,383 medium; 16,384 and more high.
EFFORT_BY_BUDGET = ((4096, "low"), (16384, "medium"))
TOP_EFFORT = "high"
SAMPLING_PARAMS = ("temperature", "top_p", "top_k")
FORCED_TOOL_CHOICES = ("any", "tool")


def effort_for_budget(budget_tokens):
    """The effort level that replaces a thinking budget (see EFFORT_BY_BUDGET)."""
    for upper, effort in EFFORT_BY_BUDGET:
        if budget_tokens < upper:
            return effort
    return TOP_EFFORT


def adapt_request(request, model):
    """(adapted request, changes) for `model` (a catalog ModelInfo or any model ID).

    A model the catalog does not know is left alone (no changes). Raises
    ProviderError(INVALID_REQUEST) when a setting the model refuses has no safe
    adaptation.
    """
    info = model if isinstance(model, ModelInfo) else load_catalog().model(str(model or ""))
    if info is None or not info.capabilities.refuses:
        return request, []
    refuses = info.capabilities.refuses
    name = info.display_name
    _refuse_unadaptable(request, refuses, name)
    adapted = copy.deepcopy(request)
    changes = []
    thinking = adapted.get("thinking")
    thinking_type = thinking.get("type") if isinstance(thinking, dict) else None
    if thinking_type == "enabled" and "thinking_budget" in refuses:
        budget = thinking.get("budget_tokens")
        chosen = _effort(adapted)
        if chosen is None:
            chosen = effort_for_budget(budget) if isinstance(budget, int) else "medium"
            _set_effort(adapted, chosen)
            changes.append(f"thinking budget {budget} tokens -> adaptive thinking, effort {chosen} "
                           f"({name} takes no manual budget)")
        else:
            changes.append(f"thinking budget {budget} tokens -> adaptive thinking, keeping effort {chosen} "
                           f"({name} takes no manual budget)")
        adapted["thinking"] = {"type": "adaptive", **_kept_display(thinking)}
    elif thinking_type == "disabled" and "thinking_disabled" in refuses:
        del adapted["thinking"]
        if _effort(adapted) is None:
            _set_effort(adapted, "low")
            changes.append(f"thinking disabled -> default thinking with effort low ({name} cannot disable thinking)")
        else:
            changes.append(f"thinking disabled -> default thinking ({name} cannot disable thinking)")
    if "sampling" in refuses:
        for param in SAMPLING_PARAMS:
            if param in adapted:
                value = adapted.pop(param)
                changes.append(f"dropped {param}={value} ({name} takes only the default sampling)")
    return adapted, changes


def _refuse_unadaptable(request, refuses, name):
    messages = request.get("messages") or []
    last = messages[-1] if messages else None
    if "assistant_prefill" in refuses and isinstance(last, dict) and last.get("role") == "assistant":
        raise ProviderError(
            ErrorKind.INVALID_REQUEST,
            f"Assistant prefill (a last message from the assistant) is not supported by {name}.",
            hint="End the messages with a user turn; ask for the format in the prompt or use structured outputs.",
        )
    tool_choice = request.get("tool_choice")
    choice_type = tool_choice.get("type") if isinstance(tool_choice, dict) else None
    if "forced_tool_choice" in refuses and choice_type in FORCED_TOOL_CHOICES:
        raise ProviderError(
            ErrorKind.INVALID_REQUEST,
            f"Forced tool choice (tool_choice type '{choice_type}') is not supported by {name}.",
            hint="Use tool_choice auto (or none) and say in the prompt which tool to use.",
        )


def _effort(request):
    config = request.get("output_config")
    return config.get("effort") if isinstance(config, dict) else None


def _set_effort(request, effort):
    config = request.get("output_config")
    request["output_config"] = {**(config if isinstance(config, dict) else {}), "effort": effort}


def _kept_display(thinking):
    return {"display": thinking["display"]} if "display" in thinking else {}
