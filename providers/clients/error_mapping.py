"""Translate SDK and botocore exceptions into ProviderError kinds."""
import os
import re

from providers.clients.errors import ErrorKind, ProviderError

# Bedrock exception names (from the x-amzn-ErrorType header or the error code) to kinds.
BEDROCK_KINDS = {
    "ThrottlingException": ErrorKind.RATE_LIMITED,
    "ServiceQuotaExceededException": ErrorKind.RATE_LIMITED,
    "ServiceUnavailableException": ErrorKind.UNAVAILABLE,
    "InternalServerException": ErrorKind.UNAVAILABLE,
    "ModelNotReadyException": ErrorKind.UNAVAILABLE,
    "ModelErrorException": ErrorKind.UNAVAILABLE,
    "ModelTimeoutException": ErrorKind.TIMEOUT,
    "AccessDeniedException": ErrorKind.PERMISSION,
    "AccessDenied": ErrorKind.PERMISSION,
    "UnrecognizedClientException": ErrorKind.AUTHENTICATION,
    "InvalidSignatureException": ErrorKind.AUTHENTICATION,
    "ExpiredTokenException": ErrorKind.AUTHENTICATION,
    "InvalidClientTokenId": ErrorKind.AUTHENTICATION,
    "SignatureDoesNotMatch": ErrorKind.AUTHENTICATION,
    "ResourceNotFoundException": ErrorKind.MODEL_NOT_AVAILABLE,
    "ValidationException": ErrorKind.INVALID_REQUEST,
    "ModelStreamErrorException": ErrorKind.STREAM_INTERRUPTED,
}
ANTHROPIC_KINDS = {
    "authentication_error": ErrorKind.AUTHENTICATION,
    "permission_error": ErrorKind.PERMISSION,
    "not_found_error": ErrorKind.MODEL_NOT_AVAILABLE,
    "rate_limit_error": ErrorKind.RATE_LIMITED,
    "overloaded_error": ErrorKind.OVERLOADED,
    "api_error": ErrorKind.UNAVAILABLE,
    "timeout_error": ErrorKind.TIMEOUT,
    "invalid_request_error": ErrorKind.INVALID_REQUEST,
    "request_too_large": ErrorKind.INVALID_REQUEST,
}
STATUS_KINDS = {
    400: ErrorKind.INVALID_REQUEST, 401: ErrorKind.AUTHENTICATION, 403: ErrorKind.PERMISSION,
    404: ErrorKind.MODEL_NOT_AVAILABLE, 408: ErrorKind.TIMEOUT, 413: ErrorKind.INVALID_REQUEST,
    429: ErrorKind.RATE_LIMITED, 529: ErrorKind.OVERLOADED,
}
ON_DEMAND_UNSUPPORTED = "on-demand throughput isn"
MISSING_ACTION = re.compile(r"not authorized to perform: ([\w:-]+)")
BAD_API_KEY = re.compile(r"Authentication failed|API Key is (not )?valid", re.I)
TOO_LONG = re.compile(r"prompt is too long|input is too long|too many input tokens|context length", re.I)


def from_sdk_exception(exc, *, provider, model_id=None, region=None, mid_stream=False, profile=None):
    """Map an exception raised by the anthropic SDK (either client) to ProviderError."""
    import anthropic

    if isinstance(exc, ProviderError):
        return exc
    if mid_stream and not isinstance(exc, anthropic.APIStatusError):
        # Broken frames and dropped connections surface as decoder or transport errors.
        return ProviderError(ErrorKind.STREAM_INTERRUPTED, f"The {provider} stream broke: {_short(exc)}.",
                             provider=provider)
    if isinstance(exc, anthropic.APITimeoutError):
        return ProviderError(ErrorKind.TIMEOUT, f"{provider} did not answer in time.", provider=provider)
    if isinstance(exc, anthropic.APIConnectionError):
        return ProviderError(ErrorKind.CONNECTION, f"Could not reach {provider}: {_short(exc.__cause__ or exc)}.",
                             provider=provider)
    if isinstance(exc, anthropic.APIStatusError):
        return _from_status_error(exc, provider, model_id, region, mid_stream)
    if type(exc).__module__.startswith("botocore") or "Could not resolve AWS credentials" in str(exc):
        return credential_error(exc, profile)
    if isinstance(exc, (TypeError, KeyError)):
        return ProviderError(ErrorKind.INVALID_REQUEST, f"The request could not be sent: {_short(exc)}.",
                             provider=provider)
    # Anything else on the wire (a dropped connection, a broken frame before the first event).
    return ProviderError(ErrorKind.CONNECTION, f"The connection to {provider} failed: {_short(exc)}.",
                         provider=provider)


