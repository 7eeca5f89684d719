"""ProviderError -> the anthropic SDK's own exception classes, for the in-process client.

Code written for `anthropic.Anthropic` catches `anthropic.RateLimitError`,
`anthropic.APIStatusError`, `anthropic.APIConnectionError`...; the drop-in client raises
exactly those, built with the SDK's public constructors over a synthetic httpx2 response
that carries the status, the request ID and an Anthropic-shaped error body. The
ProviderError stays attached as `__cause__` (its kind, provider and hint).
"""
import anthropic
import httpx2

from providers.clients.errors import ErrorKind

# kind -> (SDK class, HTTP status, Anthropic error type), as the Anthropic API would answer.
STATUS_ERRORS = {
    ErrorKind.AUTHENTICATION: (anthropic.AuthenticationError, 401, "authentication_error"),
    ErrorKind.PERMISSION: (anthropic.PermissionDeniedError, 403, "permission_error"),
    ErrorKind.RATE_LIMITED: (anthropic.RateLimitError, 429, "rate_limit_error"),
    ErrorKind.OVERLOADED: (anthropic.OverloadedError, 529, "overloaded_error"),
    ErrorKind.UNAVAILABLE: (anthropic.ServiceUnavailableError, 503, "api_error"),
    ErrorKind.MODEL_NOT_AVAILABLE: (anthropic.NotFoundError, 404, "not_found_error"),
    ErrorKind.INVALID_REQUEST: (anthropic.BadRequestError, 400, "invalid_request_error"),
    ErrorKind.CONTEXT_TOO_LONG: (anthropic.BadRequestError, 400, "invalid_request_error"),
    ErrorKind.UNSUPPORTED: (anthropic.BadRequestError, 400, "invalid_request_error"),
    ErrorKind.CONFIGURATION: (anthropic.InternalServerError, 500, "api_error"),
    ErrorKind.GUARDRAIL_INTERVENED: (anthropic.BadRequestError, 400, "invalid_request_error"),
}
# A synthetic request: the call went through the configured provider chain, not one URL.
REQUEST_URL = "http://moments.invalid/v1/messages"


def to_sdk_error(error):
    """The SDK exception `anthropic.Anthropic` would raise for this ProviderError."""
    request = httpx2.Request("POST", REQUEST_URL)
    message = str(error)
    if error.kind is ErrorKind.TIMEOUT:
        return anthropic.APITimeoutError(request=request)
    if error.kind in (ErrorKind.CONNECTION, ErrorKind.STREAM_INTERRUPTED):
        return anthropic.APIConnectionError(message=message, request=request)
    sdk_class, status, error_type = STATUS_ERRORS[error.kind]
    body = {"type": "error", "error": {"type": error_type, "message": message}}
    headers = {}
    if error.request_id:
        headers["request-id"] = error.request_id
    if error.retry_after is not None:
        headers["retry-after"] = str(max(0, round(error.retry_after)))
    response = httpx2.Response(status, headers=headers, json=body, request=request)
    return sdk_class(f"Error code: {status} - {body}", response=response, body=body)
