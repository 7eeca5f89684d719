"""BedrockMessagesClient: Claude in Amazon Bedrock, the Messages API on bedrock-runtime, over the real SDK."""
import pytest

from providers.clients.bedrock_client import BedrockClient
from providers.clients.bedrock_messages import BedrockMessagesClient
from providers.clients.errors import ErrorKind, ProviderError
from providers.fakes import FakeBedrock, Fault
from tests.fake_providers import AWS_KEY_ID, AWS_SECRET, BEDROCK_API_KEY, bedrock_settings, model_calls

SONNET_55 = "global.anthropic.claude-sonnet-5-5"
HELLO = {"model": SONNET_55, "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_BEARER_TOKEN_BEDROCK", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def client_for(server, **changes):
    return BedrockMessagesClient(bedrock_settings(server, bedrock_integration="messages", **changes))


def test_a_5x_model_streams_over_sse_signed_for_bedrock(bedrock_fake):
    stream = client_for(bedrock_fake).stream_message(HELLO)
    events = list(stream)
    assert [e["type"] for e in events][-2:] == ["message_delta", "message_stop"]
    [call] = model_calls(bedrock_fake)
    assert call.path == "/anthropic/v1/messages" and call.status == 200  # the fake verified SigV4 "bedrock"
    assert call.json["model"] == SONNET_55 and call.json["stream"] is True
    assert stream.model_id == SONNET_55 and stream.request_id


def test_streaming_usage_takes_input_from_message_start_and_output_from_the_final_delta(bedrock_fake):
    client = client_for(bedrock_fake)
    stream = client.stream_message(HELLO)
    events = list(stream)
    start, final = events[0], events[-2]
    assert stream.usage.input_tokens == start["message"]["usage"]["input_tokens"]
    assert stream.usage.output_tokens == final["usage"]["output_tokens"]
    assert start["message"]["usage"]["output_tokens"] < stream.usage.output_tokens  # not the placeholder
    assert stream.usage == client.create_message(HELLO).usage  # the same request, unstreamed


def test_json_reply_and_usage(bedrock_fake):
    result = client_for(bedrock_fake).create_message(
        {**HELLO, "messages": [{"role": "user", "content": "echo: over the Messages API"}]})
    assert result.message["content"][0]["text"] == "over the Messages API"
    assert result.usage.output_tokens > 0 and result.provider_kind == "bedrock"


def test_an_ambient_anthropic_key_never_goes_to_aws(bedrock_fake, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-ambient-LEAKCHECK-0001")
    client_for(bedrock_fake).create_message(HELLO)
    [call] = model_calls(bedrock_fake)
    assert call.status == 200  # Authorization was the SigV4 signature, or the fake would refuse it
    assert not {"x-api-key", "X-Api-Key"} & set(call.headers)
    assert b"LEAKCHECK" not in call.body


def test_a_bedrock_api_key_is_sent_as_bearer(bedrock_fake):
    client = client_for(bedrock_fake, auth_mode="api_key", bedrock_api_key=BEDROCK_API_KEY)
    assert client.create_message(HELLO).usage.output_tokens > 0
    assert model_calls(bedrock_fake)[-1].status == 200


def test_profile_only_base_id_is_model_not_available_with_a_hint_naming_the_profile(bedrock_fake):
    client = client_for(bedrock_fake, inference_profile="anthropic.claude-sonnet-5-5")
    with pytest.raises(ProviderError) as caught:
        client.create_message(HELLO)
    assert caught.value.kind is ErrorKind.MODEL_NOT_AVAILABLE
    assert "use the inference profile global.anthropic.claude-sonnet-5-5" in caught.value.hint


def test_service_unavailable_as_http_400_is_retried_not_an_invalid_request(bedrock_fake):
    # The Messages path answers in Anthropic's shape; the AWS code in x-amzn-ErrorType decides the kind.
    bedrock_fake.inject(Fault("service_unavailable_400", times=1))
    assert client_for(bedrock_fake).create_message(HELLO).attempts == 2


@pytest.mark.parametrize("fault, kind", [("throttling", ErrorKind.RATE_LIMITED), ("model_timeout", ErrorKind.TIMEOUT),
                                         ("server_error", ErrorKind.UNAVAILABLE)])
def test_faults_map_to_retryable_kinds(bedrock_fake, fault, kind):
    bedrock_fake.inject(Fault(fault, times=None))
    with pytest.raises(ProviderError) as caught:
        client_for(bedrock_fake).create_message(HELLO)
    assert caught.value.kind is kind and caught.value.retryable and caught.value.triggers_failover


def test_throttling_is_retried_until_it_passes(bedrock_fake):
    bedrock_fake.inject(Fault("throttling", times=2))
    assert client_for(bedrock_fake).create_message(HELLO).attempts == 3
    assert len(model_calls(bedrock_fake)) == 3


def test_broken_sse_stream_is_stream_interrupted(bedrock_fake):
    bedrock_fake.inject(Fault("stream_break", after_events=3))
    with pytest.raises(ProviderError) as caught:
        list(client_for(bedrock_fake).stream_message(HELLO))
    assert caught.value.kind is ErrorKind.STREAM_INTERRUPTED


def test_permission_check_names_the_missing_streaming_action():
    denied = {AWS_KEY_ID: {"bedrock:InvokeModelWithResponseStream"}}
    with FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}, denied_actions=denied) as server:
        checks = client_for(server).check_permissions([SONNET_55])
        assert not [r for r in server.requests if r.status == 200 and r.path.endswith("/messages")]
    assert [(c.action, c.allowed) for c in checks] == [
        ("bedrock:InvokeModel", True), ("bedrock:InvokeModelWithResponseStream", False)]


