"""Request validation for the Messages body, with the real API's error messages.

Shared by both fakes: the Anthropic fake renders ``ApiError`` as an ``invalid_request_error``
(or ``not_found_error``), the Bedrock fake as a ``ValidationException``.
"""

from __future__ import annotations

from typing import Any

from .anthropic_models import ModelRegistry, ModelSpec
from .tokens import TTL_SECONDS, count_cache_breakpoints, count_input_tokens, prompt_units

MAX_CACHE_BREAKPOINTS = 4
MIN_THINKING_BUDGET = 1024


class ApiError(Exception):
    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def resolve_model(body: dict, registry: ModelRegistry) -> ModelSpec:
    if "model" not in body:
        raise invalid("model: Field required")
    name = body["model"]
    if not isinstance(name, str):
        raise invalid("model: Input should be a valid string")
    spec = registry.resolve(name)
    if spec is None:
        raise ApiError(404, "not_found_error", f"model: {name}")
    return spec


def _validate_messages(messages: Any) -> None:
    if messages is None:
        raise invalid("messages: Field required")
    if not isinstance(messages, list):
        raise invalid("messages: Input should be a valid list")
    if not messages:
        raise invalid("messages: at least one message is required")
    previous = None
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid(f"messages.{i}: Input should be a valid dictionary")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if "content" not in message:
            raise invalid(f"messages.{i}.content: Field required")
        content = message["content"]
        if not isinstance(content, (str, list)):
            raise invalid(f"messages.{i}.content: Input should be a valid string or list")
        is_final_assistant = i == len(messages) - 1 and role == "assistant"
        if not content and not is_final_assistant:
            raise invalid(
                f"messages.{i}: all messages must have non-empty content except for the optional final "
                "assistant message"
            )
        if i == 0 and role != "user":
            raise invalid('messages: first message must use the "user" role')
        if role == previous:
            raise invalid(
                f'messages: roles must alternate between "user" and "assistant", but found multiple "{role}" '
                "roles in a row"
            )
        previous = role


def _validate_tools(body: dict) -> None:
    tools = body.get("tools")
    if tools is None:
        tools = []
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    names = set()
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or "name" not in tool:
            raise invalid(f"tools.{i}.name: Field required")
        if tool.get("type") in (None, "custom") and "input_schema" not in tool:
            raise invalid(f"tools.{i}.custom.input_schema: Field required")
        if tool["name"] in names:
            raise invalid("tools: Tool names must be unique.")
        names.add(tool["name"])
    choice = body.get("tool_choice")
    if choice is None:
        return
    if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
        raise invalid("tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'")
    if choice["type"] == "tool" and choice.get("name") not in names:
        raise invalid(f"tool_choice.name: Tool '{choice.get('name')}' not found in tools")
    if choice["type"] in ("any", "tool") and not names:
        raise invalid("tool_choice: tool_choice may only be specified while providing tools.")


def _validate_thinking(body: dict, max_tokens: int | None) -> None:
    thinking = body.get("thinking")
    if thinking is None:
        return
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in ("enabled", "disabled", "adaptive"):
        raise invalid("thinking: Input tag does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'")
    if kind == "disabled":
        return
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if budget is None:
            raise invalid("thinking.enabled.budget_tokens: Field required")
        if not _is_int(budget) or budget < MIN_THINKING_BUDGET:
            raise invalid(
                f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_THINKING_BUDGET}"
            )
        if max_tokens is not None and budget >= max_tokens:
            raise invalid(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
            )
    if (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        raise invalid("Thinking may not be enabled when tool_choice forces tool use.")
    if body.get("temperature") not in (None, 1, 1.0):
        raise invalid("`temperature` may only be set to 1 when thinking is enabled or in adaptive mode.")


def _validate_cache_control(body: dict) -> None:
    for unit in prompt_units(body):
        if unit.ttl is not None and unit.ttl not in TTL_SECONDS:
            raise invalid(f"cache_control.ttl: Input should be '5m' or '1h', got '{unit.ttl}'")
    found = count_cache_breakpoints(body)
    if found > MAX_CACHE_BREAKPOINTS:
        raise invalid(f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {found}.")


def validate_body(body: Any, spec: ModelSpec, *, count_only: bool = False) -> None:
    """Validate everything except the model name (the caller resolved ``spec`` already)."""
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object")
    max_tokens = body.get("max_tokens")
    if not count_only:
        if "max_tokens" not in body:
            raise invalid("max_tokens: Field required")
        if not _is_int(max_tokens):
            raise invalid("max_tokens: Input should be a valid integer")
        if max_tokens < 1:
            raise invalid("max_tokens: Input should be greater than or equal to 1")
        if max_tokens > spec.max_output_tokens:
            raise invalid(
                f"max_tokens: {max_tokens} > {spec.max_output_tokens}, which is the maximum allowed number of "
                f"output tokens for {spec.id}"
            )
    _validate_messages(body.get("messages"))
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        raise invalid("system: Input should be a valid string or list")
    temperature = body.get("temperature")
    if temperature is not None and (not isinstance(temperature, (int, float)) or not 0 <= temperature <= 1):
        raise invalid("temperature: Input should be less than or equal to 1")
    _validate_tools(body)
    _validate_thinking(body, max_tokens if _is_int(max_tokens) else None)
    _validate_cache_control(body)


def check_context_window(body: dict, spec: ModelSpec) -> int:
    tokens = count_input_tokens(body)
    if tokens > spec.context_window:
        raise invalid(f"prompt is too long: {tokens} tokens > {spec.context_window} maximum")
    return tokens
