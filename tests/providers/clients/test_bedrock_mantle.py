"""BedrockMantleClient: bedrock-mantle on the SDK's AnthropicBedrockMantle, against the mantle fake."""
import pytest

from providers.clients.bedrock_mantle import BedrockMantleClient, mantle_model_id
from providers.clients.errors import ErrorKind, ProviderError
from providers.fakes import FakeBedrockMantle, Fault
from tests.fake_providers import AWS_KEY_ID, AWS_SECRET, BEDROCK_API_KEY, mantle_settings, model_calls

HELLO = {"model": "global.anthropic.claude-opus-5-5", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch):
    for name in ("AWS_BEARER_TOKEN_BEDROCK", "ANTHROPIC_AWS_API_KEY", "ANTHROPIC_BEDROCK_MANTLE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_mantle_with_a_bedrock_api_key_sends_the_bare_model_id(mantle_fake):
    client = BedrockMantleClient(mantle_settings(mantle_fake, auth_mode="api_key", bedrock_api_key=BEDROCK_API_KEY))
    result = client.create_message(HELLO)
    [call] = model_calls(mantle_fake)
    assert call.path == "/anthropic/v1/messages" and call.status == 200
    assert call.json["model"] == result.model_id == "anthropic.claude-opus-5-5"


def test_mantle_with_sigv4_streams_and_records_usage(mantle_fake):
    stream = BedrockMantleClient(mantle_settings(mantle_fake)).stream_message(HELLO)
    events = list(stream)
    assert model_calls(mantle_fake)[0].status == 200  # signed for bedrock-mantle, or the fake would refuse
    assert stream.usage.input_tokens == events[0]["message"]["usage"]["input_tokens"]
    assert stream.usage.output_tokens == events[-2]["usage"]["output_tokens"] > 1


def test_a_mapping_to_a_profile_id_still_reaches_mantle_as_the_bare_id(mantle_fake):
    settings = mantle_settings(mantle_fake, model_mapping={"opus": "eu.anthropic.claude-opus-5"})
    assert BedrockMantleClient(settings).create_message({**HELLO, "model": "opus"}).model_id == \
        "anthropic.claude-opus-5"


def test_mantle_model_id_strips_geo_prefixes():
    assert mantle_model_id("global.anthropic.claude-sonnet-5-5") == "anthropic.claude-sonnet-5-5"
    assert mantle_model_id("anthropic.claude-sonnet-5-5") == "anthropic.claude-sonnet-5-5"


def test_permission_check_names_create_inference():
    with FakeBedrockMantle(credentials={AWS_KEY_ID: AWS_SECRET},
                           denied_actions={"bedrock-mantle:CreateInference"}) as server:
        [check] = BedrockMantleClient(mantle_settings(server)).check_permissions(["anthropic.claude-opus-5-5"])
    assert (check.action, check.allowed) == ("bedrock-mantle:CreateInference", False)


def test_permission_check_passes_without_spending_tokens(mantle_fake):
    [check] = BedrockMantleClient(mantle_settings(mantle_fake)).check_permissions(["anthropic.claude-opus-5-5"])
    assert check.allowed and [r.status for r in mantle_fake.requests] == [400]


def test_throttling_is_retried(mantle_fake):
    mantle_fake.inject(Fault("throttling", times=1))
    assert BedrockMantleClient(mantle_settings(mantle_fake)).create_message(HELLO).attempts == 2


def test_token_counting_is_unsupported_not_sent_elsewhere(mantle_fake):
    client = BedrockMantleClient(mantle_settings(mantle_fake))
    assert client.capabilities("anthropic.claude-opus-5-5").token_counting is False
    with pytest.raises(ProviderError) as caught:
        client.count_tokens(HELLO)
    assert caught.value.kind is ErrorKind.UNSUPPORTED and mantle_fake.requests == []


def test_the_default_chain_signs_even_when_an_ambient_bearer_token_is_set(mantle_fake, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-ambient-not-ours")
    settings = mantle_settings(mantle_fake, auth_mode="default_chain", aws_access_key_id=None,
                               aws_secret_access_key=None)
    assert BedrockMantleClient(settings).create_message(HELLO).usage.output_tokens > 0
