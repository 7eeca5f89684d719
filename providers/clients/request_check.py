"""Checks a Messages request before it is sent, so a malformed one is `invalid_request`
naming the field (never a TypeError or KeyError from deep inside the SDK).

The accepted fields are the SDK's own `messages.create` parameters, so they follow the
installed SDK; sampling parameters the SDK no longer types (temperature, top_p, top_k) are
still sent, in the body, for the models that take them.
"""
import inspect
import math
from dataclasses import dataclass, field
from functools import cache

from providers.clients.errors import ErrorKind, ProviderError

PASSED_IN_BODY = ("temperature", "top_p", "top_k")
CALL_OPTIONS = ("betas", "extra_headers")  # per-request options, not body fields
# JSON nesting a request may have: tool schemas and content blocks nest a few levels; far below the
# depth at which the SDK's encoder or the response cache's normalization would hit the recursion limit.
MAX_DEPTH = 128
_NOT_FIELDS = {"self", "extra_headers", "extra_query", "extra_body", "timeout"}


@cache
def sdk_fields():
    from anthropic.resources.messages import Messages

    return frozenset(inspect.signature(Messages.create).parameters) - _NOT_FIELDS


@dataclass
class CheckedRequest:
    body: dict  # SDK keyword arguments
    extra_body: dict = field(default_factory=dict)
    betas: tuple = ()
    extra_headers: dict = field(default_factory=dict)


def invalid(message, hint=None):
    return ProviderError(ErrorKind.INVALID_REQUEST, message, hint=hint)


def check_request(request):
    if not isinstance(request, dict):
        raise invalid("The request must be a JSON object with model, max_tokens and messages.")
    known = sdk_fields()
    unknown = sorted(str(name) for name in request if name not in known and name not in PASSED_IN_BODY + CALL_OPTIONS)
    if unknown:
        raise invalid(f"Unknown request field{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)[:200]}.",
                      hint="Remove it, or check its spelling against the Messages API.")
    model = request.get("model")
    if not isinstance(model, str) or not model.strip():
        raise invalid("model is required: a logical name (sonnet, haiku, opus) or a model ID.")
    max_tokens = request.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise invalid("max_tokens is required and must be a positive whole number.")
    if not isinstance(request.get("messages"), list):
        raise invalid("messages is required and must be a list of {role, content} objects.")
    thinking = request.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, dict) or not isinstance(thinking.get("type"), str):
            raise invalid('thinking must be an object such as {"type": "adaptive"} or '
                          '{"type": "enabled", "budget_tokens": 2048}.')
        budget = thinking.get("budget_tokens")
        if thinking["type"] == "enabled" and (isinstance(budget, bool) or not isinstance(budget, int)):
            raise invalid("thinking.budget_tokens must be a whole number when thinking.type is enabled.")
    problem = shape_problem(request)
    if problem is not None:  # the SDK's encoder would fail on it, which would look like a connection failure
        raise invalid(problem)
    betas = request.get("betas") or ()
    if isinstance(betas, str) or not all(isinstance(b, str) for b in betas):
        raise invalid("betas must be a list of beta flag names.")
    headers = request.get("extra_headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise invalid("extra_headers must map header names to strings.")
    body = {k: v for k, v in request.items() if k in known}
    extra_body = {k: request[k] for k in PASSED_IN_BODY if request.get(k) is not None}
    return CheckedRequest(body, extra_body, tuple(betas), dict(headers))


def shape_problem(value):
    """What makes `value` unsendable, or None: nesting deeper than MAX_DEPTH (the SDK's encoder and
    the response cache's normalization recurse), or a NaN / Infinity (Python's json reads them; JSON has
    neither). Iterative, so it never raises RecursionError itself however deep the value."""
    stack = [(value, None, 0)]  # (item, its place: (key, parent place) or None, depth)
    while stack:
        item, place, depth = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return f"{_path(place)} is NaN or Infinity, which JSON cannot carry; send a finite number."
            continue
        if isinstance(item, dict):
            children = list(item.items())
        elif isinstance(item, (list, tuple)):
            children = list(enumerate(item))
        else:
            continue
        if depth >= MAX_DEPTH:
            return too_deep(_path(place))
        for key, child in reversed(children):  # depth first, in order: the first problem is reported
            if isinstance(child, (float, dict, list, tuple)):
                stack.append((child, (key, place), depth + 1))
    return None


def too_deep(where):
    return f"{where} nests deeper than {MAX_DEPTH} levels; flatten it."


def _path(place):
    """messages[0].content, from the (key, parent) chain; "The request" for the top level."""
    keys = []
    while place is not None:
        key, place = place
        keys.append(key)
    path = ""
    for key in reversed(keys):
        path += f"[{key}]" if isinstance(key, int) else f".{key}" if path else str(key)
    path = path or "The request"
    return path if len(path) <= 120 else path[:100] + "…"


def merged_headers(configured_betas, checked):
    """The provider's configured beta flags plus the request's own, in one anthropic-beta header."""
    headers = {k: v for k, v in checked.extra_headers.items() if k.lower() != "anthropic-beta"}
    from_header = next((v for k, v in checked.extra_headers.items() if k.lower() == "anthropic-beta"), "")
    flags = [*configured_betas, *checked.betas, *(f.strip() for f in from_header.split(","))]
    unique = list(dict.fromkeys(f for f in flags if f))
    if unique:
        headers["anthropic-beta"] = ",".join(unique)
    return headers
