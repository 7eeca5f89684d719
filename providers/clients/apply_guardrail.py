"""A Bedrock guardrail in front of integrations that take none (the Anthropic API, and Bedrock's Messages
API and mantle integrations): ApplyGuardrail on the input before the call and on the output after it.

ApplyGuardrail is a bedrock-runtime call made with AWS access: the Bedrock provider's own, or (in front of
the Anthropic API) the Bedrock provider the operator chose. On a stream the output is checked when the stream
ends, so the text has already been sent, as with Bedrock's asynchronous stream mode.
"""
import threading

from providers.clients.aws_credentials import AwsCredentials
from providers.clients.error_mapping import from_client_error
from providers.clients.errors import ErrorKind, ProviderError

_clients = {}
_lock = threading.Lock()


def applies(client, settings=None):
    """Whether this client checks text with ApplyGuardrail (its integration has no guardrail of its own)."""
    settings = settings or client.settings
    native = client.kind == "bedrock" and getattr(client, "integration", "") == "invoke"
    return bool(settings.guardrail_apply and settings.guardrail_identifier and not native)


def _runtime(aws):
    key = repr(aws)
    with _lock:
        if key not in _clients:
            if len(_clients) > 32:
                _clients.clear()
            _clients[key] = AwsCredentials(aws).client("bedrock-runtime", aws.endpoint_url)
        return _clients[key]


def _text(value):
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "\n".join(_text(v) for k, v in value.items() if k in ("text", "content"))
    return ""


def input_texts(body):
    texts = [_text(body.get("system"))]
    texts += [_text(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict)]
    return [t for t in texts if t.strip()]


def output_texts(message):
    return [b.get("text", "") for b in (message or {}).get("content") or []
            if isinstance(b, dict) and b.get("type") == "text" and b.get("text", "").strip()]


def check(settings, source, texts, usage=None):
    """Raise GUARDRAIL_INTERVENED when the guardrail blocks `texts` (source INPUT or OUTPUT)."""
    if not texts:
        return
    aws = settings.guardrail_aws or settings
    if aws.kind != "bedrock":
        raise ProviderError(ErrorKind.CONFIGURATION, "ApplyGuardrail needs a Bedrock provider's AWS access; choose "
                            "one in this provider's guardrail settings.", provider=settings.kind)
    try:
        answer = _runtime(aws).apply_guardrail(
            guardrailIdentifier=settings.guardrail_identifier, guardrailVersion=settings.guardrail_version or "DRAFT",
            source=source, content=[{"text": {"text": text}} for text in texts])
    except Exception as exc:
        raise _error(exc, settings) from exc
    if answer.get("action") == "GUARDRAIL_INTERVENED":
        said = " ".join(o.get("text", "") for o in answer.get("outputs") or []).strip()
        raise ProviderError(ErrorKind.GUARDRAIL_INTERVENED, f"The guardrail blocked the {source.lower()}: "
                            f"{said or 'no message configured.'}", provider=settings.kind, usage=usage)


def _error(exc, settings):
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        return from_client_error(exc)
    if isinstance(exc, BotoCoreError):
        return ProviderError(ErrorKind.CONNECTION, f"ApplyGuardrail failed: {type(exc).__name__}.",
                             provider=settings.kind)
    return exc if isinstance(exc, ProviderError) else ProviderError(
        ErrorKind.CONFIGURATION, f"ApplyGuardrail failed: {type(exc).__name__}.", provider=settings.kind)
