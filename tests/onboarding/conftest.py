"""Fixtures of the provider and usage tests, reused for the set-up, credential and usage view tests."""
from tests.providers import conftest as provider_fixtures
from tests.usage import conftest as usage_fixtures

aws_env, anthropic_api, bedrock_api = provider_fixtures.aws_env, provider_fixtures.anthropic_api, \
    provider_fixtures.bedrock_api
record, _fresh_caches = usage_fixtures.record, usage_fixtures._fresh_caches
