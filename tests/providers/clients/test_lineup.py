"""The shipped lineup: every offered model, defaults and fallbacks alive, integrations, capabilities, sources."""
import datetime as dt
import typing

import pytest
from anthropic.types import Model

from providers.clients.catalog import load_catalog, resolve_model_id
from providers.clients.errors import ErrorKind, ProviderError

TODAY = dt.date(2026, 11, 29)
OFFERED = {  # the Claude API and Bedrock lineup as checked on 2026-11-29 (FACTS.md)
    "claude-fable-5-2", "claude-fable-5-1", "claude-fable-5", "claude-opus-5-5", "claude-opus-5",
    "claude-sonnet-5-5", "claude-sonnet-5", "claude-haiku-5-5", "claude-opus-4-8", "claude-opus-4-7",
    "claude-opus-4-6", "claude-opus-4-5-20251101", "claude-sonnet-4-6", "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5-20251001",
}


def sdk_model_names():
    literal = typing.get_args(Model)[0]
    return set(typing.get_args(literal))


def defaults_and_fallbacks():
    catalog = load_catalog()
    return sorted({(name, entry[role]) for name, entry in catalog.logical.items()
                   for role in ("current", "fallback") if entry.get(role)})


def test_every_offered_model_is_in_the_catalog_and_resolves_today():
    catalog = load_catalog()
    for key in OFFERED:
        model = catalog.models[key]
        assert model.lifecycle(TODAY)[0] != "retired", key
        for kind in ("anthropic", "aws_platform", "bedrock"):
            assert resolve_model_id(key, kind, region="us-east-1", today=TODAY).available, (key, kind)


def test_catalog_knows_every_model_the_sdk_lists():
    catalog = load_catalog()
    missing = {name for name in sdk_model_names() if catalog.model(name) is None}
    assert not missing


def test_logical_defaults_are_the_current_lineup():
    catalog = load_catalog()
    assert {name: entry["current"] for name, entry in catalog.logical.items()} == {
        "sonnet": "claude-sonnet-5-5", "haiku": "claude-haiku-5-5", "opus": "claude-opus-5-5",
        "fable": "claude-fable-5-2"}


def retired_defaults(day):
    """(logical name, model, platform) for every default or fallback retired on `day`."""
    catalog = load_catalog()
    return [(name, key, platform) for name, key in defaults_and_fallbacks()
            for platform in ("anthropic", "aws_platform", "bedrock")
            if catalog.models[key].lifecycle(day, platform=platform)[0] == "retired"]


def test_no_default_or_fallback_is_retired_today():
    # The checked date and the real one: this test starts failing the day a default reaches its end.
    assert retired_defaults(TODAY) == []
    assert retired_defaults(dt.date.today()) == []
    for _, key in defaults_and_fallbacks():
        assert load_catalog().models[key].access == "general", key


def test_the_guard_catches_a_fallback_on_its_end_date(monkeypatch):
    catalog = load_catalog()
    monkeypatch.setitem(catalog.logical["sonnet"], "fallback", "claude-sonnet-4-5-20250929")
    assert retired_defaults(dt.date(2026, 11, 29)) == []
    assert {key for _, key, _ in retired_defaults(dt.date(2026, 11, 30))} == {"claude-sonnet-4-5-20250929"}


def test_retired_models_are_recognised_but_never_resolved():
    catalog = load_catalog()
    for model_id in ("claude-sonnet-4-20250514", "claude-opus-4-0", "claude-3-5-haiku-latest",
                     "us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-mythos-preview"):
        model = catalog.model(model_id)
        assert model is not None, model_id
        kind = "bedrock" if model_id.startswith("us.") else "anthropic"
        with pytest.raises(ProviderError) as caught:
            resolve_model_id(model_id, kind, region="us-east-1", today=TODAY)
        assert caught.value.kind is ErrorKind.MODEL_NOT_AVAILABLE


def test_opus_4_1_is_retired_on_the_api_but_served_on_bedrock():
    model = load_catalog().model("claude-opus-4-1")
    assert model.lifecycle(TODAY, platform="anthropic")[0] == "retired"
    assert model.lifecycle(TODAY, platform="bedrock")[0] == "deprecated"
    assert resolve_model_id("claude-opus-4-1", "bedrock", region="us-east-1", today=TODAY).model_id == \
        "us.anthropic.claude-opus-4-1-20250805-v1:0"
    with pytest.raises(ProviderError):
        resolve_model_id("claude-opus-4-1", "anthropic", today=TODAY)


