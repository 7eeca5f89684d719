"""The Messages API on Bedrock (bedrock-runtime /anthropic and bedrock-mantle) and Claude Platform on AWS,
through the real anthropic SDK (AnthropicBedrockMantle, AnthropicAWS, Anthropic + botocore SigV4) over HTTP."""

from __future__ import annotations

import anthropic
import httpx2
import pytest
from anthropic.lib.aws import AnthropicAWS
from anthropic.lib.bedrock import AnthropicBedrockMantle
from botocore.credentials import Credentials

from providers.clients.aws_sigv4 import BotocoreSigV4Auth
from providers.fakes import FakeAwsPlatform, FakeBedrock, FakeBedrockMantle, Fault

from .conftest import ACCOUNT, AKID, BEARER, SECRET

HI = [{"role": "user", "content": "hi"}]
SONNET_55_GLOBAL = "global.anthropic.claude-sonnet-5-5"
SONNET_55 = "anthropic.claude-sonnet-5-5"
WORKSPACE = "wrkspc_fake_0001"
WORKSPACE_KEY = "sk-ant-workspace-fake-0001"
ANTHROPIC_EVENTS = ["message_start", "content_block_start", "content_block_delta"]  # the SDK drops pings


def signed_anthropic(url: str, service: str, region: str = "us-east-1") -> anthropic.Anthropic:
    auth = BotocoreSigV4Auth(lambda: Credentials(AKID, SECRET), service, region)
    # The placeholder token only satisfies the SDK's "some auth" check; the SigV4 auth replaces it.
    return anthropic.Anthropic(auth_token="replaced-by-sigv4", base_url=url, max_retries=0,
                               http_client=anthropic.DefaultHttpxClient(auth=auth))


@pytest.fixture
def runtime_messages(fake_bedrock):
    with signed_anthropic(fake_bedrock.url + "/anthropic", "bedrock") as client:
        yield client


@pytest.fixture
def fake_mantle():
    with FakeBedrockMantle(credentials={AKID: SECRET}, bearer_tokens={BEARER}, account_id=ACCOUNT) as server:
        yield server


@pytest.fixture
def fake_platform():
    with FakeAwsPlatform(credentials={AKID: SECRET}, api_keys={WORKSPACE_KEY}, workspace_ids={WORKSPACE}) as server:
        yield server


# -- bedrock-runtime /anthropic/v1/messages ---------------------------------------------------------------
def test_runtime_messages_streams_anthropic_sse_with_sigv4_service_bedrock(fake_bedrock, runtime_messages):
    events = list(runtime_messages.messages.create(model=SONNET_55_GLOBAL, max_tokens=64, messages=HI, stream=True))
    types = [event.type for event in events]
    assert types[:3] == ANTHROPIC_EVENTS and types[-2:] == ["message_delta", "message_stop"]
    assert events[0].message.model == "claude-sonnet-5-5"
    assert "Claude in Amazon Bedrock" in "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert events[-2].usage.output_tokens > events[0].message.usage.output_tokens == 1
    [request] = fake_bedrock.requests
    assert request.path == "/anthropic/v1/messages" and request.status == 200
    assert request.json["model"] == SONNET_55_GLOBAL and "anthropic_version" not in request.json


def test_runtime_messages_answers_json_without_stream(runtime_messages):
    message = runtime_messages.messages.create(model=SONNET_55_GLOBAL, max_tokens=64,
                                               messages=[{"role": "user", "content": "echo: pong"}])
    assert message.content[0].text == "pong"


def test_runtime_messages_refuses_a_signature_for_another_service(fake_bedrock):
    with signed_anthropic(fake_bedrock.url + "/anthropic", "bedrock-mantle") as client:
        with pytest.raises(anthropic.PermissionDeniedError) as caught:
            client.messages.create(model=SONNET_55_GLOBAL, max_tokens=8, messages=HI)
    assert caught.value.response.headers["x-amzn-ErrorType"].startswith("InvalidSignatureException")
    assert "correct service: 'bedrock'" in caught.value.body["message"]


def test_runtime_messages_accepts_a_bedrock_api_key(fake_bedrock):
    with anthropic.Anthropic(auth_token=BEARER, base_url=fake_bedrock.url + "/anthropic", max_retries=0) as client:
        message = client.messages.create(model=SONNET_55_GLOBAL, max_tokens=16, messages=HI)
    assert message.stop_reason in ("end_turn", "max_tokens")


