"""The Messages API on Amazon Bedrock: ``POST /anthropic/v1/messages`` on bedrock-runtime and on bedrock-mantle.

Past the AWS front door (SigV4 or a Bedrock API key, then IAM) these paths behave like the Anthropic
API: an Anthropic body with ``model``, SSE streaming, and errors in Anthropic's shape (the AWS error
code also rides in ``x-amzn-ErrorType``). Only models of the Messages-API integration (Opus 4.7 and
later: ``messages_api`` in the catalog) are served here; older ones go through InvokeModel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .aws_errors import AwsError
from .bedrock_betas import INVALID_BETA, MANTLE_BETAS, RUNTIME_BETAS, refused_beta
from .bedrock_call import Call
from .bedrock_catalog import GEOS, INVALID_MODEL, CatalogError
from .replies import build_reply
from .sse import reply_to_messages
from .validation import ApiError, check_context_window, invalid, validate_body

if TYPE_CHECKING:
    from .aws_identity import Identity
    from .bedrock_fake import FakeBedrock
    from .exchange import Exchange

PATH = "/anthropic/v1/messages"


def is_messages_request(ex: Exchange) -> bool:
    return ex.method == "POST" and ex.raw_path.rstrip("/") == PATH


def wants_stream(ex: Exchange) -> bool:
    return isinstance(ex.json, dict) and ex.json.get("stream") is True
GREETING = "fake Claude in Amazon Bedrock"

# AWS error code -> Anthropic error type, for errors raised past the front door.
ANTHROPIC_TYPES = {
    "ValidationException": "invalid_request_error",
    "ThrottlingException": "rate_limit_error",
    "ServiceUnavailableException": "overloaded_error",
    "ModelNotReadyException": "overloaded_error",
    "InternalServerException": "api_error",
    "ModelTimeoutException": "timeout_error",
    "AccessDeniedException": "permission_error",
    "ResourceNotFoundException": "not_found_error",
}


def call_for(
    fake: FakeBedrock, ex: Exchange, identity: Identity, region: str, action: str, handler: Callable[..., None]
) -> Call:
    """Route a Messages-API request: the target model comes from the body, not the URL."""
    model = ex.json.get("model") if isinstance(ex.json, dict) else None
    streaming = wants_stream(ex)
    if not isinstance(model, str) or not model:
        return Call(identity, region, action, handler, None, None, streaming, messages_api=True)
    try:
        target = fake.catalog.parse(model, region)
    except CatalogError:
        return Call(identity, region, action, handler, None, None, streaming, messages_api=True)
    return Call(identity, region, action, handler, target, target.resource_arn, streaming, messages_api=True)


def _body(ex: Exchange) -> dict:
    if not isinstance(ex.json, dict):
        raise invalid("There was an issue with the request body: it must be a JSON object")
    if "model" not in ex.json:
        raise invalid("model: Field required")
    if not isinstance(ex.json["model"], str):
        raise invalid("model: Input should be a valid string")
    return ex.json


def _serve(fake: FakeBedrock, ex: Exchange, call: Call, model_id: str, accepted_betas: frozenset) -> None:
    body = _body(ex)
    if not fake.catalog.models[model_id].get("messages_api"):
        raise invalid(
            f"{body['model']} is not served by the Messages API on Amazon Bedrock; call it with InvokeModel."
        )
    if refused_beta(ex.header("anthropic-beta") or "", accepted_betas):
        raise invalid(INVALID_BETA)
    spec = fake.anthropic_spec(model_id)
    validate_body(body, spec)
    check_context_window(body, spec)
    usage = fake.cache.account(model_id, body)
    reply = build_reply(body, spec.id, GREETING)
    reply_to_messages(ex, body, spec.id, reply, usage, call.fault, {"x-amzn-RequestId": ex.request_id})


def messages(fake: FakeBedrock, ex: Exchange, call: Call) -> None:
    """bedrock-runtime: base IDs (on demand where offered) and inference-profile IDs, as InvokeModel."""
    _body(ex)
    if call.target is None:
        raise CatalogError(INVALID_MODEL)
    fake.catalog.check_invocable(call.target, call.region)
    _serve(fake, ex, call, call.target.model_id, RUNTIME_BETAS)


def mantle_messages(fake: FakeBedrock, ex: Exchange, call: Call) -> None:
    """bedrock-mantle: bare ``anthropic.<model>`` IDs only; no geo prefix, no ARN, no on-demand limits."""
    body = _body(ex)
    model = body["model"]
    prefix = model.partition(".")[0]
    if prefix in GEOS or model.startswith("arn:"):
        raise ApiError(
            404,
            "not_found_error",
            f"model: {model}. bedrock-mantle takes model IDs of the form anthropic.<model>, without an "
            "inference-profile prefix or ARN.",
        )
    if call.target is None or not fake.catalog.available(call.target.model_id, call.region):
        raise ApiError(404, "not_found_error", f"model: {model}")
    _serve(fake, ex, call, call.target.model_id, MANTLE_BETAS)


def send_error(fake: FakeBedrock, ex: Exchange, err: AwsError | CatalogError | ApiError) -> None:
    if isinstance(err, ApiError):
        status, type_, message, code, extra = err.status, err.type, err.message, None, {}
    elif isinstance(err, CatalogError):
        status, type_, message, code, extra = 400, "invalid_request_error", str(err), "ValidationException", {}
    else:
        status, message, code, extra = err.status, err.message, err.code, err.headers
        type_ = ANTHROPIC_TYPES.get(err.code, "api_error")
    headers = {"x-amzn-RequestId": ex.request_id, **extra}
    if code:
        headers["x-amzn-ErrorType"] = code
    body = {"type": "error", "error": {"type": type_, "message": message}, "request_id": ex.request_id}
    ex.send_json(status, body, headers)