def test_current_models_have_the_5x_limits_and_release_dates():
    catalog = load_catalog()
    for key in ("claude-fable-5-2", "claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"):
        model = catalog.models[key]
        assert (model.context_window, model.max_output_tokens) == (1_000_000, 128_000), key
    assert catalog.models["claude-fable-5-2"].released_on == dt.date(2026, 11, 9)
    assert catalog.models["claude-opus-5-5"].released_on == dt.date(2026, 9, 22)
    assert catalog.models["claude-haiku-5-5"].released_on == dt.date(2026, 10, 7)
    assert catalog.models["claude-opus-4-5-20251101"].released_on == dt.date(2025, 11, 24)
    assert catalog.models["claude-haiku-4-5-20251001"].released_on == dt.date(2025, 10, 15)


def test_mythos_is_listed_for_verified_organisations_only():
    catalog = load_catalog()
    for key in ("claude-mythos-5-2", "claude-mythos-5-1", "claude-mythos-5"):
        assert catalog.models[key].access == "verified_organisations"
        assert catalog.models[key].bedrock_base_id is None
    assert all(not key.startswith("claude-mythos") for _, key in defaults_and_fallbacks())
    resolution = resolve_model_id("claude-mythos-5-2", "bedrock", region="us-east-1", today=TODAY)
    assert resolution.available is False and "not offered on Bedrock" in resolution.note


@pytest.mark.parametrize(("key", "integration"), [
    ("claude-opus-4-6", "invoke"), ("claude-sonnet-4-6", "invoke"), ("claude-haiku-4-5-20251001", "invoke"),
    ("claude-opus-4-5-20251101", "invoke"), ("claude-opus-4-7", "messages"), ("claude-opus-4-8", "messages"),
    ("claude-sonnet-5-5", "messages"), ("claude-haiku-5-5", "messages"), ("claude-fable-5-2", "messages"),
])
def test_bedrock_integration_per_model(key, integration):
    model = load_catalog().models[key]
    assert model.bedrock_integration == integration
    assert (model.mantle_id is not None) == (integration == "messages")
    resolution = resolve_model_id(key, "bedrock", region="us-east-1", today=TODAY)
    assert resolution.integration == integration


def test_mantle_resolves_to_bare_anthropic_ids():
    resolution = resolve_model_id("sonnet", "bedrock", region="us-east-1", integration="mantle", today=TODAY)
    assert (resolution.model_id, resolution.integration) == ("anthropic.claude-sonnet-5-5", "mantle")
    # A legacy-only model is not on mantle: resolved as unavailable, with the reason.
    legacy = resolve_model_id("claude-opus-4-6", "bedrock", region="us-east-1", integration="mantle", today=TODAY)
    assert legacy.available is False and "bedrock-mantle does not serve Claude Opus 4.6" in legacy.note
    assert load_catalog().model("anthropic.claude-sonnet-5-5").key == "claude-sonnet-5-5"


def test_claude_platform_on_aws_takes_claude_api_ids():
    assert resolve_model_id("haiku", "aws_platform", today=TODAY).model_id == "claude-haiku-5-5"
    assert resolve_model_id("global.anthropic.claude-opus-4-6-v1", "aws_platform", today=TODAY).model_id == \
        "claude-opus-4-6"


def test_request_capabilities():
    catalog = load_catalog()
    sonnet55 = catalog.models["claude-sonnet-5-5"].capabilities
    assert sonnet55.refuses == {"thinking_budget", "sampling", "assistant_prefill", "forced_tool_choice",
                                "thinking_disabled"}
    assert "effort" in sonnet55.replacement
    for key in ("claude-sonnet-5", "claude-opus-4-7", "claude-opus-5-5"):
        assert catalog.models[key].capabilities.refuses == {"thinking_budget", "sampling"}, key
    for key in ("claude-sonnet-4-6", "claude-opus-4-6", "claude-haiku-4-5-20251001"):
        assert not catalog.models[key].capabilities.refuses, key


def test_every_fact_has_a_source_and_unverified_bedrock_ids_say_so():
    catalog = load_catalog()
    for key in OFFERED:
        sources = dict(catalog.models[key].sources)
        assert sources.get("bedrock"), key
    for key in ("claude-fable-5-2", "claude-opus-5-5", "claude-haiku-5-5"):
        assert "not verified" in dict(catalog.models[key].sources)["bedrock"], key

