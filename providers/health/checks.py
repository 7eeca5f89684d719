"""One health check of one provider model, spending no tokens wherever the provider allows it.

In order of preference:
- `count_tokens`: Anthropic's free token counting, Bedrock's CountTokens (SigV4 credentials).
  Proves reachability, authentication and access to that model.
- `permission_probe`: Bedrock with an API key cannot count tokens; an InvokeModel with an empty
  body is authorized before it is validated, so a ValidationException proves the key and the
  model permission and is never billed.
- `one_token`: a one-token request through the choke point (`providers.calls.invoke`, purpose
  "health"), so it is recorded and priced as usage like any call. Only for a kind that offers
  neither of the above.
"""
import time
from dataclasses import dataclass

from providers.call_records import CallContext
from providers.calls import invoke
from providers.client_pool import client_for
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.registry import kinds_where

PROBE_REQUEST = {"model": "", "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
# Kinds whose client has a zero-token permission probe (check_permissions) when counting is refused.
PROBING_KINDS = set(kinds_where(permission_probe=True))


@dataclass
class CheckOutcome:
    provider_name: str
    provider_kind: str
    model: str
    model_id: str
    ok: bool
    check: str
    tokens_spent: int = 0
    latency_ms: float | None = None
    error: ProviderError | None = None

    @property
    def error_kind(self):
        return self.error.kind.value if self.error else ""

    @property
    def message(self):
        return str(self.error)[:500] if self.error else ""

    @property
    def spent(self):
        return f"{self.tokens_spent} tokens" if self.tokens_spent else "no tokens"


def check_model(settings, model):
    """Check `model` (a logical name) on `settings`. Never raises for a provider fault."""
    started = time.monotonic()
    check, model_id = "count_tokens", ""
    try:
        client = client_for(settings)
        model_id = _resolved(client, model)
        try:
            client.count_tokens({**PROBE_REQUEST, "model": model})
        except ProviderError as error:
            if error.kind is not ErrorKind.UNSUPPORTED:
                raise
            if settings.kind in PROBING_KINDS:
                check = "permission_probe"
                _probe(client, model_id)
            else:
                check = "one_token"
                return _one_token(settings, model, model_id)
    except ProviderError as error:
        return CheckOutcome(settings.name, settings.kind, model, model_id, False, check,
                            latency_ms=_ms(started), error=error)
    except Exception as exc:  # a defect below must not end the round
        error = ProviderError(ErrorKind.CONNECTION, f"The check failed unexpectedly ({type(exc).__name__}).",
                              provider=settings.kind)
        return CheckOutcome(settings.name, settings.kind, model, model_id, False, check,
                            latency_ms=_ms(started), error=error)
    return CheckOutcome(settings.name, settings.kind, model, model_id, True, check, latency_ms=_ms(started))


def _probe(client, model_id):
    denied = [c for c in client.check_permissions([model_id]) if not c.allowed]
    if denied:
        raise ProviderError(ErrorKind.PERMISSION, f"{denied[0].action} is denied on {model_id}.",
                            provider=client.kind, missing_action=denied[0].action)


def _one_token(settings, model, model_id):
    started = time.monotonic()
    try:
        result = invoke([settings], {**PROBE_REQUEST, "model": model},
                        CallContext(purpose="health", provider=settings.name))
    except ProviderError as error:
        return CheckOutcome(settings.name, settings.kind, model, model_id, False, "one_token",
                            latency_ms=_ms(started), error=error)
    spent = result.usage.total_input_tokens + result.usage.output_tokens
    return CheckOutcome(settings.name, settings.kind, model, result.model_id, True, "one_token",
                        tokens_spent=spent, latency_ms=result.latency_ms)


def _resolved(client, model):
    try:
        return client.resolve_model(model)
    except Exception:
        return ""


def _ms(started):
    return round((time.monotonic() - started) * 1000, 1)
