"""Which Claude models Bedrock serves where, and how (on demand, or only through inference profiles).

The table is an approximation of the real regional availability, enough to exercise the real
failure modes: model not in region, base id that needs a profile, profile not offered in region.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Cross-region inference profile prefixes and the source regions allowed to call them.
GEOS: dict[str, tuple[str, ...]] = {
    "us": ("us-east-1", "us-east-2", "us-west-2"),
    "eu": ("eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"),
    "apac": ("ap-northeast-1", "ap-northeast-2", "ap-southeast-1", "ap-southeast-2", "ap-south-1"),
    "jp": ("ap-northeast-1",),
    "au": ("ap-southeast-2",),
}
GEOS["global"] = tuple(sorted({r for regions in GEOS.values() for r in regions}))
GEO_LABELS = {"us": "US", "eu": "EU", "apac": "APAC", "jp": "JP", "au": "AU", "global": "Global"}

# Base model id -> facts. "on_demand_regions": where the base id itself is invocable; "messages_api": served
# by the Messages API integration (bedrock-runtime /anthropic and bedrock-mantle), Opus 4.7 and later.
BEDROCK_MODELS: dict[str, dict[str, Any]] = {
    # Newer models drop the ":0" suffix (and some the "-v1" too).
    "anthropic.claude-fable-5-2": {"name": "Claude Fable 5.2", "anthropic_id": "claude-fable-5-2", "messages_api": True, "profiles": ("global",)},
    "anthropic.claude-fable-5-1": {"name": "Claude Fable 5.1", "anthropic_id": "claude-fable-5-1", "messages_api": True, "profiles": ("global",)},
    "anthropic.claude-opus-5-5": {"name": "Claude Opus 5.5", "anthropic_id": "claude-opus-5-5", "messages_api": True, "profiles": ("global",)},
    "anthropic.claude-sonnet-5-5": {
        "name": "Claude Sonnet 5.5", "anthropic_id": "claude-sonnet-5-5", "messages_api": True, "profiles": ("global",)},
    "anthropic.claude-haiku-5-5": {"name": "Claude Haiku 5.5", "anthropic_id": "claude-haiku-5-5", "messages_api": True, "profiles": ("global",)},
    "anthropic.claude-opus-5": {"name": "Claude Opus 5", "anthropic_id": "claude-opus-5", "messages_api": True, "profiles": ("global", "us", "eu")},
    "anthropic.claude-sonnet-5": {
        "name": "Claude Sonnet 5", "anthropic_id": "claude-sonnet-5", "messages_api": True, "profiles": ("global", "us", "eu", "jp", "au")},
    "anthropic.claude-opus-4-8": {
        "name": "Claude Opus 4.8", "anthropic_id": "claude-opus-4-8", "messages_api": True, "profiles": ("global", "us", "eu", "jp", "au")},
    "anthropic.claude-opus-4-7": {
        "name": "Claude Opus 4.7", "anthropic_id": "claude-opus-4-7", "messages_api": True, "profiles": ("global", "us", "eu", "jp")},
    "anthropic.claude-opus-4-6-v1": {
        "name": "Claude Opus 4.6", "anthropic_id": "claude-opus-4-6", "profiles": ("global", "us", "eu", "au")},
    "anthropic.claude-sonnet-4-6": {
        "name": "Claude Sonnet 4.6", "anthropic_id": "claude-sonnet-4-6", "profiles": ("global", "us", "eu", "jp", "au")},
    "anthropic.claude-opus-4-5-20251101-v1:0": {
        "name": "Claude Opus 4.5",
        "anthropic_id": "claude-opus-4-5-20251101",
        "profiles": ("global", "us"),
    },
    "anthropic.claude-haiku-4-5-20251001-v1:0": {
        "name": "Claude Haiku 4.5",
        "anthropic_id": "claude-haiku-4-5-20251001",
        "profiles": ("global", "us", "eu", "jp", "au"),
    },
    "anthropic.claude-sonnet-4-5-20250929-v1:0": {
        "name": "Claude Sonnet 4.5",
        "anthropic_id": "claude-sonnet-4-5-20250929",
        "profiles": ("global", "us", "eu", "jp", "au"),
    },
    "anthropic.claude-opus-4-1-20250805-v1:0": {
        "name": "Claude Opus 4.1",
        "anthropic_id": "claude-opus-4-1-20250805",
        "profiles": ("us",),
    },
    "anthropic.claude-sonnet-4-20250514-v1:0": {
        "name": "Claude Sonnet 4",
        "anthropic_id": "claude-sonnet-4-20250514",
        "profiles": ("global", "us", "eu", "apac"),
    },
    "anthropic.claude-3-5-haiku-20241022-v1:0": {
        "name": "Claude 3.5 Haiku",
        "anthropic_id": "claude-3-5-haiku-20241022",
        "profiles": ("us",),
        "on_demand_regions": ("us-west-2",),
        "lifecycle": "LEGACY",
        "input_modalities": ("TEXT",),
    },
}

INVALID_MODEL = "The provided model identifier is invalid."


def on_demand_message(model_id: str) -> str:
    return (
        f"Invocation of model ID {model_id} with on-demand throughput isn't supported. Retry your request with "
        "the ID or ARN of an inference profile that contains this model."
    )


class CatalogError(Exception):
    pass


@dataclass
class Target:
    """What a modelId in a URL points at."""

    model_id: str  # base model id
    profile_id: str | None
    resource_arn: str  # what IAM evaluates; named in AccessDenied messages


class Catalog:
    def __init__(
        self,
        account_id: str,
        models: Mapping[str, Mapping[str, Any]] | None = None,
        region_models: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.account_id = account_id
        # Application inference profiles (CreateInferenceProfile): id -> the model or system profile it copies.
        self.application_profiles: dict[str, str] = {}
        self.models = {k: dict(v) for k, v in (models or BEDROCK_MODELS).items()}
        self._region_models = {r: set(ids) for r, ids in region_models.items()} if region_models is not None else None
        self.regions = (
            frozenset(self._region_models)
            if self._region_models is not None
            else frozenset(
                set(GEOS["global"]) | {r for m in self.models.values() for r in m.get("on_demand_regions", ())}
            )
        )

    # -- availability --------------------------------------------------------
    def available(self, model_id: str, region: str) -> bool:
        if model_id not in self.models:
            return False
        if self._region_models is not None:
            return model_id in self._region_models.get(region, ())
        m = self.models[model_id]
        return region in m.get("on_demand_regions", ()) or any(region in GEOS[g] for g in m.get("profiles", ()))

    def on_demand(self, model_id: str, region: str) -> bool:
        return self.available(model_id, region) and region in self.models[model_id].get("on_demand_regions", ())

    def profile_ok(self, geo: str, model_id: str, region: str) -> bool:
        m = self.models.get(model_id)
        return (
            bool(m)
            and geo in m.get("profiles", ())
            and region in GEOS.get(geo, ())
            and self.available(model_id, region)
        )

    # -- identifiers ---------------------------------------------------------
    def model_arn(self, model_id: str, region: str) -> str:
        return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"

    def profile_arn(self, profile_id: str, region: str) -> str:
        return f"arn:aws:bedrock:{region}:{self.account_id}:inference-profile/{profile_id}"

    def parse(self, identifier: str, region: str) -> Target:
        """Syntactic resolution only (IAM runs before availability checks)."""
        if identifier.startswith("arn:"):
            parts = identifier.split(":", 5)
            if len(parts) != 6 or parts[2] != "bedrock" or "/" not in parts[5]:
                raise CatalogError(INVALID_MODEL)
            kind, _, rid = parts[5].partition("/")
            if kind == "application-inference-profile":
                source = self.application_profiles.get(rid)
                if source is None or parts[3] != region or parts[4] != self.account_id:
                    raise CatalogError(INVALID_MODEL)
                inner = self.parse(source, region)
                return Target(inner.model_id, inner.profile_id, identifier)
            if parts[3] != region or kind not in ("foundation-model", "inference-profile"):
                raise CatalogError(INVALID_MODEL)
            if kind == "inference-profile" and parts[4] != self.account_id:
                raise CatalogError(INVALID_MODEL)
            return self.parse(rid, region) if kind == "inference-profile" else Target(rid, None, identifier)
        geo, _, rest = identifier.partition(".")
        if geo in GEOS and rest:
            return Target(rest, identifier, self.profile_arn(identifier, region))
        return Target(identifier, None, self.model_arn(identifier, region))

    def check_invocable(self, target: Target, region: str) -> None:
        if target.profile_id is not None:
            geo = target.profile_id.partition(".")[0]
            if not self.profile_ok(geo, target.model_id, region):
                raise CatalogError(INVALID_MODEL)
        elif not self.available(target.model_id, region):
            raise CatalogError(INVALID_MODEL)
        elif not self.on_demand(target.model_id, region):
            raise CatalogError(on_demand_message(target.model_id))

    # -- control-plane views ---------------------------------------------------
    def model_summary(self, model_id: str, region: str) -> dict[str, Any]:
        m = self.models[model_id]
        return {
            "modelArn": self.model_arn(model_id, region),
            "modelId": model_id,
            "modelName": m["name"],
            "providerName": "Anthropic",
            "inputModalities": list(m.get("input_modalities", ("TEXT", "IMAGE"))),
            "outputModalities": ["TEXT"],
            "responseStreamingSupported": True,
            "customizationsSupported": [],
            "inferenceTypesSupported": ["ON_DEMAND"] if self.on_demand(model_id, region) else ["INFERENCE_PROFILE"],
            "modelLifecycle": {"status": m.get("lifecycle", "ACTIVE")},
        }

    def foundation_models(self, region: str) -> list[dict[str, Any]]:
        return [self.model_summary(mid, region) for mid in self.models if self.available(mid, region)]

    def profile(self, profile_id: str, region: str) -> dict[str, Any] | None:
        geo, _, model_id = profile_id.partition(".")
        if not self.profile_ok(geo, model_id, region):
            return None
        name = self.models[model_id]["name"]
        dests = GEOS[geo]
        arns = (
            [self.model_arn(model_id, d) for d in dests]
            if geo != "global"
            else [self.model_arn(model_id, region), f"arn:aws:bedrock:::foundation-model/{model_id}"]
        )
        return {
            "inferenceProfileName": f"{GEO_LABELS.get(geo, geo.upper())} Anthropic {name}",
            "description": f"Routes requests to Anthropic {name} in {', '.join(dests) if geo != 'global' else 'all commercial regions'}.",
            "createdAt": "2025-01-01T00:00:00Z",
            "updatedAt": "2025-01-01T00:00:00Z",
            "inferenceProfileArn": self.profile_arn(profile_id, region),
            "models": [{"modelArn": a} for a in arns],
            "inferenceProfileId": profile_id,
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        }

    def application_profile_arn(self, profile_id: str, region: str) -> str:
        return f"arn:aws:bedrock:{region}:{self.account_id}:application-inference-profile/{profile_id}"

    def application_profile(self, profile_id: str, region: str) -> dict[str, Any] | None:
        source = self.application_profiles.get(profile_id)
        if source is None:
            return None
        copied = self.profile(source, region) if source.partition(".")[0] in GEOS else None
        target = self.parse(source, region)
        models = copied["models"] if copied else [{"modelArn": self.model_arn(target.model_id, region)}]
        return {
            "inferenceProfileName": f"app-{profile_id}", "description": f"Copies {source}.",
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
            "inferenceProfileArn": self.application_profile_arn(profile_id, region), "models": models,
            "inferenceProfileId": profile_id, "status": "ACTIVE", "type": "APPLICATION",
        }

    def profiles(self, region: str) -> list[dict[str, Any]]:
        out = []
        for model_id, m in self.models.items():
            for geo in m.get("profiles", ()):
                summary = self.profile(f"{geo}.{model_id}", region)
                if summary is not None:
                    out.append(summary)
        return out
