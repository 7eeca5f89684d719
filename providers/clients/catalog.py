"""The model catalog and model translation.

Logical names (sonnet, haiku, opus, fable, and any the operator adds through a
mapping) resolve to a provider model ID. On Bedrock that means choosing between
a base model ID and an inference profile (us., eu., apac., jp., au., global.)
by region and geo preference, skipping retired models, and falling back when
the primary model is not available in the region. Each model also records the
Bedrock integration it is documented for (legacy InvokeModel, the Messages API
on bedrock-runtime, bedrock-mantle) and the request settings it refuses (see
adaptation.py). Model IDs are parsed by model_ids.py only.
"""
import datetime as dt
import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.model_ids import PROFILE_PREFIXES, mantle_id, parse_model_id, profile_scope, strip_profile
from providers.clients.registry import kinds_where

CATALOG_PATH = Path(__file__).with_name("catalog.json")
# Provider kinds that take Claude API model IDs (Claude Platform on AWS runs the Claude API).
API_ID_KINDS = kinds_where(model_family="anthropic")
BEDROCK_INTEGRATIONS = ("invoke", "messages", "mantle")
# Request settings a model may refuse (the names adaptation.py acts on).
REQUEST_SETTINGS = ("thinking_budget", "sampling", "assistant_prefill", "forced_tool_choice", "thinking_disabled")

__all__ = ["API_ID_KINDS", "Catalog", "ModelInfo", "PROFILE_PREFIXES", "RequestCapabilities", "Resolution",
           "bedrock_regions", "inference_profile_hint", "load_catalog", "profile_scope", "resolve_model_id",
           "strip_profile"]


@dataclass(frozen=True)
class RequestCapabilities:
    """Which request settings a model answers 400 to, and what replaces them."""

    name: str = "classic"
    refuses: frozenset = frozenset()
    replacement: str = ""
    note: str = ""

    def accepts(self, setting):
        return setting not in self.refuses


@dataclass(frozen=True)
class ModelInfo:
    key: str  # the Anthropic API model ID
    family: str
    display_name: str
    aliases: tuple
    bedrock_base_id: str | None
    bedrock_on_demand_regions: tuple
    bedrock_profiles: tuple
    context_window: int
    max_output_tokens: int
    extended_thinking: bool
    deprecated: bool = False
    retires_on: dt.date | None = None  # on the Claude API (and Claude Platform on AWS)
    note: str = ""
    released_on: dt.date | None = None  # None: not verified (see sources)
    bedrock_retires_on: dt.date | None = None  # Bedrock's own date when it differs; None: the API date
    retired_without_date: bool = False  # retired on the Claude API on a date not verified here
    bedrock_integration: str | None = None  # invoke | messages (see catalog.json bedrock_integrations)
    bedrock_mantle: bool = False  # bedrock-mantle serves it (as mantle_id)
    access: str = "general"  # or verified_organisations
    capabilities: RequestCapabilities = RequestCapabilities()
    sources: tuple = ()  # (fact, source) pairs

    @property
    def mantle_id(self):
        return mantle_id(self.key) if self.bedrock_mantle else None

    def retirement_date(self, platform=None):
        """The end-of-life date on a platform (a provider kind); None when none is set."""
        if platform == "bedrock" and self.bedrock_retires_on:
            return self.bedrock_retires_on
        return self.retires_on

    def lifecycle(self, today=None, near_days=30, platform=None):
        """(status, message): active, deprecated, near_end_of_life or retired, on `platform` (default: the API)."""
        today = today or dt.date.today()
        retires_on = self.retirement_date(platform)
        if self.retired_without_date and platform != "bedrock":
            return "retired", f"{self.display_name} is retired on the Claude API."
        if retires_on and retires_on <= today:
            return "retired", f"{self.display_name} was retired on {retires_on}."
        if retires_on and (retires_on - today).days <= near_days:
            days = (retires_on - today).days
            return "near_end_of_life", f"{self.display_name} reaches end of life on {retires_on} (in {days} day{'' if days == 1 else 's'})."
        if self.deprecated:
            when = f" and retires on {retires_on}" if retires_on else ""
            return "deprecated", f"{self.display_name} is deprecated{when}."
        return "active", ""


@dataclass(frozen=True)
class Resolution:
    model_id: str  # what to send to the provider
    logical: str | None
    catalog_key: str | None  # the Anthropic ID of the underlying model, when known
    base_model_id: str | None  # on Bedrock, the foundation model behind a profile
    scope: str  # "anthropic", "in_region", a geo ("us", "eu", ...), "global", or "custom"
    available: bool | None  # None when availability is unknown
    lifecycle_status: str = "active"
    lifecycle_message: str = ""
    fallback_used: bool = False
    note: str = ""
    integration: str | None = None  # on Bedrock: invoke, messages or mantle; None elsewhere or unknown
    adaptations: tuple = ()  # request settings changed to suit this model (set by the client)
    # For an operator's profile (an application inference profile ARN): the model ID it is priced as,
    # from GetInferenceProfile (a geo or global profile ID when it spans regions).
    profile_target: str | None = None


