"""Fixtures reused from the provider and usage tests: an isolated environment, and recording usage."""
from tests.providers.conftest import aws_env  # noqa: F401 - a fixture
from tests.usage.conftest import record  # noqa: F401 - a fixture
