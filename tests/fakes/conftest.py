"""Fixtures for the fake-provider tests: fresh servers and real SDK clients pointed at them."""

from __future__ import annotations

import anthropic
import boto3
import pytest
from botocore.config import Config

from providers.fakes import FakeAnthropic, FakeBedrock

API_KEY = "sk-ant-test-key-1"
AKID, SECRET = "AKIAFAKEEXAMPLE0001", "fake-secret-0001"
BEARER = "bedrock-api-key-fake-0001"
ACCOUNT = "123456789012"
HAIKU = "claude-haiku-4-5-20251001"
HAIKU_PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
# The legacy InvokeModel models refuse the SDK's dated API version: real callers send Bedrock's own.
LEGACY_VERSION = {"anthropic_version": "bedrock-2023-05-31"}
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """Keep the developer's AWS / Anthropic settings out of the SDKs under test."""
    import os

    for name in list(os.environ):
        if name.startswith(("AWS_", "ANTHROPIC_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def fake_anthropic():
    with FakeAnthropic(api_keys={API_KEY}) as server:
        yield server


@pytest.fixture
def client(fake_anthropic):
    with anthropic.Anthropic(api_key=API_KEY, base_url=fake_anthropic.url, max_retries=0) as c:
        yield c


@pytest.fixture
def fake_bedrock():
    with FakeBedrock(credentials={AKID: SECRET}, bearer_tokens={BEARER}, account_id=ACCOUNT) as server:
        yield server


def boto_client(
    service: str,
    server,
    *,
    region: str = "us-east-1",
    config: Config | None = NO_RETRY,
    access_key: str | None = AKID,
    secret: str | None = SECRET,
    token: str | None = None,
    **kw,
):
    session = boto3.session.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name=region,
    )
    return session.client(service, endpoint_url=server.url, config=config, **kw)


@pytest.fixture
def runtime(fake_bedrock):
    return boto_client("bedrock-runtime", fake_bedrock)


@pytest.fixture
def bedrock_client(fake_bedrock):
    with anthropic.AnthropicBedrock(
        aws_region="us-east-1", aws_access_key=AKID, aws_secret_key=SECRET, base_url=fake_bedrock.url, max_retries=0
    ) as c:
        yield c
