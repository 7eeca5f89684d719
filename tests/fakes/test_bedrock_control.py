"""Bedrock control plane (boto3 client "bedrock") against FakeBedrock."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from providers.fakes import FakeBedrock

from .conftest import ACCOUNT, AKID, SECRET, boto_client

SONNET45 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
OPUS45 = "anthropic.claude-opus-4-5-20251101-v1:0"
HAIKU35 = "anthropic.claude-3-5-haiku-20241022-v1:0"


def test_list_foundation_models_shapes_and_filters(fake_bedrock):
    west = boto_client("bedrock", fake_bedrock, region="us-west-2")
    models = {m["modelId"]: m for m in west.list_foundation_models(byProvider="anthropic")["modelSummaries"]}
    assert {SONNET45, OPUS45, HAIKU35, "anthropic.claude-opus-4-1-20250805-v1:0"} <= set(models)
    sonnet = models[SONNET45]
    assert sonnet["modelArn"] == f"arn:aws:bedrock:us-west-2::foundation-model/{SONNET45}"
    assert sonnet["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]
    assert sonnet["providerName"] == "Anthropic" and sonnet["outputModalities"] == ["TEXT"]
    assert sonnet["responseStreamingSupported"] is True and sonnet["modelLifecycle"] == {"status": "ACTIVE"}
    assert models[HAIKU35]["inferenceTypesSupported"] == ["ON_DEMAND"]
    assert models[HAIKU35]["modelLifecycle"]["status"] == "LEGACY"
    on_demand = west.list_foundation_models(byInferenceType="ON_DEMAND")["modelSummaries"]
    assert [m["modelId"] for m in on_demand] == [HAIKU35]
    assert west.list_foundation_models(byProvider="Meta")["modelSummaries"] == []
    eu = boto_client("bedrock", fake_bedrock, region="eu-west-3")
    eu_ids = {m["modelId"] for m in eu.list_foundation_models()["modelSummaries"]}
    assert SONNET45 in eu_ids and "anthropic.claude-opus-4-1-20250805-v1:0" not in eu_ids


def test_get_foundation_model(fake_bedrock):
    bedrock = boto_client("bedrock", fake_bedrock)
    details = bedrock.get_foundation_model(modelIdentifier=SONNET45)["modelDetails"]
    assert details["modelName"] == "Claude Sonnet 4.5"
    with pytest.raises(ClientError) as exc:
        bedrock.get_foundation_model(modelIdentifier="anthropic.claude-nope-v1:0")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_list_inference_profiles_paginates(fake_bedrock):
    bedrock = boto_client("bedrock", fake_bedrock)
    pages = list(bedrock.get_paginator("list_inference_profiles").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) > 2 and all(len(p["inferenceProfileSummaries"]) <= 2 for p in pages)
    profiles = {p["inferenceProfileId"]: p for page in pages for p in page["inferenceProfileSummaries"]}
    assert {f"us.{OPUS45}", f"global.{OPUS45}"} <= set(profiles)
    assert not any(pid.endswith(OPUS45) and pid.split(".")[0] not in ("us", "global") for pid in profiles)
    assert f"eu.{SONNET45}" not in profiles  # eu.* is not callable from us-east-1
    us = profiles[f"us.{SONNET45}"]
    assert us["inferenceProfileArn"] == f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.{SONNET45}"
    assert (us["status"], us["type"]) == ("ACTIVE", "SYSTEM_DEFINED")
    assert {m["modelArn"].split(":")[3] for m in us["models"]} == {"us-east-1", "us-east-2", "us-west-2"}
    assert us["createdAt"].year >= 2024 and us["inferenceProfileName"] == "US Anthropic Claude Sonnet 4.5"


def test_get_inference_profile(fake_bedrock):
    bedrock = boto_client("bedrock", fake_bedrock, region="ap-northeast-1")
    profile = bedrock.get_inference_profile(inferenceProfileIdentifier=f"jp.{SONNET45}")
    assert profile["inferenceProfileId"] == f"jp.{SONNET45}"
    assert profile["models"] == [{"modelArn": f"arn:aws:bedrock:ap-northeast-1::foundation-model/{SONNET45}"}]
    with pytest.raises(ClientError) as exc:
        bedrock.get_inference_profile(inferenceProfileIdentifier=f"us.{SONNET45}")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_control_plane_respects_denied_actions():
    with FakeBedrock(credentials={AKID: SECRET}, denied_actions={"bedrock:ListInferenceProfiles"}) as server:
        bedrock = boto_client("bedrock", server)
        assert bedrock.list_foundation_models()["modelSummaries"]
        with pytest.raises(ClientError) as exc:
            bedrock.list_inference_profiles()
        assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "bedrock:ListInferenceProfiles" in exc.value.response["Error"]["Message"]
