"""Bedrock runtime through anthropic.AnthropicBedrock and boto3 bedrock-runtime, SigV4-signed."""

from __future__ import annotations

import json

import anthropic
import pytest
from botocore.exceptions import ClientError

from providers.fakes import FakeBedrock

from .conftest import ACCOUNT, AKID, BEARER, HAIKU, HAIKU_PROFILE, LEGACY_VERSION, SECRET, boto_client

HI = [{"role": "user", "content": "Hi there"}]


def body(**kw) -> str:
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": HI, **kw})


def test_anthropic_bedrock_invoke(bedrock_client, fake_bedrock):
    raw = bedrock_client.messages.with_raw_response.create(model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=100, messages=HI)
    msg = raw.parse()
    assert msg.model == HAIKU and msg.content[0].text == f"Hello from the fake Amazon Bedrock API (model {HAIKU})."
    assert msg.usage.input_tokens == 2 and msg.usage.output_tokens > 1
    assert raw.headers["x-amzn-bedrock-output-token-count"] == str(msg.usage.output_tokens)
    rec = fake_bedrock.requests[-1]
    assert rec.path == f"/model/{HAIKU_PROFILE}/invoke" and rec.status == 200
    assert rec.headers["Authorization"] == "<redacted>"
    assert "model" not in rec.json and "stream" not in rec.json and rec.json["anthropic_version"]


def test_anthropic_bedrock_stream(bedrock_client, fake_bedrock):
    with bedrock_client.messages.stream(
        model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=100, messages=[{"role": "user", "content": "echo: streamed over event-stream"}]
    ) as s:
        types = [e.type for e in s]
        final = s.get_final_message()
    assert final.content[0].text == "streamed over event-stream"
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert fake_bedrock.requests[-1].path.endswith("/invoke-with-response-stream")


def test_anthropic_bedrock_bad_secret_is_rejected(fake_bedrock):
    bad = anthropic.AnthropicBedrock(
        aws_region="us-east-1",
        aws_access_key=AKID,
        aws_secret_key="wrong-secret",
        base_url=fake_bedrock.url,
        max_retries=0,
    )
    with pytest.raises(anthropic.PermissionDeniedError) as exc:
        bad.messages.create(model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=10, messages=HI)
    assert exc.value.status_code == 403
    assert exc.value.body["message"].startswith("The request signature we calculated does not match")
    assert exc.value.response.headers["x-amzn-errortype"].startswith("InvalidSignatureException:")


