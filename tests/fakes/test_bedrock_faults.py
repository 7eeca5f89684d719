"""Injected faults on FakeBedrock, observed through boto3 and anthropic.AnthropicBedrock."""

from __future__ import annotations

import json

import anthropic
import pytest
from botocore.config import Config
from botocore.eventstream import ChecksumMismatch
from botocore.exceptions import ClientError, ConnectionClosedError, EventStreamError, ReadTimeoutError

from providers.fakes import FakeBedrock, Fault

from .conftest import AKID, HAIKU_PROFILE, LEGACY_VERSION, SECRET, boto_client

BODY = json.dumps(
    {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "Tell me something"}],
    }
)


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("rate_limit", 429, "ThrottlingException"),
        ("throttling", 429, "ThrottlingException"),
        ("overloaded", 503, "ServiceUnavailableException"),
        ("unavailable", 503, "ServiceUnavailableException"),
        ("service_unavailable_400", 400, "ServiceUnavailableException"),
        ("server_error", 500, "InternalServerException"),
        ("access_denied", 403, "AccessDeniedException"),
        ("model_not_ready", 429, "ModelNotReadyException"),
        ("model_timeout", 408, "ModelTimeoutException"),
    ],
)
def test_error_faults(runtime, fake_bedrock, kind, status, code):
    fake_bedrock.inject(Fault(kind))
    with pytest.raises(ClientError) as exc:
        runtime.invoke_model(modelId=HAIKU_PROFILE, body=BODY)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert exc.value.response["Error"]["Code"] == code and exc.value.response["Error"]["Message"]
    assert runtime.invoke_model(modelId=HAIKU_PROFILE, body=BODY)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_access_denied_fault_names_action_and_resource(runtime, fake_bedrock):
    fake_bedrock.inject(Fault("access_denied"))
    with pytest.raises(ClientError) as exc:
        runtime.invoke_model_with_response_stream(modelId=HAIKU_PROFILE, body=BODY)
    assert "perform: bedrock:InvokeModelWithResponseStream on resource: arn:aws:bedrock:us-east-1:" in str(exc.value)


def test_anthropic_bedrock_sees_status_and_message(bedrock_client, fake_bedrock):
    fake_bedrock.inject(Fault("throttling", retry_after=3))
    with pytest.raises(anthropic.RateLimitError) as exc:
        bedrock_client.messages.create(model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert exc.value.body == {"message": "Too many tokens, please wait before trying again."}
    assert exc.value.response.headers["retry-after"] == "3"
    fake_bedrock.inject(Fault("overloaded"))
    with pytest.raises(anthropic.ServiceUnavailableError):
        bedrock_client.messages.create(model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=10, messages=[{"role": "user", "content": "x"}])


def test_boto3_standard_retry_recovers(fake_bedrock):
    retrying = boto_client(
        "bedrock-runtime", fake_bedrock, config=Config(retries={"total_max_attempts": 3, "mode": "standard"})
    )
    fake_bedrock.inject(Fault("server_error"))
    resp = retrying.invoke_model(modelId=HAIKU_PROFILE, body=BODY)
    assert resp["ResponseMetadata"]["RetryAttempts"] == 1
    assert [r.status for r in fake_bedrock.requests] == [500, 200]


def test_stream_break_sends_model_stream_error(runtime, fake_bedrock):
    fake_bedrock.inject(Fault("stream_break", after_events=2))
    resp = runtime.invoke_model_with_response_stream(modelId=HAIKU_PROFILE, body=BODY)
    seen = []
    with pytest.raises(EventStreamError) as exc:
        for event in resp["body"]:
            seen.append(json.loads(event["chunk"]["bytes"])["type"])
    assert seen == ["message_start", "content_block_start"]
    assert exc.value.response["Error"]["Code"] == "modelStreamErrorException"


def test_stream_break_through_anthropic_bedrock(bedrock_client, fake_bedrock):
    fake_bedrock.inject(Fault("stream_break", after_events=1))
    with pytest.raises(anthropic.APIStatusError) as exc:
        for _ in bedrock_client.messages.create(
            model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=50, stream=True, messages=[{"role": "user", "content": "x"}]
        ):
            pass
    assert exc.value.body["error"]["type"] == "modelStreamErrorException"


def test_malformed_frame_fails_the_checksum(runtime, fake_bedrock, bedrock_client):
    fake_bedrock.inject(Fault("malformed_frame", after_events=3))
    resp = runtime.invoke_model_with_response_stream(modelId=HAIKU_PROFILE, body=BODY)
    seen = []
    with pytest.raises(ChecksumMismatch):
        for event in resp["body"]:
            seen.append(event)
    assert len(seen) == 3
    fake_bedrock.inject(Fault("malformed_frame", after_events=0))
    with pytest.raises(ChecksumMismatch):
        list(
            bedrock_client.messages.create(
                model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=50, stream=True, messages=[{"role": "user", "content": "x"}]
            )
        )


def test_reset_and_slow(fake_bedrock):
    rt = boto_client(
        "bedrock-runtime",
        fake_bedrock,
        config=Config(retries={"total_max_attempts": 1}, read_timeout=0.3, connect_timeout=1),
    )
    fake_bedrock.inject(Fault("reset"))
    with pytest.raises(ConnectionClosedError):
        rt.invoke_model(modelId=HAIKU_PROFILE, body=BODY)
    fake_bedrock.inject(Fault("slow", delay=1.0))
    with pytest.raises(ReadTimeoutError):
        rt.invoke_model(modelId=HAIKU_PROFILE, body=BODY)
    assert rt.invoke_model(modelId=HAIKU_PROFILE, body=BODY)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_sts_faults_use_query_protocol_errors(fake_bedrock):
    fake_bedrock.inject(Fault("throttling", path_contains="/"))
    with pytest.raises(ClientError) as exc:
        boto_client("sts", fake_bedrock).get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "Throttling"


def test_faults_are_consumed_in_order_and_reset_clears(runtime, fake_bedrock):
    fake_bedrock.inject(Fault("throttling"))
    fake_bedrock.inject(Fault("model_timeout"))
    codes = []
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            runtime.invoke_model(modelId=HAIKU_PROFILE, body=BODY)
        codes.append(exc.value.response["Error"]["Code"])
    assert codes == ["ThrottlingException", "ModelTimeoutException"]
    fake_bedrock.inject(Fault("server_error", times=None))
    fake_bedrock.reset()
    assert fake_bedrock.requests == []
    assert runtime.invoke_model(modelId=HAIKU_PROFILE, body=BODY)


def test_reset_over_tls():
    with FakeBedrock(credentials={AKID: SECRET}, tls=True) as server:
        rt = boto_client("bedrock-runtime", server, verify=server.ca_bundle)
        server.inject(Fault("reset"))
        with pytest.raises(ConnectionClosedError):
            rt.invoke_model(modelId=HAIKU_PROFILE, body=BODY)
        assert rt.invoke_model(modelId=HAIKU_PROFILE, body=BODY)["ResponseMetadata"]["HTTPStatusCode"] == 200