class Catalog:
    def __init__(self, data):
        self.as_of = data["as_of"]
        self.near_days = data.get("near_end_of_life_days", 30)
        self.geos = {geo: tuple(regions) for geo, regions in data["geos"].items()}
        self.region_geo_preference = data.get("region_geo_preference", {})
        self.logical = data["logical_models"]
        self.integrations = data.get("bedrock_integrations", {})
        self.capability_sets = {name: _capabilities(name, raw)
                                for name, raw in data.get("request_capabilities", {}).items()}
        self.models = {key: _model_info(key, raw, self.capability_sets) for key, raw in data["models"].items()}
        self._by_alias = {alias: m for m in self.models.values() for alias in (m.key, *m.aliases)}
        self._by_bedrock = {m.bedrock_base_id: m for m in self.models.values() if m.bedrock_base_id}
        self._by_mantle = {m.mantle_id: m for m in self.models.values() if m.mantle_id}

    def logical_names(self):
        return list(self.logical)

    def regions(self):
        return sorted({r for geo, regions in self.geos.items() if geo != "us-gov" for r in regions})

    def geos_for_region(self, region):
        preferred = self.region_geo_preference.get(region)
        if preferred:
            return list(preferred)
        return [geo for geo, regions in self.geos.items() if region in regions]

    def model(self, model_id):
        """The catalog entry for an Anthropic ID, alias, Bedrock base, profile or mantle ID, or a model ARN."""
        if model_id in self._by_alias:
            return self._by_alias[model_id]
        parsed = parse_model_id(model_id)
        if parsed is None or not parsed.is_claude:
            return None
        if parsed.bedrock_id:
            found = self._by_bedrock.get(parsed.bedrock_id) or self._by_mantle.get(parsed.bedrock_id)
            return found or self._by_alias.get(parsed.api_id)
        return self._by_alias.get(parsed.api_id)

    def successor(self, model):
        """The current model of `model`'s logical name (its family), or None when it is that model."""
        for name, entry in self.logical.items():
            if model.key in entry["versions"] or model.family == name:
                current = self.models.get(entry["current"])
                return current if current is not None and current.key != model.key else None
        return None

    def versions(self, logical):
        entry = self.logical[logical]
        ordered = [entry["current"], *[v for v in entry["versions"] if v != entry["current"]]]
        if entry.get("fallback") in ordered:
            ordered.remove(entry["fallback"])
            ordered.insert(1, entry["fallback"])
        return [self.models[v] for v in ordered if v in self.models]

    def bedrock_served_in(self, model, region):
        """Scopes through which Bedrock serves the model to callers in region."""
        scopes = []
        region_geos = self.geos_for_region(region)
        for geo in region_geos:
            if geo in model.bedrock_profiles:
                scopes.append(geo)
        if "global" in model.bedrock_profiles and "us-gov" not in region_geos:
            scopes.append("global")
        if region in model.bedrock_on_demand_regions:
            scopes.append("in_region")
        return scopes


def _date(value):
    return dt.date.fromisoformat(value) if value else None


def _capabilities(name, raw):
    unknown = set(raw.get("refuses", ())) - set(REQUEST_SETTINGS)
    if unknown:
        raise ValueError(f"catalog.json: capability set {name!r} names unknown settings {sorted(unknown)}.")
    return RequestCapabilities(name=name, refuses=frozenset(raw.get("refuses", ())),
                               replacement=raw.get("replacement", ""), note=raw.get("note", ""))


def _model_info(key, raw, capability_sets):
    integration = raw.get("bedrock_integration")
    if integration is not None and integration not in BEDROCK_INTEGRATIONS:
        raise ValueError(f"catalog.json: {key} has an unknown bedrock_integration {integration!r}.")
    return ModelInfo(
        key=key,
        family=raw["family"],
        display_name=raw["display_name"],
        aliases=tuple(raw.get("aliases", ())),
        bedrock_base_id=raw.get("bedrock_base_id"),
        bedrock_on_demand_regions=tuple(raw.get("bedrock_on_demand_regions", ())),
        bedrock_profiles=tuple(raw.get("bedrock_profiles", ())),
        context_window=raw.get("context_window", 200000),
        max_output_tokens=raw.get("max_output_tokens", 8192),
        extended_thinking=raw.get("extended_thinking", False),
        deprecated=raw.get("deprecated", False),
        retires_on=_date(raw.get("retires_on")),
        note=raw.get("note", ""),
        released_on=_date(raw.get("released_on")),
        bedrock_retires_on=_date(raw.get("bedrock_retires_on")),
        retired_without_date=raw.get("retired_without_date", False),
        bedrock_integration=integration,
        bedrock_mantle=raw.get("bedrock_mantle", False),
        access=raw.get("access", "general"),
        capabilities=capability_sets.get(raw.get("request_capabilities", "classic"), RequestCapabilities()),
        sources=tuple(raw.get("sources", {}).items()),
    )


