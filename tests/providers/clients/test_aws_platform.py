"""AwsPlatformClient: Claude Platform on AWS on the SDK's AnthropicAWS, against its fake."""
import pytest

from providers.clients.aws_platform import AwsPlatformClient
from providers.clients.errors import ErrorKind, ProviderError
from providers.fakes import Fault
from tests.fake_providers import (
    AWS_KEY_ID,
    AWS_SECRET,
    WORKSPACE_ID,
    WORKSPACE_KEY,
    DictCache,
    aws_platform_settings,
    model_calls,
)

HELLO = {"model": "claude-sonnet-5-5", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture(autouse=True)
def _no_ambient_credentials(monkeypatch):
    for name in ("ANTHROPIC_AWS_API_KEY", "ANTHROPIC_AWS_BASE_URL", "ANTHROPIC_AWS_WORKSPACE_ID"):
        monkeypatch.delenv(name, raising=False)


def test_sigv4_call_carries_the_workspace_and_claude_api_ids(aws_platform_fake):
    result = AwsPlatformClient(aws_platform_settings(aws_platform_fake)).create_message(HELLO)
    [call] = model_calls(aws_platform_fake)
    assert call.status == 200  # signed for aws-external-anthropic, or the fake would refuse it
    assert call.headers["anthropic-workspace-id"] == WORKSPACE_ID
    assert call.json["model"] == result.model_id == "claude-sonnet-5-5"
    assert result.provider_kind == "aws_platform"


def test_workspace_api_key(aws_platform_fake):
    client = AwsPlatformClient(aws_platform_settings(aws_platform_fake, auth_mode="api_key", api_key=WORKSPACE_KEY))
    assert client.count_tokens(HELLO) > 0
    identity = client.identity()
    assert identity.auth_mode == "api_key" and WORKSPACE_KEY not in repr(identity)


def test_streaming_usage(aws_platform_fake):
    stream = AwsPlatformClient(aws_platform_settings(aws_platform_fake)).stream_message(HELLO)
    events = list(stream)
    assert stream.usage.input_tokens == events[0]["message"]["usage"]["input_tokens"]
    assert stream.usage.output_tokens == events[-2]["usage"]["output_tokens"] > 1


def test_a_workspace_the_credentials_may_not_use_is_a_permission_error(aws_platform_fake):
    client = AwsPlatformClient(aws_platform_settings(aws_platform_fake, workspace_id="wrkspc_not_ours"))
    with pytest.raises(ProviderError) as caught:
        client.create_message(HELLO)
    assert caught.value.kind is ErrorKind.PERMISSION


def test_a_wrong_workspace_key_is_an_authentication_error(aws_platform_fake):
    client = AwsPlatformClient(aws_platform_settings(aws_platform_fake, auth_mode="api_key",
                                                     api_key="sk-ant-workspace-wrong"))
    with pytest.raises(ProviderError) as caught:
        client.identity()
    assert caught.value.kind is ErrorKind.AUTHENTICATION


@pytest.mark.parametrize("changes, missing", [({"workspace_id": None}, "workspace ID"),
                                              ({"aws_region": None}, "region"),
                                              ({"auth_mode": "api_key", "api_key": None}, "API key")])
def test_configuration_errors_say_what_is_missing(aws_platform_fake, changes, missing):
    with pytest.raises(ProviderError) as caught:
        AwsPlatformClient(aws_platform_settings(aws_platform_fake, **changes))
    assert caught.value.kind is ErrorKind.CONFIGURATION and missing in caught.value.message


def test_an_environment_base_url_does_not_redirect_signed_calls(aws_platform_fake, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_AWS_BASE_URL", "http://127.0.0.1:9/elsewhere")
    assert AwsPlatformClient(aws_platform_settings(aws_platform_fake)).create_message(HELLO).usage.output_tokens


def test_overloaded_is_retried(aws_platform_fake):
    aws_platform_fake.inject(Fault("overloaded", times=1))
    assert AwsPlatformClient(aws_platform_settings(aws_platform_fake)).create_message(HELLO).attempts == 2


def test_models_and_permissions_are_cached_per_workspace(aws_platform_fake):
    cache = DictCache()
    client = AwsPlatformClient(aws_platform_settings(aws_platform_fake), availability_cache=cache)
    checks = client.check_permissions(["claude-opus-5-5"])
    client.available_model_ids()
    # SigV4: visible to the workspace, and aws-external-anthropic:CreateInference proved by an invalid request
    assert [c.action for c in checks] == ["models:read", "aws-external-anthropic:CreateInference"]
    assert all(c.allowed for c in checks) and len(cache.store) == 1
    assert len([r for r in aws_platform_fake.requests if r.path == "/v1/models"]) >= 1
    other = AwsPlatformClient(aws_platform_settings(aws_platform_fake, auth_mode="api_key", api_key=WORKSPACE_KEY),
                              availability_cache=cache)
    other.available_model_ids()
    assert len(cache.store) == 2


def test_the_default_chain_signs_even_when_an_ambient_workspace_key_is_set(aws_platform_fake, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("ANTHROPIC_AWS_API_KEY", "sk-ant-workspace-ambient-not-ours")
    settings = aws_platform_settings(aws_platform_fake, auth_mode="default_chain", aws_access_key_id=None,
                                     aws_secret_access_key=None)
    assert AwsPlatformClient(settings).create_message(HELLO).usage.output_tokens > 0


def test_missing_aws_credentials_are_an_authentication_error(aws_platform_fake, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings = aws_platform_settings(aws_platform_fake, auth_mode="default_chain", aws_access_key_id=None,
                                     aws_secret_access_key=None)
    with pytest.raises(ProviderError) as caught:
        AwsPlatformClient(settings).create_message(HELLO)
    assert caught.value.kind is ErrorKind.AUTHENTICATION and aws_platform_fake.requests == []
