"""Fixtures of the provider tests, reused for the set-up and credential tests."""
from tests.providers import conftest as provider_fixtures

aws_env, anthropic_api, bedrock_api = provider_fixtures.aws_env, provider_fixtures.anthropic_api, \
    provider_fixtures.bedrock_api
from tests.usage import conftest as usage_fixtures

record, _fresh_caches = usage_fixtures.record, usage_fixtures._fresh_caches
