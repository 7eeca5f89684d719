"""What the provider pages show: model mapping rows and the effective configuration with sources."""
from dataclasses import dataclass

from providers import crypto, validation
from providers.clients.errors import ProviderError
from providers.models import ProviderConfig

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
    from providers.clients.catalog import load_catalog

    return list(dict.fromkeys([*load_catalog().logical_names(), *(config.model_mapping or {})]))


def mapping_rows(config, form=None):
    """For each logical model: the override, the ID it resolves to, and availability in the region."""
    from providers.clients.catalog import resolve_model_id

    mapping = {k: v for k, v in (config.model_mapping or {}).items() if v}
    region = config.aws_region or "us-east-1"
    rows = []
    for logical in logical_names(config):
        row = MappingRow(logical, mapping.get(logical, ""), is_default=logical not in mapping)
        if form is not None and f"map_{logical}" in form.fields:
            row.field = form[f"map_{logical}"]
        try:
            r = resolve_model_id(logical, config.kind, region=region if config.kind == "bedrock" else None,
                                 geo_preference=config.geo_preference or None, mapping=mapping,
                                 inference_profile=config.inference_profile or None)
        except ProviderError as error:
            row.error = f"{error.message} {error.hint or ''}".strip()
            row.available = False
            row.availability = "not available"
            rows.append(row)
            continue
        row.model_id, row.available = r.model_id, r.available
        if config.kind == "bedrock":
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
    rows = [("kind", s.kind, "stored configuration")]
    if s.kind == "anthropic":
        rows.append(("base_url", s.base_url or "https://api.anthropic.com",
                     "stored configuration" if s.base_url else "default"))
        rows.append(("api_key", _secret_shown(s.api_key, sources.get("api_key", ""), staff), sources.get("api_key", "")))
    else:
        rows += [
            ("aws_region", s.aws_region, sources.get("aws_region", "stored configuration")),
            ("auth_mode", s.auth_mode + (" + assume role" if s.role_arn else ""), "stored configuration"),
        ]
        if s.auth_mode == "profile":
            rows.append(("aws_profile", s.aws_profile, "stored configuration"))
        if s.auth_mode in ("static_keys", "env"):
            rows.append(("aws_access_key_id", access_key_shown(s.aws_access_key_id, staff=staff),
                         sources.get("aws_access_key_id", "stored configuration")))
            source = sources.get("aws_secret_access_key", "env AWS_SECRET_ACCESS_KEY")
            rows.append(("aws_secret_access_key", _secret_shown(s.aws_secret_access_key, source, staff), source))
        if s.auth_mode == "api_key":
            source = sources.get("bedrock_api_key", "")
            rows.append(("bedrock_api_key", _secret_shown(s.bedrock_api_key, source, staff), source))
        if s.role_arn:
            rows.append(("role_arn", s.role_arn, "stored configuration"))
        for name in ("endpoint_url", "control_endpoint_url", "sts_endpoint_url", "inference_profile",
                     "geo_preference"):
            if getattr(s, name):
                rows.append((name, getattr(s, name), "stored configuration"))
    rows.append(("max_output_tokens", s.max_output_tokens or "request's own",
                 sources.get("max_output_tokens", "not capped")))
    rows.append(("max_thinking_tokens", s.max_thinking_tokens or "request's own",
                 sources.get("max_thinking_tokens", "not capped")))
    for row in mapping_rows(resolved.config):
        rows.append((f"model {row.logical}", row.model_id or row.error,
                     "catalog default" if row.is_default else "model_mapping override"))
    return rows


def access_key_shown(value, *, staff):
    """An AWS access key ID identifies the account: staff see its last four characters, others that it is set."""
    if not value:
        return "not set"
    return f"set, ends {value[-4:]}" if staff else "set"


def _secret_shown(value, source, staff):
    """Whether a secret is set; staff also see the last four characters of a stored one, never of an env var."""
    if not value:
        return "not set"
    if source.startswith("env") or not staff:
        return "set"
    hint = crypto.hint(value)
    return f"set, ends {hint}" if hint else "set"
