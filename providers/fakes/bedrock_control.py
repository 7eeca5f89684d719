"""Bedrock control plane (boto3 client "bedrock"): foundation models and inference profiles."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from .aws_errors import AwsError, validation_error

if TYPE_CHECKING:
    from .bedrock_fake import Call, FakeBedrock
    from .exchange import Exchange


def _not_found(message: str) -> AwsError:
    return AwsError(404, "ResourceNotFoundException", message)


def handle(fake: FakeBedrock, ex: Exchange, call: Call) -> None:
    parts = [unquote(p) for p in ex.raw_path.split("/")[1:]]
    ident = parts[1] if len(parts) > 1 and parts[1] else None
    headers = {"x-amzn-RequestId": ex.request_id}
    catalog, region = fake.catalog, call.region

    if parts[0] == "foundation-models":
        if ident is not None:
            model_id = ident.rsplit("/", 1)[-1] if ident.startswith("arn:") else ident
            if not catalog.available(model_id, region):
                raise _not_found("The requested resource does not exist. Check the resource identifier and retry.")
            return ex.send_json(200, {"modelDetails": catalog.model_summary(model_id, region)}, headers)
        models = catalog.foundation_models(region)
        provider = ex.query_one("byProvider")
        if provider:
            models = [m for m in models if m["providerName"].lower() == provider.lower()]
        inference = ex.query_one("byInferenceType")
        if inference:
            models = [m for m in models if inference in m["inferenceTypesSupported"]]
        modality = ex.query_one("byOutputModality")
        if modality:
            models = [m for m in models if modality in m["outputModalities"]]
        if ex.query_one("byCustomizationType"):
            models = [m for m in models if ex.query_one("byCustomizationType") in m["customizationsSupported"]]
        return ex.send_json(200, {"modelSummaries": models}, headers)

    if ident is not None:
        profile_id = ident.rsplit("/", 1)[-1] if ident.startswith("arn:") else ident
        profile = (catalog.application_profile(profile_id, region)
                   if ":application-inference-profile/" in ident or profile_id in catalog.application_profiles
                   else catalog.profile(profile_id, region))
        if profile is None:
            raise _not_found("The specified inference profile does not exist.")
        return ex.send_json(200, profile, headers)
    profiles = catalog.profiles(region)
    if ex.query_one("type") == "APPLICATION":
        profiles = [p for pid in catalog.application_profiles if (p := catalog.application_profile(pid, region))]
    try:
        start = int(ex.query_one("nextToken") or 0)
        size = int(ex.query_one("maxResults") or 1000)
    except ValueError:
        raise validation_error("Invalid pagination token") from None
    if not 1 <= size <= 1000:
        raise validation_error(
            "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: "
            "Member must have value between 1 and 1000"
        )
    page = profiles[start : start + size]
    body: dict = {"inferenceProfileSummaries": page}
    if start + size < len(profiles):
        body["nextToken"] = str(start + size)
    ex.send_json(200, body, headers)
