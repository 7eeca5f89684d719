"""Bedrock Guardrails on FakeBedrock: a guardrail blocks configured words in the input or the output.

    FakeBedrock(guardrails={"gr1": {"version": "1", "blocked_input_words": ["forbidden"],
                                    "blocked_output_words": ["leak"]}})

InvokeModel and InvokeModelWithResponseStream apply the guardrail named by the
`X-Amzn-Bedrock-GuardrailIdentifier` / `-GuardrailVersion` headers: an intervention answers normally
with the guardrail's blocked message as the content and `"amazon-bedrock-guardrailAction": "INTERVENED"`
in the body (on a stream, in the final chunk). In a stream's default synchronous mode the blocked output
never reaches the client; with `{"amazon-bedrock-guardrailConfig": {"streamProcessingMode":
"ASYNCHRONOUS"}}` in the body the text is sent and the intervention comes at the end.
ApplyGuardrail (`POST /guardrail/{id}/version/{v}/apply`) checks any text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .aws_errors import AwsError, validation_error

if TYPE_CHECKING:
    from .bedrock_call import Call
    from .bedrock_fake import FakeBedrock
    from .exchange import Exchange

BLOCKED_INPUT = "Sorry, the model cannot answer this question. (blocked by guardrail)"
BLOCKED_OUTPUT = "Sorry, the model cannot answer this question. (response blocked by guardrail)"


def lookup(fake: FakeBedrock, identifier: str | None, version: str | None) -> dict | None:
    if not identifier:
        return None
    guardrail_id = identifier.rsplit("/", 1)[-1]
    config = fake.guardrails.get(guardrail_id)
    if config is None or str(version or "") not in (str(config.get("version", "DRAFT")), "DRAFT"):
        raise validation_error("The guardrail identifier or version provided in the request does not exist.")
    return config


def from_headers(fake: FakeBedrock, ex: Exchange) -> dict | None:
    return lookup(fake, ex.header("X-Amzn-Bedrock-GuardrailIdentifier"), ex.header("X-Amzn-Bedrock-GuardrailVersion"))


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return " ".join(_text(v) for k, v in value.items() if k in ("text", "content"))
    return ""


def input_text(body: dict) -> str:
    return " ".join([_text(body.get("system")), *(_text(m.get("content")) for m in body.get("messages", [])
                                                   if isinstance(m, dict))])


def reply_text(reply) -> str:
    return " ".join(_text(block.get("text")) for block in getattr(reply, "content", [])
                    if isinstance(block, dict) and block.get("type") == "text")


def blocks(config: dict, text: str, source: str) -> bool:
    words = config.get("blocked_input_words" if source == "INPUT" else "blocked_output_words", ())
    lowered = text.lower()
    return any(word.lower() in lowered for word in words)


def message(config: dict, source: str) -> str:
    if source == "INPUT":
        return config.get("blocked_input_message", BLOCKED_INPUT)
    return config.get("blocked_output_message", BLOCKED_OUTPUT)


def apply_guardrail(fake: FakeBedrock, ex: Exchange, call: Call) -> None:
    parts = ex.raw_path.split("/")
    body = ex.json if isinstance(ex.json, dict) else {}
    source = body.get("source")
    if source not in ("INPUT", "OUTPUT") or not isinstance(body.get("content"), list):
        raise validation_error("1 validation error detected: 'source' must be INPUT or OUTPUT and 'content' a list")
    try:
        config = lookup(fake, call.resource_id, parts[4] if len(parts) > 4 else None)
    except AwsError:
        raise AwsError(404, "ResourceNotFoundException", "The guardrail does not exist.") from None
    text = " ".join(_text(block.get("text")) for block in body["content"] if isinstance(block, dict))
    blocked = blocks(config, text, source)
    answer = {"usage": {"topicPolicyUnits": 0, "contentPolicyUnits": 1, "wordPolicyUnits": 1,
                        "sensitiveInformationPolicyUnits": 0, "sensitiveInformationPolicyFreeUnits": 0,
                        "contextualGroundingPolicyUnits": 0},
              "action": "GUARDRAIL_INTERVENED" if blocked else "NONE",
              "outputs": [{"text": message(config, source)}] if blocked else [],
              "assessments": [{"wordPolicy": {"customWords": [{"match": "blocked", "action": "BLOCKED"}]}}]
              if blocked else []}
    ex.send_json(200, answer, {"x-amzn-RequestId": ex.request_id})
