"""choose_bedrock_integration: the catalog's documented integration per model, or the provider's override."""
import pytest

from providers.clients.base import ProviderSettings
from providers.clients.bedrock_integrations import INTEGRATION_ACTIONS, choose_bedrock_integration
from providers.clients.catalog import load_catalog
from providers.clients.errors import ErrorKind, ProviderError


@pytest.mark.parametrize("entry, expected", [
    ({"bedrock_integration": "messages"}, "messages"),
    ({"bedrock_integration": "invoke"}, "invoke"),
    ({}, "invoke"),
    (None, "invoke"),
])
def test_auto_follows_the_catalog(entry, expected):
    assert choose_bedrock_integration(entry, "auto") == expected


def test_works_on_catalog_entries_with_or_without_the_field():
    model = load_catalog().model("claude-sonnet-4-6")
    assert choose_bedrock_integration(model) in ("invoke", "messages")


@pytest.mark.parametrize("override", ["invoke", "messages", "mantle"])
def test_an_override_applies_to_every_model(override):
    assert choose_bedrock_integration({"bedrock_integration": "messages"}, override) == override
    assert choose_bedrock_integration(None, override) == override


def test_an_unknown_override_is_a_configuration_error_naming_the_choices():
    with pytest.raises(ProviderError) as caught:
        choose_bedrock_integration(None, "converse")
    assert caught.value.kind is ErrorKind.CONFIGURATION and "auto, invoke, messages, mantle" in caught.value.hint


def test_settings_default_to_auto_and_mantle_needs_its_own_action():
    assert ProviderSettings(kind="bedrock").bedrock_integration == "auto"
    assert INTEGRATION_ACTIONS["mantle"] == ("bedrock-mantle:CreateInference",)
