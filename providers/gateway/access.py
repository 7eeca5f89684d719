"""Who may call: the gateway key of a request, its model restrictions and its budget's hard stop.

Synchronous (it may reload the key table or the blocked-keys set from the database): the ASGI
app runs it in a worker thread.
"""
from providers.clients.catalog import load_catalog
from providers.gateway import errors
from providers.gateway.keys import failed_attempts, keys
from usage.services import is_key_blocked


def presented_key(headers):
    """The key sent as x-api-key, or as Authorization: Bearer (what the anthropic SDKs and Claude Code send)."""
    key = headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(headers, address):
    """The KeyEntry of a usable key, or GatewayError: 401, or 429 once `address` has failed too often.

    A good key costs a dictionary lookup and nothing else (no cache round trip on the hot path);
    only failures are counted, and an address over the limit is refused before it is counted again."""
    key = presented_key(headers)
    entry = keys.lookup(key) if key and len(key) <= 256 else None
    if entry is not None:
        return entry
    if failed_attempts.blocked(address):
        raise errors.too_many_failures(failed_attempts.window)
    failed_attempts.record(address)
    raise errors.unauthenticated() if key else errors.unauthenticated(
        "No gateway key: send it as x-api-key or as Authorization: Bearer.")


def check_budget(entry):
    if is_key_blocked(entry.label):
        raise errors.GatewayError(402, "billing_error", f"The gateway key '{entry.label}' reached its monthly "
                                  "budget's hard stop; an administrator can raise the budget, or it resets on "
                                  "the first of next month (UTC).")


def model_names(model):
    """Every name a restriction may list for `model`: itself, its catalog ID, aliases and logical family."""
    catalog = load_catalog()
    names = {model}
    logical = catalog.logical.get(model)
    info = catalog.model(logical["current"] if logical else model)
    if info is not None:
        names |= {info.key, *info.aliases, info.family}
        if info.bedrock_base_id:
            names.add(info.bedrock_base_id)
    return names


def check_model(entry, model):
    if entry.allowed_models and isinstance(model, str) and not (model_names(model) & entry.allowed_models):
        allowed = ", ".join(sorted(entry.allowed_models))
        raise errors.forbidden(f"The gateway key '{entry.label}' may not use model '{model[:200]}'; "
                               f"it is limited to: {allowed}.")