@lru_cache(maxsize=1)
def load_catalog(path=CATALOG_PATH):
    return Catalog(json.loads(Path(path).read_text()))


def bedrock_regions():
    return load_catalog().regions()


def resolve_model_id(name, kind, *, region=None, geo_preference=None, mapping=None, available=None,
                     inference_profile=None, today=None, integration=None):
    """Resolve a logical name or a model ID to the ID to send to `kind`.

    kind: anthropic, aws_platform (both take Claude API IDs) or bedrock.
    mapping: operator overrides, logical name -> provider model ID.
    available: the IDs the provider serves here (from the control plane), or
    None to rely on the shipped catalog. integration: on Bedrock, "mantle" to
    resolve to bedrock-mantle IDs (`anthropic.<model>`); by default each model's
    documented integration is reported in Resolution.integration.
    Raises ProviderError(MODEL_NOT_AVAILABLE).
    """
    if integration is not None and integration not in BEDROCK_INTEGRATIONS:
        raise ValueError(f"integration must be one of {BEDROCK_INTEGRATIONS}, not {integration!r}.")
    catalog = load_catalog()
    mapping = mapping or {}
    resolver = _Resolver(catalog, kind, region, geo_preference, available, inference_profile, today)
    resolver.mantle = integration == "mantle"
    if mapping.get(name):
        return resolver.explicit(mapping[name], logical=name)
    if name not in catalog.logical:
        return resolver.explicit(name, logical=None)

    entry = catalog.logical[name]
    tried = []
    for candidate_key in (entry["current"], entry.get("fallback")):
        model = catalog.models.get(candidate_key) if candidate_key else None
        if model is None:
            continue
        status, message = model.lifecycle(resolver.today, catalog.near_days, platform=kind)
        if status == "retired":
            tried.append(message)
            continue
        resolution = resolver.for_model(model, logical=name)
        if resolution.available is not False:
            fallback = candidate_key != entry["current"]
            note = f"Fell back to {model.display_name}: {'; '.join(tried)}" if fallback else resolution.note
            return replace(resolution, fallback_used=fallback, note=note)
        tried.append(resolution.note)
    where = f" in {region}" if region else ""
    raise ProviderError(
        ErrorKind.MODEL_NOT_AVAILABLE,
        f"No version of '{name}' is available on {kind}{where}.",
        provider=kind,
        hint=" ".join(tried) + " Map the logical name to a model this provider serves.",
    )


