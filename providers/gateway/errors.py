"""Errors in the Anthropic API's shape: {"type": "error", "error": {"type", "message"}, "request_id"}.

Provider errors keep their meaning for the client: a rate limit is a 429 with retry-after, an
overloaded provider a 529, an invalid request a 400. A provider rejecting the gateway's own
credentials is the operator's problem, not the caller's: it is a 500 api_error, never a 401
(which would tell Claude Code or an SDK that the gateway key is wrong).
"""
import math
from dataclasses import dataclass

from providers.clients.errors import ErrorKind, ProviderError


@dataclass
class GatewayError(Exception):
    status: int
    error_type: str
    message: str
    retry_after: float | None = None

    def __post_init__(self):
        super().__init__(self.message)

    def body(self, request_id):
        return {"type": "error", "error": {"type": self.error_type, "message": self.message},
                "request_id": request_id}

    def headers(self):
        if self.retry_after is None:
            return []
        return [(b"retry-after", str(max(1, math.ceil(self.retry_after))).encode())]


STATUS_BY_KIND = {
    ErrorKind.INVALID_REQUEST: (400, "invalid_request_error"),
    ErrorKind.CONTEXT_TOO_LONG: (400, "invalid_request_error"),
    ErrorKind.UNSUPPORTED: (400, "invalid_request_error"),
    ErrorKind.PERMISSION: (403, "permission_error"),
    ErrorKind.MODEL_NOT_AVAILABLE: (404, "not_found_error"),
    ErrorKind.RATE_LIMITED: (429, "rate_limit_error"),
    ErrorKind.OVERLOADED: (529, "overloaded_error"),
    ErrorKind.UNAVAILABLE: (529, "overloaded_error"),
    ErrorKind.TIMEOUT: (504, "timeout_error"),
    ErrorKind.AUTHENTICATION: (500, "api_error"),
    ErrorKind.CONNECTION: (500, "api_error"),
    ErrorKind.STREAM_INTERRUPTED: (500, "api_error"),
    ErrorKind.CONFIGURATION: (500, "api_error"),
    ErrorKind.GUARDRAIL_INTERVENED: (400, "invalid_request_error"),  # the content was refused, as a 400 is
}


def from_provider_error(error: ProviderError):
    status, error_type = STATUS_BY_KIND.get(error.kind, (500, "api_error"))
    message = str(error)
    if error.kind is ErrorKind.AUTHENTICATION:
        message = f"The gateway's provider rejected its configured credentials: {message}"
    retry_after = error.retry_after if error.retry_after is not None else (
        1.0 if error.kind is ErrorKind.RATE_LIMITED else None)
    return GatewayError(status, error_type, message[:2000], retry_after)


def invalid(message):
    return GatewayError(400, "invalid_request_error", message)


def unauthenticated(message="Invalid gateway key: send the key from the Gateway keys page as x-api-key "
                            "or as Authorization: Bearer."):
    return GatewayError(401, "authentication_error", message)


def forbidden(message):
    return GatewayError(403, "permission_error", message)


def not_found(message):
    return GatewayError(404, "not_found_error", message)


def too_large(limit):
    return GatewayError(413, "request_too_large", f"The request body is larger than {limit} bytes.")


def too_many_failures(window):
    return GatewayError(429, "rate_limit_error", "Too many failed authentication attempts from this address; "
                        "wait and check the gateway key.", retry_after=window)
