"""Bedrock runtime operations: InvokeModel, InvokeModelWithResponseStream, CountTokens, Converse."""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from typing import TYPE_CHECKING, Any

from . import converse as converse_mod
from .aws_errors import validation_error
from .bedrock_betas import INVALID_BETA, RUNTIME_BETAS, refused_beta
from .eventstream import chunk_event, exception_event
from .replies import build_reply, message_json, new_id, stream_events
from .tokens import count_input_tokens
from .validation import ApiError, validate_body

if TYPE_CHECKING:
    from .bedrock_fake import Call, FakeBedrock
    from .exchange import Exchange

BEDROCK_VERSION = "bedrock-2023-05-31"
# anthropic 2.14's AnthropicBedrock sends its API version date (e.g. "2026-10-21") instead of the
# Bedrock one, so dated Anthropic API versions are accepted too.
_DATED_VERSION = re.compile(r"^20\d\d-\d\d-\d\d$")
GREETING = "fake Amazon Bedrock API"
MALFORMED = "Malformed input request, please reformat your input and try again."
TOO_LONG = "Input is too long for requested model."


def _malformed(detail: str) -> str:
    return f"Malformed input request: {detail}, please reformat your input and try again."


def validate_bedrock_body(fake: FakeBedrock, body: Any, model_id: str) -> dict:
    """Bedrock's own schema checks first (its wording), then the Anthropic ones."""
    if not isinstance(body, dict):
        raise validation_error(MALFORMED)
    for key in ("model", "stream"):
        if key in body:
            raise validation_error(_malformed(f"#: extraneous key [{key}] is not permitted"))
    for key in ("anthropic_version", "max_tokens", "messages"):
        if key not in body:
            raise validation_error(_malformed(f"#: required key [{key}] not found"))
    version = body["anthropic_version"]
    if version != BEDROCK_VERSION and not (isinstance(version, str) and _DATED_VERSION.match(version)):
        raise validation_error(
            _malformed(f"#/anthropic_version: {body['anthropic_version']} is not a valid enum value")
        )
    if version != BEDROCK_VERSION and not fake.catalog.models[model_id].get("messages_api"):
        # The legacy integration's models (Opus 4.6 and earlier) take only the Bedrock version string.
        raise validation_error(
            _malformed(f"#/anthropic_version: {version} is not supported by this model; use {BEDROCK_VERSION}")
        )
    betas = body.get("anthropic_beta", [])
    if not isinstance(betas, list) or not all(isinstance(b, str) for b in betas):
        raise validation_error(_malformed("#/anthropic_beta: expected type: JSONArray"))
    if refused_beta(betas, RUNTIME_BETAS):
        raise validation_error(INVALID_BETA)
    spec = fake.anthropic_spec(model_id)
    try:
        validate_body(body, spec)
    except ApiError as err:
        raise validation_error(err.message) from None
    if count_input_tokens(body) > spec.context_window:
        raise validation_error(TOO_LONG)
    return body


def _usage_headers(ex: Exchange, usage: Any, output_tokens: int, started: float) -> dict[str, str]:
    return {
        "x-amzn-RequestId": ex.request_id,
        "X-Amzn-Bedrock-Invocation-Latency": str(int((time.monotonic() - started) * 1000)),
        "X-Amzn-Bedrock-Input-Token-Count": str(usage.input_tokens),
        "X-Amzn-Bedrock-Output-Token-Count": str(output_tokens),
        "X-Amzn-Bedrock-Cache-Read-Input-Token-Count": str(usage.cache_read),
        "X-Amzn-Bedrock-Cache-Write-Input-Token-Count": str(usage.cache_write),
    }