def test_legacy_invoke_model_path_is_unchanged(bedrock_fake):
    # Haiku 4.5 is documented for InvokeModel, with Bedrock's own API version in the body.
    BedrockClient(bedrock_settings(bedrock_fake)).create_message({**HELLO, "model": "claude-haiku-4-5"})
    [call] = model_calls(bedrock_fake)
    assert call.path.endswith("/invoke") and "model" not in call.json
    assert call.json["anthropic_version"] == "bedrock-2023-05-31"


def test_the_bedrock_provider_routes_each_model_to_its_documented_integration(bedrock_fake):
    client = BedrockClient(bedrock_settings(bedrock_fake))
    client.create_message({**HELLO, "model": "sonnet"})  # Sonnet 5.5: the Messages API
    client.create_message({**HELLO, "model": "claude-opus-4-6"})  # Opus 4.6: InvokeModel
    messages_call, invoke_call = model_calls(bedrock_fake)
    assert messages_call.path == "/anthropic/v1/messages" and messages_call.json["model"].endswith("sonnet-5-5")
    assert invoke_call.path.endswith("/invoke") and "opus-4-6" in invoke_call.path
    streamed = client.stream_message({**HELLO, "model": "sonnet"})
    assert [e["type"] for e in streamed][-1] == "message_stop"
    assert model_calls(bedrock_fake)[-1].path == "/anthropic/v1/messages"


def test_a_provider_override_sends_every_model_through_one_integration(bedrock_fake):
    client = BedrockClient(bedrock_settings(bedrock_fake, bedrock_integration="invoke"))
    client.create_message({**HELLO, "model": "claude-opus-4-6"})
    assert model_calls(bedrock_fake)[-1].path.endswith("/invoke")


def test_session_credentials_send_their_token_in_the_signature():
    token = "FwoGZXIvYXdzEFAKE-session-token-0001"
    with FakeBedrock(credentials={"ASIAFAKESESSION00001": ("session-secret-0001", token)}) as server:
        settings = bedrock_settings(server, aws_access_key_id="ASIAFAKESESSION00001",
                                    aws_secret_access_key="session-secret-0001", aws_session_token=token)
        assert BedrockMessagesClient(settings).create_message(HELLO).usage.output_tokens > 0
        settings_without_token = bedrock_settings(server, aws_access_key_id="ASIAFAKESESSION00001",
                                                  aws_secret_access_key="session-secret-0001")
        with pytest.raises(ProviderError) as caught:
            BedrockMessagesClient(settings_without_token).create_message(HELLO)
    assert caught.value.kind is ErrorKind.AUTHENTICATION


def test_tls_with_a_private_ca_bundle():
    with FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}, tls=True) as server:
        result = client_for(server, verify=server.ca_bundle).create_message(HELLO)
    assert result.usage.output_tokens > 0


def test_token_count_matches_what_the_call_is_billed(bedrock_fake):
    client = client_for(bedrock_fake)
    assert client.count_tokens(HELLO) == client.create_message(HELLO).usage.input_tokens


def test_prompt_cache_reads_are_reported_on_the_second_call(bedrock_fake):
    system = [{"type": "text", "text": "A long shared preamble. " * 200, "cache_control": {"type": "ephemeral"}}]
    client = client_for(bedrock_fake)
    first = client.create_message({**HELLO, "system": system}).usage
    stream = client.stream_message({**HELLO, "system": system})
    list(stream)
    second = stream.usage
    assert first.cache_write_5m_tokens > 0 and first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_write_5m_tokens
