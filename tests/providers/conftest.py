"""Fixtures for the provider configuration tests: fakes per module, an isolated environment, stored providers.

No fixture here is autouse: tests/providers/clients/ (the provider layer's tests) shares this folder.
"""
import os

import pytest

from providers import crypto
from providers.models import ProviderConfig

# Obviously fake secrets, each unique so a scan of HTML and logs can find any leak.
ANTHROPIC_KEY = "sk-ant-cfgtest-0001-LEAKCHECK-ANTHROPIC"
AKID = "AKIACFGTEST000000001"
AWS_SECRET = "cfgtest+aws/secret-0001-LEAKCHECK-AWS"
BEDROCK_API_KEY = "bedrock-cfgtest-0001-LEAKCHECK-BEARER"
SECRETS = (ANTHROPIC_KEY, AWS_SECRET, BEDROCK_API_KEY)
ROLE_ARN = "arn:aws:iam::123456789012:role/moments-bedrock"
CLEARED_PREFIXES = ("AWS_", "ANTHROPIC_", "MOMENTS_", "CLAUDE_CODE_")
CLEARED_NAMES = ("MAX_THINKING_TOKENS", "NEXT_PUBLIC_ANTHROPIC_API_KEY", "TEST_ANTHROPIC_KEY")


def catalog_models():
    """The lead catalog's model IDs, so the fakes serve every catalog default."""
    from providers.clients.catalog import load_catalog

    catalog = load_catalog()
    return [catalog.models[catalog.logical[name]["current"]] for name in catalog.logical_names()]


def fake_bedrock_models():
    from providers.fakes.bedrock_catalog import BEDROCK_MODELS

    models = {k: dict(v) for k, v in BEDROCK_MODELS.items()}
    for m in catalog_models():
        models.setdefault(m.bedrock_base_id, {
            "name": m.display_name, "anthropic_id": m.key, "profiles": tuple(m.bedrock_profiles),
            "on_demand_regions": tuple(m.bedrock_on_demand_regions)})
    return models


def start_bedrock(**options):
    from providers.fakes import FakeBedrock

    options.setdefault("credentials", {AKID: AWS_SECRET})
    options.setdefault("bearer_tokens", {BEDROCK_API_KEY})
    return FakeBedrock(models=fake_bedrock_models(), **options).start()


def start_anthropic(**options):
    from providers.fakes import FakeAnthropic
    from providers.fakes.anthropic_models import DEFAULT_MODELS

    ids = [m.id for m in DEFAULT_MODELS] + [m.key for m in catalog_models()]
    return FakeAnthropic(api_keys={ANTHROPIC_KEY}, models=list(dict.fromkeys(ids)), **options).start()


@pytest.fixture(scope="module")
def bedrock_api():
    server = start_bedrock()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bedrock_tls_api():
    server = start_bedrock(tls=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def anthropic_api():
    server = start_anthropic()
    yield server
    server.stop()


@pytest.fixture
def aws_env(monkeypatch, tmp_path, settings):
    """No AWS, Anthropic or selection variables from the developer's shell; AWS files and HOME in tmp_path."""
    for name in list(os.environ):
        if name.startswith(CLEARED_PREFIXES) or name in CLEARED_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HOME", str(tmp_path))
    settings.MOMENTS_CONFIG_PATH = tmp_path / "written" / "config.yml"
    return tmp_path


def bedrock_endpoints(server):
    values = {"endpoint_url": server.url, "control_endpoint_url": server.url, "sts_endpoint_url": server.url}
    if server.ca_bundle:
        values["ca_bundle"] = server.ca_bundle
    return values


def make_bedrock(name="bedrock", server=None, **fields):
    values = {"kind": "bedrock", "aws_region": "us-east-1", "auth_mode": "static_keys", "aws_access_key_id": AKID,
              "aws_secret_access_key_encrypted": crypto.encrypt(AWS_SECRET)}
    if server is not None:
        values.update(bedrock_endpoints(server))
    values.update(fields)
    return ProviderConfig.objects.create(name=name, **values)


def make_anthropic(name="anthropic", server=None, **fields):
    values = {"kind": "anthropic", "api_key_env": "", "api_key_encrypted": crypto.encrypt(ANTHROPIC_KEY)}
    if server is not None:
        values["base_url"] = server.url
    values.update(fields)
    return ProviderConfig.objects.create(name=name, **values)


def assert_no_secrets(text, where="response"):
    for secret in SECRETS:
        assert secret not in text, f"a secret leaked into the {where}"