def invoke(fake: FakeBedrock, ex: Exchange, call: Call) -> None:
    started = time.monotonic()
    fake.catalog.check_invocable(call.target, call.region)
    body = validate_bedrock_body(fake, ex.json, call.target.model_id)
    spec = fake.anthropic_spec(call.target.model_id)
    usage = fake.cache.account(call.target.model_id, body)
    reply = build_reply(body, spec.id, GREETING)
    msg_id = new_id("msg")
    if not call.streaming:
        ex.send_json(
            200, message_json(msg_id, spec.id, reply, usage), _usage_headers(ex, usage, reply.output_tokens, started)
        )
        return

    events = stream_events(msg_id, spec.id, reply, usage, ping=False)  # Bedrock forwards no pings
    ex.begin_stream(
        200,
        "application/vnd.amazon.eventstream",
        {"x-amzn-RequestId": ex.request_id, "X-Amzn-Bedrock-Content-Type": "application/json"},
    )
    fault = call.fault
    cut = None
    if fault is not None and fault.kind in ("stream_break", "malformed_frame", "slow"):
        cut = min(fault.after_events if fault.after_events is not None else 1, len(events) - 1)
    first_byte = None
    for i, event in enumerate(events):
        if i == cut:
            if fault.kind == "slow":
                time.sleep(fault.sleep_seconds)
            elif fault.kind == "stream_break":
                ex.write_chunk(
                    exception_event(
                        "modelStreamErrorException",
                        "The model encountered an error while streaming the response.",
                        originalStatusCode=529,
                        originalMessage="Overloaded",
                    )
                )
                break
            else:
                ex.write_chunk(chunk_event(event, corrupt_crc=True))
                break
        if event["type"] == "message_stop":
            event["amazon-bedrock-invocationMetrics"] = {
                "inputTokenCount": usage.input_tokens,
                "outputTokenCount": reply.output_tokens,
                "invocationLatency": int((time.monotonic() - started) * 1000),
                "firstByteLatency": first_byte or 0,
                "cacheReadInputTokenCount": usage.cache_read,
                "cacheWriteInputTokenCount": usage.cache_write,
            }
        ex.write_chunk(chunk_event(event))
        if first_byte is None:
            first_byte = int((time.monotonic() - started) * 1000)
    ex.end_stream()


def count_tokens(fake: FakeBedrock, ex: Exchange, call: Call) -> None:
    # Counting does not invoke, so a base id that needs a profile for inference is fine here.
    if not fake.catalog.available(call.target.model_id, call.region):
        raise validation_error("The provided model identifier is invalid.")
    payload = (ex.json or {}).get("input") if isinstance(ex.json, dict) else None
    if not isinstance(payload, dict) or len(payload) != 1:
        raise validation_error(
            "1 validation error detected: Value at 'input' failed to satisfy constraint: "
            "Member must have exactly one of invokeModel or converse set"
        )
    if "invokeModel" in payload:
        try:
            raw = base64.b64decode((payload["invokeModel"] or {}).get("body", ""), validate=True)
            body = json.loads(raw)
        except (binascii.Error, ValueError):
            raise validation_error(MALFORMED) from None
        body = validate_bedrock_body(fake, body, call.target.model_id)
    else:
        body = converse_mod.to_messages_body(payload["converse"] or {}, fake.anthropic_spec(call.target.model_id))
    ex.send_json(200, {"inputTokens": count_input_tokens(body)}, {"x-amzn-RequestId": ex.request_id})


def converse(fake: FakeBedrock, ex: Exchange, call: Call) -> None:
    started = time.monotonic()
    fake.catalog.check_invocable(call.target, call.region)
    spec = fake.anthropic_spec(call.target.model_id)
    if not isinstance(ex.json, dict):
        raise validation_error(MALFORMED)
    body = converse_mod.to_messages_body(ex.json, spec)
    try:
        validate_body(body, spec)
    except ApiError as err:
        raise validation_error(err.message) from None
    usage = fake.cache.account(call.target.model_id, body)
    reply = build_reply(body, spec.id, GREETING)
    latency = int((time.monotonic() - started) * 1000)
    ex.send_json(200, converse_mod.response(reply, usage, latency), {"x-amzn-RequestId": ex.request_id})