def _from_status_error(exc, provider, model_id, region, mid_stream):
    headers = exc.response.headers if exc.response is not None else {}
    return from_status(exc.status_code, headers, exc.body, provider=provider, model_id=model_id, region=region,
                       mid_stream=mid_stream)


def from_status(status, headers, body, *, provider, model_id=None, region=None, mid_stream=False):
    """Map an HTTP error answer (status, case-insensitive headers, decoded JSON body or text) to
    ProviderError: the SDK path's status errors and the gateway's forwarded answers alike."""
    request_id = headers.get("request-id") or headers.get("x-amzn-requestid")
    error_type, message = _error_type_and_message(body, headers)
    if mid_stream:
        kind = ErrorKind.STREAM_INTERRUPTED
    elif provider == "bedrock":
        # Stream exception frames name the type in camelCase (throttlingException).
        name = error_type[:1].upper() + error_type[1:]
        # The Messages-API paths answer in Anthropic's shape; AWS's code still rides in x-amzn-ErrorType.
        amzn_type = (headers.get("x-amzn-errortype") or "").split(":", 1)[0]
        kind = (BEDROCK_KINDS.get(name) or BEDROCK_KINDS.get(amzn_type) or STATUS_KINDS.get(status)
                or _kind_for_5xx(status))
    else:
        kind = ANTHROPIC_KINDS.get(error_type) or STATUS_KINDS.get(status) or _kind_for_5xx(status)
    hint = missing_action = None
    if kind is ErrorKind.INVALID_REQUEST and TOO_LONG.search(message):
        kind = ErrorKind.CONTEXT_TOO_LONG
    if ON_DEMAND_UNSUPPORTED in message:
        kind = ErrorKind.MODEL_NOT_AVAILABLE
        hint = _profile_hint(model_id, region)
    elif "model identifier is invalid" in message:
        kind = ErrorKind.MODEL_NOT_AVAILABLE
        hint = f"{model_id} is not served in {region}; check the model mapping and the region."
    if kind is ErrorKind.PERMISSION:
        found = MISSING_ACTION.search(message)
        missing_action = found.group(1) if found else None
        if BAD_API_KEY.search(message):
            kind = ErrorKind.AUTHENTICATION  # Bedrock answers a bad API key with AccessDeniedException
    return ProviderError(
        kind, f"{provider} answered {status}: {message}", provider=provider, status_code=status,
        request_id=request_id, retry_after=retry_after_seconds(headers), missing_action=missing_action,
        hint=hint, raw_message=message,
    )


def _kind_for_5xx(status):
    return ErrorKind.UNAVAILABLE if status >= 500 else ErrorKind.INVALID_REQUEST


def _error_type_and_message(body, headers):
    amzn_type = (headers.get("x-amzn-errortype") or "").split(":", 1)[0]
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        error_type = inner.get("type") or amzn_type or body.get("__type", "")
        message = inner.get("message") or body.get("Message") or ""
        return error_type, str(message)
    return amzn_type, str(body or "")


def _profile_hint(model_id, region):
    from providers.clients.catalog import inference_profile_hint

    profile = inference_profile_hint(model_id or "", region or "us-east-1")
    if profile:
        return f"Model {model_id} is not available on demand in {region}: use the inference profile {profile}."
    return f"Model {model_id} needs an inference profile in {region}; map it to a profile ID."