class _Resolver:
    def __init__(self, catalog, kind, region, geo_preference, available, inference_profile, today):
        self.catalog = catalog
        self.kind = kind
        self.region = region or "us-east-1"
        self.available = available
        self.today = today or dt.date.today()
        self.mantle = False
        self.custom_profile = None
        if inference_profile and inference_profile in PROFILE_PREFIXES:
            geo_preference = inference_profile
        elif inference_profile:
            self.custom_profile = inference_profile  # an ID or ARN the operator chose
        self.geo_preference = geo_preference

    def _lifecycle(self, model):
        return model.lifecycle(self.today, self.catalog.near_days, platform=self.kind) if model else ("active", "")

    def explicit(self, model_id, logical):
        """An ID given by the caller or the operator's mapping."""
        model = self.catalog.model(model_id)
        status, message = self._lifecycle(model)
        if status == "retired":
            current = self.catalog.logical.get(model.family, {}).get("current")
            raise ProviderError(ErrorKind.MODEL_NOT_AVAILABLE, message, provider=self.kind,
                                hint=f"Use '{model.family}' (currently {current}) instead.")
        if self.kind in API_ID_KINDS:
            if model and model_id not in (model.key, *model.aliases):
                model_id = model.key  # a Bedrock ID sent to the Claude API
            return self._result(model_id, logical, model, "anthropic")
        if self.mantle and model:
            return self.for_model(model, logical)
        if self.custom_profile and model:
            return self._result(self.custom_profile, logical, model, "custom")
        if model_id.startswith("arn:") or model is None:
            return self._result(model_id, logical, model, profile_scope(model_id))
        if profile_scope(model_id) != "in_region":
            return self._result(model_id, logical, model, profile_scope(model_id))
        # An Anthropic ID or a base ID: pick the way Bedrock serves it here.
        return self.for_model(model, logical)

    def for_model(self, model, logical):
        if self.kind in API_ID_KINDS:
            return self._result(model.key, logical, model, "anthropic")
        if not model.bedrock_base_id:
            return self._unavailable(model, logical, f"{model.display_name} is not offered on Bedrock.")
        if self.mantle:
            if not model.mantle_id:
                return self._unavailable(model, logical, f"bedrock-mantle does not serve {model.display_name}.")
            if self.available is None or model.mantle_id in self.available:
                return self._result(model.mantle_id, logical, model, "in_region")
            return self._unavailable(model, logical, f"{model.mantle_id} is not served here.")
        if self.custom_profile:
            return self._result(self.custom_profile, logical, model, "custom")
        served = self.catalog.bedrock_served_in(model, self.region)
        for scope in self._scope_order():
            if scope not in served:
                continue
            model_id = model.bedrock_base_id if scope == "in_region" else f"{scope}.{model.bedrock_base_id}"
            if self.available is None or model_id in self.available:
                return self._result(model_id, logical, model, scope)
        profiles = ", ".join(model.bedrock_profiles) or "none"
        return self._unavailable(model, logical,
                                 f"{model.display_name} is not available to {self.region} (profiles: {profiles}).")

    def _unavailable(self, model, logical, note):
        model_id = (model.mantle_id if self.mantle else model.bedrock_base_id) or model.key
        return Resolution(
            model_id=model_id, logical=logical, catalog_key=model.key,
            base_model_id=model.bedrock_base_id, scope="in_region", available=False, note=note,
            integration=self._integration(model),
        )

    def _integration(self, model):
        if self.kind != "bedrock":
            return None
        if self.mantle:
            return "mantle"
        return model.bedrock_integration if model else None

    def _scope_order(self):
        region_geos = self.catalog.geos_for_region(self.region)
        preferred = [self.geo_preference] if self.geo_preference else []
        rest = [*region_geos, "global", "in_region"]
        return preferred + [scope for scope in rest if scope not in preferred]

    def _result(self, model_id, logical, model, scope):
        status, message = self._lifecycle(model)
        if scope == "custom" and self.available is not None and model_id not in self.available:
            available = None  # the control plane lists no ARNs: GetInferenceProfile decides (the Bedrock client)
        elif self.available is None:
            available = None if model is None else True
        else:
            available = model_id in self.available or (
                model is not None and self.kind in API_ID_KINDS and bool({model.key, *model.aliases} & self.available)
            )
        return Resolution(
            model_id=model_id, logical=logical, catalog_key=model.key if model else None,
            base_model_id=model.bedrock_base_id if (model and self.kind == "bedrock") else None,
            scope=scope, available=available, lifecycle_status=status, lifecycle_message=message,
            note="" if available is not False else f"{model_id} is not served here.",
            integration=self._integration(model),
        )


def inference_profile_hint(base_model_id, region):
    """For Bedrock's on-demand throughput error: the profile ID to use instead."""
    model = load_catalog().model(base_model_id)
    if model is None:
        return None
    resolution = _Resolver(load_catalog(), "bedrock", region, None, None, None, None).for_model(model, None)
    return resolution.model_id if resolution.available is not False else None


def iam_policy_for(actions, model_ids, region, account="*"):
    """A minimal IAM policy granting `actions` on the given model or profile IDs."""
    resources = set()
    for model_id in model_ids:
        if model_id.startswith("arn:"):
            resources.add(model_id)
            continue
        base = strip_profile(model_id)
        if profile_scope(model_id) == "in_region":
            resources.add(f"arn:aws:bedrock:{region}::foundation-model/{base}")
        else:
            # A profile routes to other regions: allow the profile and the model in every region.
            resources.add(f"arn:aws:bedrock:{region}:{account}:inference-profile/{model_id}")
            resources.add(f"arn:aws:bedrock:*::foundation-model/{base}")
    statements = []
    mantle_actions = sorted(a for a in actions if a.startswith("bedrock-mantle:"))
    actions = [a for a in actions if not a.startswith("bedrock-mantle:")]
    model_actions = sorted(a for a in actions if a != "bedrock:CallWithBearerToken")
    if model_actions:
        statements.append({"Sid": "InvokeClaude", "Effect": "Allow", "Action": model_actions,
                           "Resource": sorted(resources)})
    if "bedrock:CallWithBearerToken" in actions:
        statements.append({"Sid": "UseBedrockApiKeys", "Effect": "Allow",
                           "Action": ["bedrock:CallWithBearerToken"], "Resource": "*"})
    if mantle_actions:
        # bedrock-mantle authorizes per project, not per model: no model ARN narrows it.
        statements.append({"Sid": "InvokeClaudeOnMantle", "Effect": "Allow", "Action": mantle_actions,
                           "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}
