"""Model translation: logical names to provider IDs, profiles by region, lifecycle, fallback."""
import datetime as dt

import pytest
from anthropic._data import DEPRECATED_MODELS

from providers.clients.catalog import (
    iam_policy_for,
    inference_profile_hint,
    load_catalog,
    profile_scope,
    resolve_model_id,
    strip_profile,
)
from providers.clients.errors import ErrorKind, ProviderError

TODAY = dt.date(2026, 11, 26)


def test_every_logical_name_resolves_on_both_providers_today():
    for name in load_catalog().logical_names():
        for kind in ("anthropic", "bedrock"):
            resolution = resolve_model_id(name, kind, region="us-east-1", today=TODAY)
            assert resolution.available is True
            assert resolution.lifecycle_status != "retired"


@pytest.mark.parametrize("region, expected", [
    ("us-east-1", "us.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("eu-west-3", "eu.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("ap-northeast-1", "jp.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("ap-southeast-2", "au.anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("ap-south-1", "global.anthropic.claude-haiku-4-5-20251001-v1:0"),  # no apac profile for Haiku 4.5
])
def test_bedrock_profile_follows_the_region(region, expected):
    assert resolve_model_id("claude-haiku-4-5", "bedrock", region=region, today=TODAY).model_id == expected


def test_geo_preference_global_and_explicit_inference_profile():
    assert resolve_model_id("sonnet", "bedrock", region="eu-west-1", geo_preference="global",
                            today=TODAY).model_id == "global.anthropic.claude-sonnet-5-5"
    assert resolve_model_id("claude-sonnet-4-6", "bedrock", region="eu-west-1", geo_preference="global",
                            today=TODAY).model_id == "global.anthropic.claude-sonnet-4-6"
    assert resolve_model_id("sonnet", "bedrock", region="eu-west-1", inference_profile="global",
                            today=TODAY).scope == "global"
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    resolution = resolve_model_id("sonnet", "bedrock", region="us-east-1", inference_profile=arn, today=TODAY)
    assert (resolution.model_id, resolution.scope) == (arn, "custom")


def test_profile_only_base_id_resolves_to_a_profile():
    # Haiku 4.5 is served on demand only through inference profiles.
    resolution = resolve_model_id("anthropic.claude-haiku-4-5-20251001-v1:0", "bedrock", region="us-west-2",
                                  today=TODAY)
    assert resolution.model_id == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert inference_profile_hint("anthropic.claude-haiku-4-5-20251001-v1:0", "eu-central-1") == \
        "eu.anthropic.claude-haiku-4-5-20251001-v1:0"


def test_in_region_base_id_is_kept_where_bedrock_serves_it_on_demand():
    # Haiku 3.5, while Bedrock still served it (it ended there on 2026-06-19).
    resolution = resolve_model_id("anthropic.claude-3-5-haiku-20241022-v1:0", "bedrock", region="us-west-2",
                                  geo_preference="in_region", today=dt.date(2026, 6, 1))
    assert resolution.model_id == "anthropic.claude-3-5-haiku-20241022-v1:0"
    with pytest.raises(ProviderError) as caught:
        resolve_model_id("anthropic.claude-3-5-haiku-20241022-v1:0", "bedrock", region="us-west-2", today=TODAY)
    assert "2026-06-19" in caught.value.message


def test_ids_translate_between_providers():
    assert resolve_model_id("claude-sonnet-4-5-20250929", "bedrock", region="us-east-2", today=TODAY).model_id == \
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert resolve_model_id("eu.anthropic.claude-haiku-4-5-20251001-v1:0", "anthropic", today=TODAY).model_id == \
        "claude-haiku-4-5-20251001"


def test_operator_mapping_overrides_the_catalog():
    mapping = {"sonnet": "claude-sonnet-4-6", "fast": "claude-haiku-4-5"}
    assert resolve_model_id("sonnet", "anthropic", mapping=mapping, today=TODAY).model_id == "claude-sonnet-4-6"
    custom = resolve_model_id("fast", "anthropic", mapping=mapping, today=TODAY)
    assert (custom.model_id, custom.logical) == ("claude-haiku-4-5", "fast")


def test_near_end_of_life_is_flagged_and_retired_is_never_resolved():
    near = resolve_model_id("claude-sonnet-4-5", "anthropic", today=TODAY)
    assert near.lifecycle_status == "near_end_of_life"
    assert "2026-11-30" in near.lifecycle_message
    with pytest.raises(ProviderError) as caught:
        resolve_model_id("claude-sonnet-4-5", "anthropic", today=dt.date(2026, 12, 1))
    assert caught.value.kind is ErrorKind.MODEL_NOT_AVAILABLE
    assert "sonnet" in caught.value.hint


def test_logical_name_skips_a_retired_current_version(monkeypatch):
    catalog = load_catalog()
    monkeypatch.setitem(catalog.logical["sonnet"], "current", "claude-sonnet-4-5-20250929")
    resolution = resolve_model_id("sonnet", "anthropic", today=dt.date(2026, 12, 1))
    assert resolution.model_id == catalog.logical["sonnet"]["fallback"] == "claude-sonnet-5"
    assert resolution.fallback_used and "retired" in resolution.note


def test_fallback_model_when_the_primary_is_not_available_in_the_region():
    available = {"us.anthropic.claude-sonnet-5"}  # what the control plane lists: no Sonnet 5.5 profile
    resolution = resolve_model_id("sonnet", "bedrock", region="us-east-1", available=available, today=TODAY)
    assert resolution.model_id == "us.anthropic.claude-sonnet-5"
    assert resolution.fallback_used


def test_nothing_available_raises_model_not_available_naming_the_region():
    with pytest.raises(ProviderError) as caught:
        resolve_model_id("opus", "bedrock", region="eu-west-1", available=set(), today=TODAY)
    assert caught.value.kind is ErrorKind.MODEL_NOT_AVAILABLE
    assert "eu-west-1" in caught.value.message


def test_catalog_agrees_with_the_sdk_deprecation_list():
    catalog = load_catalog()
    for model_id, end_of_life in DEPRECATED_MODELS.items():
        model = catalog.model(model_id)
        if model is None:
            continue  # the SDK knows models the catalog does not ship (previews)
        assert model.deprecated, model_id
        parsed = dt.datetime.strptime(end_of_life.replace("st,", ",").replace("nd,", ",").replace("rd,", ",")
                                      .replace("th,", ","), "%B %d, %Y").date()
        assert model.retires_on == parsed, model_id


def test_profile_helpers():
    assert strip_profile("global.anthropic.claude-opus-4-8") == "anthropic.claude-opus-4-8"
    assert strip_profile("anthropic.claude-opus-4-8") == "anthropic.claude-opus-4-8"
    assert profile_scope("apac.anthropic.x") == "apac"
    assert profile_scope("anthropic.x") == "in_region"


def test_iam_policy_covers_profile_and_underlying_models():
    policy = iam_policy_for({"bedrock:InvokeModel", "bedrock:CallWithBearerToken"},
                            ["us.anthropic.claude-haiku-4-5-20251001-v1:0"], "us-east-1")
    invoke, bearer = policy["Statement"]
    assert invoke["Action"] == ["bedrock:InvokeModel"]
    assert "arn:aws:bedrock:us-east-1:*:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0" in invoke["Resource"]
    assert "arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0" in invoke["Resource"]
    assert bearer["Action"] == ["bedrock:CallWithBearerToken"]