def retry_after_seconds(headers):
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name) if headers else None
        if value:
            try:
                return float(value) * scale
            except ValueError:
                return None
    return None


def from_client_error(exc, *, provider="bedrock"):
    """Map a botocore ClientError (control plane, STS) or a botocore transport error."""
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
        return ProviderError(ErrorKind.TIMEOUT, f"{provider} did not answer in time.", provider=provider)
    if isinstance(exc, EndpointConnectionError):
        return ProviderError(ErrorKind.CONNECTION, f"Could not reach {provider}: {_short(exc)}.", provider=provider)
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    if isinstance(exc, (BotoConnectionError, HTTPClientError)):  # TLS failures, proxies, dropped connections
        return ProviderError(ErrorKind.CONNECTION, f"Could not reach {provider}: {_short(exc)}.", provider=provider,
                             raw_message=_short(exc))
    if not isinstance(exc, ClientError):
        raise exc
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    code, message = error.get("Code", ""), error.get("Message", "")
    status = meta.get("HTTPStatusCode")
    kind = BEDROCK_KINDS.get(code) or STATUS_KINDS.get(status) or _kind_for_5xx(status or 500)
    if "model identifier is invalid" in message:  # as on the runtime path: a model this provider lacks
        kind = ErrorKind.MODEL_NOT_AVAILABLE
    found = MISSING_ACTION.search(message) if kind is ErrorKind.PERMISSION else None
    return ProviderError(kind, f"{provider} answered {code or status}: {message}", provider=provider,
                         status_code=status, request_id=meta.get("RequestId"),
                         missing_action=found.group(1) if found else None, raw_message=message)


def _short(exc):
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:197] + "..."


def credential_error(exc, profile=None):
    """Map botocore's credential-resolution exceptions to ProviderError, naming the profile in use
    (the configured one, else AWS_PROFILE, else "default") and keeping the source's own message."""
    from botocore import exceptions as boto_exc  # botocore loads only for Bedrock

    name = type(exc).__name__
    profile = profile or os.environ.get("AWS_PROFILE") or "default"
    detail = _short(exc)
    if isinstance(exc, boto_exc.ProfileNotFound):
        return ProviderError(ErrorKind.CONFIGURATION, f"AWS profile '{profile}' was not found.", provider="bedrock",
                             hint="Check ~/.aws/config and ~/.aws/credentials (or AWS_CONFIG_FILE).")
    if "SSO" in name or isinstance(exc, boto_exc.TokenRetrievalError):
        return ProviderError(ErrorKind.AUTHENTICATION, f"The SSO session of AWS profile '{profile}' has expired "
                             f"or is missing.", provider="bedrock", hint=f"Run: aws sso login --profile {profile}",
                             raw_message=detail)
    if isinstance(exc, boto_exc.CredentialRetrievalError):
        return ProviderError(ErrorKind.AUTHENTICATION, f"The credential source of AWS profile '{profile}' failed: "
                             f"{detail}", provider="bedrock", raw_message=detail,
                             hint="Run the profile's credential_process by hand to see why it fails.")
    if isinstance(exc, (boto_exc.NoCredentialsError, boto_exc.PartialCredentialsError)):
        return ProviderError(ErrorKind.AUTHENTICATION, "No AWS credentials were found.", provider="bedrock",
                             hint="Configure the default credential chain or choose another auth mode.")
    if isinstance(exc, (boto_exc.ClientError, boto_exc.ConnectionError, boto_exc.HTTPClientError)):
        return from_client_error(exc)
    from botocore.parsers import ResponseParserError

    if isinstance(exc, ResponseParserError):  # something answered, but not the AWS API: a wrong URL
        return ProviderError(ErrorKind.CONNECTION, "The endpoint answered with something that is not an AWS API "
                             "response.", provider="bedrock", raw_message=detail,
                             hint="Check the endpoint URL (STS or control plane) and any proxy in between.")
    return ProviderError(ErrorKind.AUTHENTICATION, f"AWS credentials of profile '{profile}' could not be resolved "
                         f"({name}: {detail}).", provider="bedrock", raw_message=detail)
