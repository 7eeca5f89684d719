"""What the provider pages show: model mapping rows and the effective configuration with sources."""
from dataclasses import dataclass

from providers import validation
from providers.clients.base import ProviderSettings
from providers.clients.catalog import load_catalog
from providers.clients.errors import ProviderError
from providers.clients.registry import KINDS, kind_info
from providers.clients.resolution import resolve
from providers.environment import Environment, EnvironmentError_, read_environment
from providers.kinds import plugin_for
from providers.models import ProviderConfig

DISPLAY_REGION = "us-east-1"  # shown for a Bedrock provider with no region anywhere (a call would refuse it)

def beta_rows():
    """The beta flags table: (flag, [(target label, verdict)]) for every beta the layer knows."""
    from providers.clients import betas

    return {"targets": [betas.TARGET_LABELS[t] for t in betas.TARGETS],
            "rows": [(flag, [cells[t] for t in betas.TARGETS]) for flag, cells in betas.table()]}


SCOPE_LABELS = {"in_region": "in-region", "global": "global profile", "custom": "the configured profile",
                "anthropic": "Anthropic API"}


@dataclass
class MappingRow:
    logical: str
    override: str
    model_id: str = ""
    is_default: bool = True
    available: bool | None = None
    availability: str = ""
    note: str = ""
    error: str = ""
    field: object = None


def logical_names(config):
    return list(dict.fromkeys([*load_catalog().logical_names(), *(config.model_mapping or {})]))


def mapping_rows(config, form=None, settings=None):
    """For each logical model: the override, the ID it resolves to, and availability in the region.

    `settings` (resolved) when the caller has them; else the routing-relevant part of `config`,
    with AWS_REGION filling in a blank region exactly as calls do."""
    settings = settings or routing_settings(config)
    mapping = settings.model_mapping
    region = settings.aws_region
    regional = kind_info(settings.kind).regional
    rows = []
    for logical in logical_names(config):
        row = MappingRow(logical, mapping.get(logical, ""), is_default=logical not in mapping)
        if form is not None and f"map_{logical}" in form.fields:
            row.field = form[f"map_{logical}"]
        try:
            r = resolve(settings, logical)
        except ProviderError as error:
            row.error = f"{error.message} {error.hint or ''}".strip()
            row.available = False
            row.availability = "not available"
            rows.append(row)
            continue
        row.model_id, row.available = r.model_id, r.available
        if regional:
            via = SCOPE_LABELS.get(r.scope, f"{r.scope}. cross-region profile")
            row.availability = {True: f"served in {region} ({via})", False: f"not served in {region}",
                                None: "unknown: not in the catalog"}[r.available]
        else:
            row.availability = {True: "in the catalog", False: "not served",
                                None: "unknown: not in the catalog"}[r.available]
        row.note = " ".join(x for x in (r.note if (r.fallback_used or r.available is False) else "",
                                        r.lifecycle_message) if x)
        rows.append(row)
    return rows


def routing_settings(config):
    """The parts of ProviderSettings that model resolution reads, without resolving any secret."""
    region = config.aws_region or read_environment_leniently().aws_region or DISPLAY_REGION
    return ProviderSettings(kind=config.kind if config.kind in KINDS else "anthropic", name=config.name,
                            model_mapping={k: v for k, v in (config.model_mapping or {}).items() if v},
                            aws_region=region, geo_preference=config.geo_preference or None,
                            inference_profile=config.inference_profile or None,
                            bedrock_integration=config.bedrock_integration or "auto")


def read_environment_leniently():
    try:
        return read_environment()
    except EnvironmentError_:
        return Environment()


def preview_config(kind, data):
    """An unsaved config from raw form data, leniently: enough to preview the model mapping."""
    config = ProviderConfig(kind=kind if kind in validation.KINDS else "anthropic")
    region = (data.get("aws_region") or "").strip()
    config.aws_region = region if region in validation.bedrock_regions() else ""
    geo = (data.get("geo_preference") or "").strip()
    config.geo_preference = geo if geo in validation.GEO_CHOICES else ""
    try:
        config.inference_profile = validation.model_id(data.get("inference_profile"))
    except ValueError:
        config.inference_profile = ""
    mapping = {}
    for key, value in data.items():
        if key.startswith("map_") and value:
            try:
                mapping[validation.logical_name(key[4:])] = validation.model_id(value)
            except ValueError:
                continue
    config.model_mapping = mapping
    return config


def effective_rows(resolved, *, staff=False):
    """(setting, value, source) rows of one provider as it would be called now; secrets as set/unset.

    An env var's value is never shown, not even in part; the last four characters of a stored secret
    and of the access key ID only to staff.
    """
    s, sources = resolved.settings, resolved.sources
    rows = [("kind", s.kind, "stored configuration"), *plugin_for(s.kind).effective_rows(resolved, staff=staff)]
    rows.append(("max_output_tokens", s.max_output_tokens or "request's own",
                 sources.get("max_output_tokens", "not capped")))
    rows.append(("max_thinking_tokens", s.max_thinking_tokens or "request's own",
                 sources.get("max_thinking_tokens", "not capped")))
    caching_source = "stored configuration" if resolved.config.prompt_caching else "PROMPT_CACHING_AUTO setting"
    rows.append(("prompt_caching", f"{'on' if s.prompt_caching else 'off'} ({s.prompt_caching_ttl})", caching_source))
    for row in mapping_rows(resolved.config, settings=s):
        rows.append((f"model {row.logical}", row.model_id or row.error,
                     "catalog default" if row.is_default else "model_mapping override"))
    return rows
