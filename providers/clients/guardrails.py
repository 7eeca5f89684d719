"""Bedrock Guardrails on requests: the InvokeModel headers, the stream processing mode, and an
intervention turned into its own error kind (GUARDRAIL_INTERVENED: never retried, never failed over).

Bedrock answers an intervention normally, with the guardrail's blocked message as the content and
`"amazon-bedrock-guardrailAction": "INTERVENED"` in the body (on a stream, in a chunk near the end).
"""
from providers.clients.errors import ErrorKind, ProviderError

ACTION_KEY = "amazon-bedrock-guardrailAction"
STREAM_CONFIG_KEY = "amazon-bedrock-guardrailConfig"
STREAM_MODES = {"sync": "SYNCHRONOUS", "async": "ASYNCHRONOUS"}
ASYNC_BLOCKED = "the output, after part of it was streamed (asynchronous mode)."


def with_agent_guardrail(settings, override):
    """The provider's settings with an agent's own guardrail ("ID:VERSION") in place of the provider's.
    Where the provider applies guardrails only through ApplyGuardrail, that operator's choice still decides."""
    if not override:
        return settings
    from dataclasses import replace

    identifier, _, version = override.rpartition(":")
    return replace(settings, guardrail_identifier=identifier, guardrail_version=version or "DRAFT")


def guardrail_headers(settings):
    """The InvokeModel / InvokeModelWithResponseStream headers naming the provider's guardrail, or {}."""
    if not settings.guardrail_identifier:
        return {}
    return {"X-Amzn-Bedrock-GuardrailIdentifier": settings.guardrail_identifier,
            "X-Amzn-Bedrock-GuardrailVersion": settings.guardrail_version or "DRAFT"}


def stream_body(settings):
    """The body field choosing the stream processing mode (synchronous is Bedrock's default: send nothing)."""
    if settings.guardrail_identifier and settings.guardrail_stream_mode == "async":
        return {STREAM_CONFIG_KEY: {"streamProcessingMode": STREAM_MODES["async"]}}
    return {}


def intervened(data):
    return isinstance(data, dict) and data.get(ACTION_KEY) == "INTERVENED"


def blocked_text(message):
    """The guardrail's message: the text Bedrock put in place of the answer."""
    content = (message or {}).get("content") or []
    text = " ".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text").strip()
    return text or "The guardrail blocked this request."


def guardrail_error(message, provider="bedrock", usage=None, source=""):
    where = f" the {source.lower()}" if source else ""
    return ProviderError(ErrorKind.GUARDRAIL_INTERVENED, f"The guardrail blocked{where}: {blocked_text(message)}",
                         provider=provider, usage=usage)
