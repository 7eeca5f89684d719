"""One error taxonomy for both providers.

Every failure of a provider call surfaces as ProviderError with a kind. The kind
decides whether the retry loop tries again and whether the router fails over.
"""
from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    AUTHENTICATION = "authentication"
    PERMISSION = "permission"
    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    UNAVAILABLE = "unavailable"
    MODEL_NOT_AVAILABLE = "model_not_available"
    INVALID_REQUEST = "invalid_request"
    CONTEXT_TOO_LONG = "context_too_long"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    STREAM_INTERRUPTED = "stream_interrupted"
    UNSUPPORTED = "unsupported"
    CONFIGURATION = "configuration"
    # A Bedrock guardrail (or ApplyGuardrail in front of the Anthropic API) blocked the input or output:
    # the same request would be blocked everywhere, so it is never retried nor failed over.
    GUARDRAIL_INTERVENED = "guardrail_intervened"


# Transient: the same request may succeed if sent again.
RETRYABLE_KINDS = frozenset(
    {ErrorKind.RATE_LIMITED, ErrorKind.OVERLOADED, ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT, ErrorKind.CONNECTION}
)
# The provider (not the request) is at fault: another provider may serve it.
# Invalid requests and too-long contexts fail the same everywhere; a broken
# stream has already sent bytes to the client, so it must not be replayed.
FAILOVER_KINDS = RETRYABLE_KINDS | frozenset(
    {ErrorKind.AUTHENTICATION, ErrorKind.PERMISSION, ErrorKind.MODEL_NOT_AVAILABLE, ErrorKind.CONFIGURATION}
)

WHAT_TO_DO = {
    ErrorKind.AUTHENTICATION: "Check the credentials this provider is configured with.",
    ErrorKind.PERMISSION: "Grant the missing permission to the identity in use.",
    ErrorKind.RATE_LIMITED: "Slow down, raise the quota, or add a fallback provider.",
    ErrorKind.OVERLOADED: "The provider is overloaded; retry later or fail over.",
    ErrorKind.UNAVAILABLE: "The provider is unavailable; retry later or fail over.",
    ErrorKind.MODEL_NOT_AVAILABLE: "Map the model to an ID this provider serves in this region.",
    ErrorKind.INVALID_REQUEST: "Fix the request; sending it again will fail the same way.",
    ErrorKind.CONTEXT_TOO_LONG: "Shorten the prompt or lower max_tokens.",
    ErrorKind.TIMEOUT: "The provider did not answer in time; retry or raise the timeout.",
    ErrorKind.CONNECTION: "Could not reach the provider; check the base or endpoint URL, network and proxy.",
    ErrorKind.STREAM_INTERRUPTED: "The stream broke after it started; the client must retry the request.",
    ErrorKind.UNSUPPORTED: "This provider does not offer that feature.",
    ErrorKind.CONFIGURATION: "Fix the provider configuration.",
    ErrorKind.GUARDRAIL_INTERVENED: "The guardrail blocked this content; change the request or the guardrail's policy.",
}


@dataclass(eq=False)
class ProviderError(Exception):
    kind: ErrorKind
    message: str
    provider: str = ""
    status_code: int | None = None
    request_id: str | None = None
    retry_after: float | None = None
    missing_action: str | None = None
    hint: str | None = None
    raw_message: str | None = None
    usage: object = None  # tokens the failed call still spent (a guardrail intervention), when known

    def __post_init__(self):
        super().__init__(self.message)

    def __str__(self):
        return self.message if not self.hint else f"{self.message} {self.hint}"

    @property
    def retryable(self):
        return self.kind in RETRYABLE_KINDS

    @property
    def triggers_failover(self):
        return self.kind in FAILOVER_KINDS

    @property
    def what_to_do(self):
        return self.hint or WHAT_TO_DO[self.kind]

    def as_dict(self):
        return {
            "kind": self.kind.value,
            "message": self.message,
            "provider": self.provider,
            "status_code": self.status_code,
            "request_id": self.request_id,
            "retry_after": self.retry_after,
            "missing_action": self.missing_action,
            "hint": self.hint,
            "retryable": self.retryable,
            "triggers_failover": self.triggers_failover,
        }
