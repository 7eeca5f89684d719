"""One model-ID parser: every form parses once, and the catalog and pricing agree on each."""
import pytest

from providers.clients.catalog import load_catalog, profile_scope, strip_profile
from providers.clients.model_ids import GEO_PREFIXES, mantle_id, parse_model_id
from usage.pricing import ParsedModel
from usage.pricing import parse_model_id as price_parse

# (ID, catalog key or None, pricing (base model, Bedrock scope) or None)
FORMS = [
    ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929", ("claude-sonnet-4-5", "in_region")),
    ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", ("claude-sonnet-4-5", "in_region")),
    ("claude-opus-4-0", "claude-opus-4-20250514", ("claude-opus-4", "in_region")),
    ("claude-3-5-haiku-latest", "claude-3-5-haiku-20241022", ("claude-3-5-haiku", "in_region")),
    ("claude-fable-5-2", "claude-fable-5-2", ("claude-fable-5-2", "in_region")),
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929", ("claude-sonnet-4-5", "in_region")),
    ("anthropic.claude-opus-4-6-v1", "claude-opus-4-6", ("claude-opus-4-6", "in_region")),
    ("anthropic.claude-opus-4-5-20251101-v1", "claude-opus-4-5-20251101", ("claude-opus-4-5", "in_region")),
    ("anthropic.claude-sonnet-5-5", "claude-sonnet-5-5", ("claude-sonnet-5-5", "in_region")),  # base and mantle ID
    ("global.anthropic.claude-sonnet-5-5", "claude-sonnet-5-5", ("claude-sonnet-5-5", "global")),
    ("us.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5-20251001", ("claude-haiku-4-5", "geo")),
    ("eu.anthropic.claude-opus-4-7", "claude-opus-4-7", ("claude-opus-4-7", "geo")),
    ("apac.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4-20250514", ("claude-sonnet-4", "geo")),
    ("jp.anthropic.claude-opus-4-8", "claude-opus-4-8", ("claude-opus-4-8", "geo")),
    ("au.anthropic.claude-sonnet-4-6", "claude-sonnet-4-6", ("claude-sonnet-4-6", "geo")),
    ("us-gov.anthropic.claude-3-7-sonnet-20250219-v1:0", None, ("claude-3-7-sonnet", "geo")),
    ("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4-5-20251101-v1:0",
     "claude-opus-4-5-20251101", ("claude-opus-4-5", "in_region")),
    ("arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-haiku-4-5-20251001-v1:0",
     "claude-haiku-4-5-20251001", ("claude-haiku-4-5", "geo")),
    ("arn:aws-us-gov:bedrock:us-gov-west-1:123456789012:inference-profile/us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0",
     "claude-sonnet-4-5-20250929", ("claude-sonnet-4-5", "geo")),
    # No Canadian profile exists: `ca.` is not a prefix, so the ID is nobody's Claude model (decided once, here).
    ("ca.anthropic.claude-sonnet-4-5-20250929-v1:0", None, None),
    ("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc", None, None),
    ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123", None, None),
    ("meta.llama3-70b-instruct-v1:0", None, None),
    ("gpt-4o", None, None),
    ("", None, None),
]


@pytest.mark.parametrize(("model_id", "catalog_key", "priced"), FORMS)
def test_catalog_and_pricing_read_every_form_the_same_way(model_id, catalog_key, priced):
    model = load_catalog().model(model_id)
    assert (model.key if model else None) == catalog_key
    bedrock = price_parse("bedrock", model_id)
    assert bedrock == (ParsedModel(*priced) if priced else None)
    for kind in ("anthropic", "aws_platform"):
        on_api = price_parse(kind, model_id)
        assert on_api == (ParsedModel(priced[0], "standard") if priced else None), kind
    parsed = parse_model_id(model_id)
    if catalog_key:  # the base name pricing uses is the catalog model's own
        assert parsed.base_name == price_parse("anthropic", catalog_key).base_model


def test_profile_prefixes_are_one_list():
    assert set(GEO_PREFIXES) == {"us", "eu", "apac", "jp", "au", "us-gov"}
    # Every geo the catalog offers a profile in is a prefix the parser knows.
    catalog = load_catalog()
    used = {geo for model in catalog.models.values() for geo in model.bedrock_profiles} - {"global"}
    assert used <= set(GEO_PREFIXES)
    assert set(catalog.geos) <= set(GEO_PREFIXES)


def test_helpers_keep_their_old_answers():
    assert strip_profile("global.anthropic.claude-opus-4-8") == "anthropic.claude-opus-4-8"
    assert strip_profile("us-gov.anthropic.x") == "anthropic.x"
    assert strip_profile("ca.anthropic.x") == "ca.anthropic.x"
    assert strip_profile("arn:aws:bedrock:us-east-1:1:application-inference-profile/abc") == "abc"
    assert profile_scope("apac.anthropic.x") == "apac"
    assert profile_scope("anthropic.x") == "in_region"
    assert profile_scope("arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.x") == "custom"
    assert mantle_id("claude-opus-5-5") == "anthropic.claude-opus-5-5"


def test_parsed_fields():
    parsed = parse_model_id("arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-opus-4-6-v1")
    assert (parsed.bedrock_id, parsed.api_id, parsed.base_name, parsed.profile, parsed.arn_resource) == (
        "anthropic.claude-opus-4-6-v1", "claude-opus-4-6", "claude-opus-4-6", "us", "inference-profile")
    assert parsed.scope == "us" and parsed.price_scope == "geo"