def test_runtime_messages_base_id_of_a_profile_only_model_needs_an_inference_profile(runtime_messages):
    with pytest.raises(anthropic.BadRequestError) as caught:
        runtime_messages.messages.create(model=SONNET_55, max_tokens=8, messages=HI)
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    assert "on-demand throughput isn't supported" in caught.value.body["error"]["message"]
    assert caught.value.response.headers["x-amzn-ErrorType"] == "ValidationException"


def test_runtime_messages_serves_only_models_of_the_messages_integration(runtime_messages):
    with pytest.raises(anthropic.BadRequestError) as caught:
        runtime_messages.messages.create(model="us.anthropic.claude-sonnet-4-6", max_tokens=8, messages=HI)
    assert "call it with InvokeModel" in caught.value.body["error"]["message"]


def test_runtime_messages_authorizes_the_streaming_action_on_the_profile():
    denied = {AKID: {"bedrock:InvokeModelWithResponseStream"}}
    with FakeBedrock(credentials={AKID: SECRET}, account_id=ACCOUNT, denied_actions=denied) as server:
        with signed_anthropic(server.url + "/anthropic", "bedrock") as client:
            client.messages.create(model=SONNET_55_GLOBAL, max_tokens=8, messages=HI)  # InvokeModel is allowed
            with pytest.raises(anthropic.PermissionDeniedError) as caught:
                client.messages.create(model=SONNET_55_GLOBAL, max_tokens=8, messages=HI, stream=True)
    message = caught.value.body["message"]
    assert "bedrock:InvokeModelWithResponseStream on resource: arn:aws:bedrock:us-east-1:123456789012:" \
           "inference-profile/global.anthropic.claude-sonnet-5-5" in message


def test_runtime_messages_faults_answer_in_anthropic_shape(fake_bedrock, runtime_messages):
    fake_bedrock.inject(Fault("throttling", retry_after=3))
    with pytest.raises(anthropic.RateLimitError) as caught:
        runtime_messages.messages.create(model=SONNET_55_GLOBAL, max_tokens=8, messages=HI)
    assert caught.value.body["error"]["type"] == "rate_limit_error"
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.response.headers["x-amzn-ErrorType"] == "ThrottlingException"


def test_runtime_messages_stream_break_sends_an_sse_error_event(fake_bedrock, runtime_messages):
    fake_bedrock.inject(Fault("stream_break", after_events=3))
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        with runtime_messages.messages.stream(model=SONNET_55_GLOBAL, max_tokens=64, messages=HI) as stream:
            list(stream)


# -- bedrock-mantle ------------------------------------------------------------------------------------------
def test_mantle_with_sigv4_service_bedrock_mantle(fake_mantle):
    with AnthropicBedrockMantle(aws_access_key=AKID, aws_secret_key=SECRET, aws_region="us-east-1",
                                base_url=fake_mantle.url + "/anthropic", max_retries=0) as client:
        with client.messages.stream(model=SONNET_55, max_tokens=64, messages=HI) as stream:
            final = stream.get_final_message()
    assert final.model == "claude-sonnet-5-5" and final.usage.output_tokens > 1
    assert [r.path for r in fake_mantle.requests] == ["/anthropic/v1/messages"]


def test_mantle_with_a_bedrock_api_key(fake_mantle):
    with AnthropicBedrockMantle(api_key=BEARER, aws_region="us-east-1", base_url=fake_mantle.url + "/anthropic",
                                max_retries=0) as client:
        message = client.messages.create(model=SONNET_55, max_tokens=16, messages=HI)
    assert message.content[0].type == "text"


def test_mantle_refuses_inference_profile_ids(fake_mantle):
    with AnthropicBedrockMantle(api_key=BEARER, aws_region="us-east-1", base_url=fake_mantle.url + "/anthropic",
                                max_retries=0) as client:
        with pytest.raises(anthropic.NotFoundError) as caught:
            client.messages.create(model=SONNET_55_GLOBAL, max_tokens=16, messages=HI)
    assert "anthropic.<model>" in caught.value.body["error"]["message"]


