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
    where = non_finite_at(request)
    if where is not None:  # the SDK's encoder refuses it, which would look like a connection failure
        raise invalid(f"{where} is NaN or Infinity, which JSON cannot carry; send a finite number.")
    betas = request.get("betas") or ()
    if isinstance(betas, str) or not all(isinstance(b, str) for b in betas):
        raise invalid("betas must be a list of beta flag names.")
    headers = request.get("extra_headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise invalid("extra_headers must map header names to strings.")
    body = {k: v for k, v in request.items() if k in known}
    extra_body = {k: request[k] for k in PASSED_IN_BODY if request.get(k) is not None}
    return CheckedRequest(body, extra_body, tuple(betas), dict(headers))


def non_finite_at(value, path=""):
    """The path of the first NaN or Infinity in `value` (Python's json reads them; JSON has neither), or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "The request")
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(item, (float, dict, list, tuple)):
            found = non_finite_at(item, f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else
                                  str(key))
            if found is not None:
                return found
    return None


def merged_headers(configured_betas, checked):
    """The provider's configured beta flags plus the request's own, in one anthropic-beta header."""
    headers = {k: v for k, v in checked.extra_headers.items() if k.lower() != "anthropic-beta"}
    from_header = next((v for k, v in checked.extra_headers.items() if k.lower() == "anthropic-beta"), "")
    flags = [*configured_betas, *checked.betas, *(f.strip() for f in from_header.split(","))]
    unique = list(dict.fromkeys(f for f in flags if f))
    if unique:
        headers["anthropic-beta"] = ",".join(unique)
    return headers
