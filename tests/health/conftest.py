"""Fixtures for health monitoring: the provider tests' fake servers and stored-provider factories."""
import pytest

from providers.health.models import HealthSettings
from tests.providers.conftest import anthropic_api, aws_env, bedrock_api  # noqa: F401 (fixtures)


@pytest.fixture
def health_settings(db):
    row = HealthSettings.load()
    row.alert_emails = "oncall@example.test"
    row.save()
    return row


@pytest.fixture
def fresh_anthropic(anthropic_api):  # noqa: F811 (the imported fixture)
    anthropic_api.reset()
    yield anthropic_api
    anthropic_api.reset()