def test_mantle_refuses_a_signature_for_bedrock(fake_mantle):
    with signed_anthropic(fake_mantle.url + "/anthropic", "bedrock") as client:
        with pytest.raises(anthropic.PermissionDeniedError) as caught:
            client.messages.create(model=SONNET_55, max_tokens=8, messages=HI)
    assert "correct service: 'bedrock-mantle'" in caught.value.body["message"]


def test_mantle_authorizes_create_inference():
    with FakeBedrockMantle(credentials={AKID: SECRET}, denied_actions={"bedrock-mantle:CreateInference"}) as server:
        with AnthropicBedrockMantle(aws_access_key=AKID, aws_secret_key=SECRET, aws_region="us-east-1",
                                    base_url=server.url + "/anthropic", max_retries=0) as client:
            with pytest.raises(anthropic.PermissionDeniedError) as caught:
                client.messages.create(model=SONNET_55, max_tokens=8, messages=HI)
    assert "not authorized to perform: bedrock-mantle:CreateInference" in caught.value.body["message"]


def test_mantle_serves_no_sts_and_no_invoke_model(fake_mantle):
    answer = httpx2.post(fake_mantle.url + "/", data={"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    assert answer.status_code == 403  # no STS here: an unsigned request is refused at the front door
    auth = BotocoreSigV4Auth(lambda: Credentials(AKID, SECRET), "bedrock-mantle", "us-east-1")
    invoke = httpx2.post(fake_mantle.url + f"/model/{SONNET_55}/invoke", auth=auth,
                         json={"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8, "messages": HI})
    assert invoke.status_code == 404 and invoke.headers["x-amzn-ErrorType"].startswith("UnknownOperationException")


# -- Claude Platform on AWS -----------------------------------------------------------------------------------
def test_platform_with_sigv4_service_aws_external_anthropic(fake_platform):
    with AnthropicAWS(aws_access_key=AKID, aws_secret_key=SECRET, aws_region="us-east-1", workspace_id=WORKSPACE,
                      base_url=fake_platform.url, max_retries=0) as client:
        with client.messages.stream(model="claude-sonnet-5-5", max_tokens=64, messages=HI) as stream:
            final = stream.get_final_message()
        tokens = client.messages.count_tokens(model="claude-sonnet-5-5", messages=HI).input_tokens
        models = [m.id for m in client.models.list(limit=5)]
    assert final.usage.output_tokens > 1 and tokens == final.usage.input_tokens
    assert "claude-opus-5-5" in models
    assert {r.headers["anthropic-workspace-id"] for r in fake_platform.requests} == {WORKSPACE}


def test_platform_with_a_workspace_api_key(fake_platform):
    with AnthropicAWS(api_key=WORKSPACE_KEY, workspace_id=WORKSPACE, base_url=fake_platform.url,
                      max_retries=0) as client:
        assert client.messages.create(model="claude-haiku-5-5", max_tokens=16, messages=HI).content
    raw = httpx2.post(fake_platform.url + "/v1/messages", headers={
        "x-api-key": WORKSPACE_KEY, "anthropic-version": "2023-06-01", "anthropic-workspace-id": WORKSPACE},
        json={"model": "claude-haiku-5-5", "max_tokens": 8, "messages": HI})
    assert raw.status_code == 200


def test_platform_refuses_a_request_without_the_workspace_header(fake_platform):
    with anthropic.Anthropic(api_key=WORKSPACE_KEY, base_url=fake_platform.url, max_retries=0) as client:
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(model="claude-haiku-5-5", max_tokens=8, messages=HI)
    assert caught.value.body["error"]["message"] == "anthropic-workspace-id: header is required"


def test_platform_refuses_a_workspace_the_caller_may_not_use(fake_platform):
    with AnthropicAWS(api_key=WORKSPACE_KEY, workspace_id="wrkspc_someone_else", base_url=fake_platform.url,
                      max_retries=0) as client:
        with pytest.raises(anthropic.PermissionDeniedError):
            client.models.list()


def test_platform_refuses_a_signature_for_another_service(fake_platform):
    with signed_anthropic(fake_platform.url, "bedrock") as client:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            client.with_options(default_headers={"anthropic-workspace-id": WORKSPACE}).models.list()
    assert "aws-external-anthropic" in caught.value.body["error"]["message"]