def test_anthropic_bedrock_bearer_api_key_over_http(fake_bedrock):
    ok = anthropic.AnthropicBedrock(aws_region="us-east-1", api_key=BEARER, base_url=fake_bedrock.url, max_retries=0)
    assert ok.messages.create(model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=20, messages=HI).content
    bad = anthropic.AnthropicBedrock(aws_region="us-east-1", api_key="nope", base_url=fake_bedrock.url, max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as exc:
        bad.messages.create(model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=20, messages=HI)
    assert "API Key is valid" in exc.value.body["message"]


def test_boto3_invoke_model_headers_and_body(runtime):
    resp = runtime.invoke_model(modelId=HAIKU_PROFILE, body=body())
    headers = resp["ResponseMetadata"]["HTTPHeaders"]
    payload = json.loads(resp["body"].read())
    assert resp["contentType"] == "application/json"
    assert payload["type"] == "message" and payload["role"] == "assistant"
    assert headers["x-amzn-bedrock-input-token-count"] == str(payload["usage"]["input_tokens"]) == "2"
    assert headers["x-amzn-bedrock-output-token-count"] == str(payload["usage"]["output_tokens"])
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
    assert resp["ResponseMetadata"]["RequestId"] == headers["x-amzn-requestid"]


def test_boto3_stream_with_invocation_metrics(runtime):
    resp = runtime.invoke_model_with_response_stream(modelId=HAIKU_PROFILE, body=body())
    events = [json.loads(e["chunk"]["bytes"]) for e in resp["body"]]
    assert [e["type"] for e in events][0] == "message_start"
    assert "ping" not in [e["type"] for e in events]
    metrics = events[-1]["amazon-bedrock-invocationMetrics"]
    assert events[-1]["type"] == "message_stop"
    assert metrics["inputTokenCount"] == 2 and metrics["outputTokenCount"] == events[-2]["usage"]["output_tokens"]
    assert {"invocationLatency", "firstByteLatency"} <= set(metrics)


def test_model_id_forms(runtime):
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert runtime.invoke_model(modelId=arn, body=body())["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as exc:
        runtime.invoke_model(modelId="anthropic.claude-sonnet-4-5-20250929-v1:0", body=body())
    assert exc.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput "
        "isn't supported. Retry your request with the ID or ARN of an inference profile that contains "
        "this model.",
    }
    for bad in (
        "anthropic.claude-unknown-v1:0",
        "eu.anthropic.claude-haiku-4-5-20251001-v1:0",
        "apac.anthropic.claude-opus-4-5-20251101-v1:0",
    ):
        with pytest.raises(ClientError) as exc:
            runtime.invoke_model(modelId=bad, body=body())
        assert exc.value.response["Error"]["Message"] == "The provided model identifier is invalid."
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_regions_matter(fake_bedrock):
    west = boto_client("bedrock-runtime", fake_bedrock, region="us-west-2")
    legacy = "anthropic.claude-3-5-haiku-20241022-v1:0"  # on demand in us-west-2 only
    assert west.invoke_model(modelId=legacy, body=body())["ResponseMetadata"]["HTTPStatusCode"] == 200
    east = boto_client("bedrock-runtime", fake_bedrock, region="us-east-1")
    with pytest.raises(ClientError, match="on-demand throughput"):
        east.invoke_model(modelId=legacy, body=body())
    eu = boto_client("bedrock-runtime", fake_bedrock, region="eu-west-1")
    assert eu.invoke_model(modelId="eu.anthropic.claude-haiku-4-5-20251001-v1:0", body=body())
    for model in ("us.anthropic.claude-opus-4-5-20251101-v1:0", "us.anthropic.claude-opus-4-1-20250805-v1:0"):
        with pytest.raises(ClientError, match="model identifier is invalid"):
            eu.invoke_model(modelId=model, body=body())
    assert eu.invoke_model(modelId="global.anthropic.claude-opus-4-5-20251101-v1:0", body=body())


def test_region_models_override():
    only = {"us-east-1": ["anthropic.claude-sonnet-4-5-20250929-v1:0"]}
    with FakeBedrock(credentials={AKID: SECRET}, region_models=only) as server:
        rt = boto_client("bedrock-runtime", server)
        assert rt.invoke_model(modelId="us.anthropic.claude-sonnet-4-5-20250929-v1:0", body=body())
        with pytest.raises(ClientError, match="model identifier is invalid"):
            rt.invoke_model(modelId=HAIKU_PROFILE, body=body())
        west = boto_client("bedrock-runtime", server, region="us-west-2")
        with pytest.raises(ClientError) as exc:  # a region the server does not know
            west.invoke_model(modelId=HAIKU_PROFILE, body=body())
        assert exc.value.response["Error"]["Code"] == "InvalidSignatureException"
        assert "valid region" in exc.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"max_tokens": 10, "messages": HI}, "#: required key [anthropic_version] not found"),
        (
            {"anthropic_version": "bedrock-2023-05-31", "model": "x", "max_tokens": 10, "messages": HI},
            "#: extraneous key [model] is not permitted",
        ),
        ({"anthropic_version": "bedrock-2023-05-31", "messages": HI}, "#: required key [max_tokens] not found"),
        ({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": HI + HI}, "roles must alternate"),
        (
            {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 10,
                "messages": [{"role": "user", "content": "x" * 900_000}],
            },
            "Input is too long for requested model.",
        ),
    ],
)
def test_body_validation(runtime, payload, message):
    with pytest.raises(ClientError) as exc:
        runtime.invoke_model(modelId=HAIKU_PROFILE, body=json.dumps(payload))
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert message in exc.value.response["Error"]["Message"]


def test_prompt_caching_on_bedrock(runtime):
    system = [{"type": "text", "text": "S" * 4000, "cache_control": {"type": "ephemeral"}}]
    first = runtime.invoke_model(modelId=HAIKU_PROFILE, body=body(system=system))
    usage = json.loads(first["body"].read())["usage"]
    assert usage["cache_creation_input_tokens"] == 1000 and usage["cache_read_input_tokens"] == 0
    assert first["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-cache-write-input-token-count"] == "1000"
    second = json.loads(runtime.invoke_model(modelId=HAIKU_PROFILE, body=body(system=system))["body"].read())
    assert second["usage"]["cache_read_input_tokens"] == 1000 and second["usage"]["input_tokens"] == 2


def test_count_tokens(runtime):
    resp = runtime.count_tokens(
        modelId="anthropic.claude-haiku-4-5-20251001-v1:0",
        input={"invokeModel": {"body": body(system="Be brief. " * 40)}},
    )
    assert resp["inputTokens"] == len("Be brief. " * 40) // 4 + 2
    with pytest.raises(ClientError, match="model identifier is invalid"):
        runtime.count_tokens(modelId="anthropic.claude-nope-v1:0", input={"invokeModel": {"body": body()}})


def test_converse(runtime):
    resp = runtime.converse(
        modelId=HAIKU_PROFILE,
        messages=[{"role": "user", "content": [{"text": "echo: conversing"}]}],
        inferenceConfig={"maxTokens": 50},
    )
    assert resp["output"]["message"]["content"] == [{"text": "conversing"}]
    assert resp["stopReason"] == "end_turn" and resp["usage"]["inputTokens"] == 4
    tool = {
        "toolSpec": {
            "name": "calc",
            "inputSchema": {"json": {"type": "object", "required": ["x"], "properties": {"x": {"type": "number"}}}},
        }
    }
    used = runtime.converse(
        modelId=HAIKU_PROFILE,
        messages=[{"role": "user", "content": [{"text": "use tool"}]}],
        toolConfig={"tools": [tool]},
    )
    assert used["stopReason"] == "tool_use"
    assert used["output"]["message"]["content"][-1]["toolUse"]["input"] == {"x": 1}
