"""The provider tests' isolated environment (no AWS or Anthropic variables from the shell), reused here."""
from tests.providers.conftest import aws_env  # noqa: F401 - a fixture
