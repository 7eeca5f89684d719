"""Fake Anthropic, Bedrock (InvokeModel and Messages API), bedrock-mantle and Claude Platform on AWS servers,
and settings that point the real SDKs at them (a pytest plugin)."""
import dataclasses

import pytest

from providers.clients.base import ProviderSettings, RetryPolicy
from providers.fakes import FakeAnthropic, FakeAwsPlatform, FakeBedrock, FakeBedrockMantle

ANTHROPIC_KEY = "sk-ant-test-key-0001-not-a-real-key"
AWS_KEY_ID, AWS_SECRET = "AKIAFAKEEXAMPLE0001", "fake-secret-0001-not-real"
BEDROCK_API_KEY = "bedrock-api-key-fake-0001-not-real"
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=1.0)
WORKSPACE_ID = "wrkspc_fake_test_0001"
WORKSPACE_KEY = "sk-ant-workspace-fake-0001-not-real"


@pytest.fixture(scope="session")
def anthropic_server():
    server = FakeAnthropic(api_keys={ANTHROPIC_KEY}).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def bedrock_server():
    server = FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}, bearer_tokens={BEDROCK_API_KEY}).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mantle_server():
    server = FakeBedrockMantle(credentials={AWS_KEY_ID: AWS_SECRET}, bearer_tokens={BEDROCK_API_KEY}).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def aws_platform_server():
    server = FakeAwsPlatform(credentials={AWS_KEY_ID: AWS_SECRET}, api_keys={WORKSPACE_KEY},
                             workspace_ids={WORKSPACE_ID}).start()
    yield server
    server.stop()


@pytest.fixture
def mantle_fake(mantle_server):
    mantle_server.reset()
    yield mantle_server
    mantle_server.reset()


@pytest.fixture
def aws_platform_fake(aws_platform_server):
    aws_platform_server.reset()
    yield aws_platform_server
    aws_platform_server.reset()


@pytest.fixture
def anthropic_fake(anthropic_server):
    anthropic_server.reset()
    yield anthropic_server
    anthropic_server.reset()


@pytest.fixture
def bedrock_fake(bedrock_server):
    bedrock_server.reset()
    yield bedrock_server
    bedrock_server.reset()


def anthropic_settings(server, **changes):
    base = ProviderSettings(kind="anthropic", name="anthropic-test", api_key=ANTHROPIC_KEY, base_url=server.url,
                            retry=FAST_RETRY, timeout=5)
    return dataclasses.replace(base, **changes)


def bedrock_settings(server, **changes):
    base = ProviderSettings(kind="bedrock", name="bedrock-test", aws_region="us-east-1", auth_mode="static_keys",
                            aws_access_key_id=AWS_KEY_ID, aws_secret_access_key=AWS_SECRET,
                            endpoint_url=server.url, control_endpoint_url=server.url, sts_endpoint_url=server.url,
                            verify=server.ca_bundle or True, retry=FAST_RETRY, timeout=5)
    return dataclasses.replace(base, **changes)


def mantle_settings(server, **changes):
    base = ProviderSettings(kind="bedrock", name="mantle-test", aws_region="us-east-1", auth_mode="static_keys",
                            aws_access_key_id=AWS_KEY_ID, aws_secret_access_key=AWS_SECRET,
                            bedrock_integration="mantle", mantle_endpoint_url=server.url,
                            retry=FAST_RETRY, timeout=5)
    return dataclasses.replace(base, **changes)


def aws_platform_settings(server, **changes):
    base = ProviderSettings(kind="aws_platform", name="aws-platform-test", aws_region="us-east-1",
                            auth_mode="static_keys", aws_access_key_id=AWS_KEY_ID, aws_secret_access_key=AWS_SECRET,
                            workspace_id=WORKSPACE_ID, base_url=server.url, retry=FAST_RETRY, timeout=5)
    return dataclasses.replace(base, **changes)


@pytest.fixture(params=["anthropic", "bedrock"])
def provider(request, anthropic_fake, bedrock_fake):
    """The same test, once per provider: (kind, fake server, settings factory)."""
    if request.param == "anthropic":
        return "anthropic", anthropic_fake, lambda **c: anthropic_settings(anthropic_fake, **c)
    return "bedrock", bedrock_fake, lambda **c: bedrock_settings(bedrock_fake, **c)


def model_calls(server):
    """Requests that reached the Messages endpoint of either fake."""
    return [r for r in server.requests if r.path.endswith(("/v1/messages", "/invoke", "/invoke-with-response-stream"))]


class DictCache:
    """The get/set part of Django's cache API over a dict, to count what the clients cache."""

    def __init__(self, store=None):
        self.store = {} if store is None else store

    def get(self, key):
        return self.store.get(key)

    def set(self, key, value, timeout):
        self.store[key] = value
