"""Fixtures for the migration wizard: an Anthropic source and a Bedrock target on the fakes, eager Celery."""
import pytest

from providers.models import ProviderRouting
from providers.revisions import record_revision
from tests.providers.conftest import anthropic_api, aws_env, bedrock_api, make_anthropic, make_bedrock  # noqa: F401


@pytest.fixture
def fresh_anthropic(anthropic_api):  # noqa: F811 (the imported fixture)
    anthropic_api.reset()
    yield anthropic_api
    anthropic_api.reset()


@pytest.fixture
def fresh_bedrock(bedrock_api):  # noqa: F811
    bedrock_api.reset()
    yield bedrock_api
    bedrock_api.reset()


@pytest.fixture
def pair(db, aws_env, fresh_anthropic, fresh_bedrock):  # noqa: F811
    """Stored providers: "anthropic" (primary, the source) and "bedrock" (the target), one revision recorded."""
    source = make_anthropic(server=fresh_anthropic)
    target = make_bedrock(server=fresh_bedrock)
    routing = ProviderRouting.load()
    routing.primary, routing.fallbacks = "anthropic", []
    routing.save()
    record_revision(None, "Test setup")
    return source, target


@pytest.fixture
def eager_celery():
    from moments_admin.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous
