"""config.yml: validate and import atomically, export with env-var references only.

Schema: docs/providers/config-yml.md. Errors name the key path and the line
(from yaml.compose's node marks). Nothing is applied unless the whole file is
valid; secrets are never read from or written to the file.
"""
import difflib
import re

from django.core.exceptions import ValidationError
from django.db import transaction

from moments_admin.limits import DEFAULT_TEXT_LIMIT, model_max_length
from providers import validation
from providers.config_agents import parse_agents
from providers.environment import MOMENTS_ENVS
from providers.kinds import plugin_for
from providers.models import CONFIG_FIELDS, ProviderConfig
from providers.revisions import apply_snapshot, record_revision
from providers.yaml_lines import ConfigFileError, ConfigIssue, dotted, load_yaml  # noqa: F401 - re-exported

SECRET_LITERALS = {"api_key", "aws_secret_access_key", "aws_session_token", "bedrock_api_key", "aws_bearer_token"}
# YAML key -> stored-secret token field it keeps.
STORED_FLAGS = {
    "api_key_stored": "api_key_encrypted",
    "aws_secret_access_key_stored": "aws_secret_access_key_encrypted",
    "aws_session_token_stored": "aws_session_token_encrypted",
    "bedrock_api_key_stored": "bedrock_api_key_encrypted",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ROUTING_KEYS = ("type", "fallback_provider", "fallback_providers", "auto_fallback", "environments",
                *validation.KINDS, "providers", "model_mapping")
COMMON_KEYS = ("enabled", "timeout_seconds", "verify_tls", "ca_bundle", "beta_flags", "prompt_caching",
               "prompt_caching_ttl")
def kind_keys(kind):
    """config.yml keys of a provider block of `kind`: the common ones and the kind plugin's own."""
    return COMMON_KEYS + plugin_for(kind).config_keys


# --- Validation ---------------------------------------------------------------------------------

class _Validator:
    def __init__(self, lines):
        self.lines = lines
        self.issues = []

    def issue(self, path, message):
        line = None
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                line = self.lines[path[:end]]
                break
        self.issues.append(ConfigIssue(dotted(path), line, message))

    def mapping(self, value, path, *, required=True):
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.issue(path, f"Expected a mapping of keys, got {_describe(value)}.")
            return {}
        return value

    def unknown(self, path, key, allowed):
        if key in SECRET_LITERALS:
            self.issue((*path, key), f"Secrets are not accepted in config.yml: use {key}_env (the name of an "
                                     "environment variable) or store the secret from the provider page.")
            return
        close = difflib.get_close_matches(key, allowed, n=1)
        self.issue((*path, key), f"Unknown key {key!r}." + (f" Did you mean {close[0]!r}?" if close else ""))

    def text(self, value, path, check=None, *, allow_null=True, limit=DEFAULT_TEXT_LIMIT):
        if value is None and allow_null:
            value = ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            self.issue(path, f"Expected text, got {_describe(value)}.")
            return None
        if len(str(value)) > limit:  # checked first, so no message ever quotes a huge value
            self.issue(path, f"At most {limit} characters (this value has {len(str(value))}).")
            return None
        if _CONTROL.search(str(value)):
            self.issue(path, "Control characters and line breaks (NUL, CR, LF, tab…) are not allowed in this value.")
            return None
        try:
            return check(str(value)) if check else str(value).strip()
        except ValueError as exc:
            self.issue(path, str(exc))
            return None

    def boolean(self, value, path):
        if not isinstance(value, bool):
            self.issue(path, f"Expected true or false, got {_describe(value)}.")
            return None
        return value

    def names(self, value, path, check):
        """A list of names (null: none)."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.issue(path, f"Expected a list, got {_describe(value)}.")
            return None
        try:
            return check(value)
        except ValueError as exc:
            self.issue(path, str(exc))
            return None

    def number(self, value, path, check):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.issue(path, f"Expected a number, got {_describe(value)}.")
            return None
        try:
            return check(value)
        except ValueError as exc:
            self.issue(path, str(exc))
            return None


def _describe(value):
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}…"


_TEXT_CHECKS = {
    "api_key_env": validation.env_name, "bedrock_api_key_env": validation.env_name,
    "base_url": validation.url, "endpoint_url": validation.url, "control_endpoint_url": validation.url,
    "sts_endpoint_url": validation.url, "ca_bundle": validation.ca_bundle, "aws_region": validation.region,
    "auth_mode": validation.auth_mode, "aws_profile": None, "aws_access_key_id": validation.access_key_id,
    "role_arn": validation.role_arn, "external_id": None, "role_session_name": validation.role_session_name,
    "inference_profile": validation.model_id, "geo_preference": validation.geo,
    "mantle_endpoint_url": validation.url, "workspace_id": validation.workspace_id,
    "batch_s3_bucket": validation.s3_bucket, "batch_s3_prefix": validation.s3_prefix,
    "batch_role_arn": validation.role_arn, "s3_endpoint_url": validation.url,
    "guardrail_identifier": validation.guardrail_identifier, "guardrail_version": validation.guardrail_version,
    "guardrail_stream_mode": validation.guardrail_stream_mode, "guardrail_aws_provider": None,
}


def _defaults():
    config = ProviderConfig()
    return {name: getattr(config, name) for name in CONFIG_FIELDS}


def _provider(v, block, path, name, kind, existing):
    """Validate one provider block into snapshot values (or None)."""
    issues_before = len(v.issues)
    values = {**_defaults(), "name": name, "kind": kind, "model_mapping": {}}
    for token_field in STORED_FLAGS.values():
        values[token_field] = ""
    flags = {}
    for key, raw in block.items():
        kpath = (*path, key)
        if key == "kind":
            continue
        if key not in kind_keys(kind):
            v.unknown(path, key, kind_keys(kind))
        elif key in ("enabled", "verify_tls", "use_bedrock_api_key", "guardrail_apply") or key in STORED_FLAGS:
            flags[key] = v.boolean(raw, kpath)
            if key in ("enabled", "verify_tls", "guardrail_apply"):
                values[key] = flags[key]
        elif key == "prompt_caching":  # true / false; absent or null: the global default
            values[key] = "" if raw is None else {True: "on", False: "off", None: ""}[v.boolean(raw, kpath)]
        elif key == "prompt_caching_ttl":
            values[key] = v.text(raw, kpath, validation.prompt_caching_ttl)
        elif key == "timeout_seconds":
            values[key] = v.number(raw, kpath, validation.timeout)
        elif key == "role_duration_seconds":
            values[key] = v.number(raw, kpath, validation.role_duration)
        elif key == "beta_flags":
            values[key] = v.names(raw, kpath, validation.beta_flags)
        else:
            values[key] = v.text(raw, kpath, plugin_for(kind).text_checks.get(key, _TEXT_CHECKS.get(key)),
                                 limit=model_max_length(ProviderConfig, key) or DEFAULT_TEXT_LIMIT)
    plugin_for(kind).check_config(v, values, flags, block, path)
    for key, token_field in STORED_FLAGS.items():
        if flags.get(key):
            env_field = {"api_key_stored": "api_key_env", "bedrock_api_key_stored": "bedrock_api_key_env"}.get(key)
            if env_field and values.get(env_field):
                v.issue((*path, key), f"Choose one: {env_field} or {key}.")
            token = getattr(existing.get(name), token_field, "") if existing.get(name) else ""
            if not token:
                v.issue((*path, key), f"No secret is stored for provider {name!r} in this database: store it on "
                                      f"the provider page first, or use an env var instead.")
            values[token_field] = token
    kept = [key for key, token_field in STORED_FLAGS.items() if flags.get(key) and values.get(token_field)]
    if kept and existing.get(name):
        destinations = plugin_for(kind).form_class.destination_fields
        saved = {field: getattr(existing[name], field) for field in destinations}
        for field in validation.changed_destination(destinations, values, saved):
            v.issue((*path, field), f"{field} differs from provider {name!r} as stored, and {kept[0]}: true keeps "
                                    "its stored secret: a stored secret is only sent where it was saved. Keep "
                                    f"{field} as it is, or import without {kept[0]} and store the secret again "
                                    "on the provider page.")
    if len(v.issues) == issues_before:
        _model_check(v, values, path)
    return values


def _model_check(v, values, path):
    """The model's own field rules (lengths, types) as issues, so --check finds all the import would refuse."""
    config = ProviderConfig(**{name: values[name] for name in CONFIG_FIELDS if name in values})
    try:
        config.clean_fields(exclude=[field.name for field in ProviderConfig._meta.fields
                                     if field.name not in CONFIG_FIELDS or field.name in ("model_mapping", "position")])
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            v.issue((*path, field), " ".join(errors))


def parse_config(text, existing=None):
    """The snapshot (routing and providers) described by `text`. Raises ConfigFileError."""
    data, lines = load_yaml(text)
    existing = existing if existing is not None else {p.name: p for p in ProviderConfig.objects.all()}
    v = _Validator(lines)
    root = v.mapping(data, ())
    for key in root:
        if key not in ("model_provider", "agents"):
            v.unknown((), key, ["model_provider", "agents"])
    if "model_provider" not in root and not v.issues:
        v.issue(("model_provider",), "The file needs a top-level model_provider: mapping.")
    mp = v.mapping(root.get("model_provider"), ("model_provider",), required=False) if root else {}
    base = ("model_provider",)
    for key in mp:
        if key not in ROUTING_KEYS:
            v.unknown(base, key, ROUTING_KEYS)
    providers = []
    for kind in validation.KINDS:
        if kind in mp:
            block = v.mapping(mp[kind], (*base, kind))
            if "kind" in block and block["kind"] != kind:
                v.issue((*base, kind, "kind"), f"The {kind}: block is always of kind {kind}.")
            providers.append(_provider(v, block, (*base, kind), kind, kind, existing))
    extra = v.mapping(mp.get("providers"), (*base, "providers"), required=False)
    for name, block in extra.items():
        path = (*base, "providers", name)
        block = v.mapping(block, path)
        try:
            validation.provider_name(name)
        except ValueError as exc:
            v.issue(path, str(exc))
            continue
        if name in validation.KINDS:
            v.issue(path, f"Configure the provider named {name!r} in the model_provider.{name}: block.")
            continue
        try:
            kind = validation.kind(block.get("kind"))
        except ValueError as exc:
            v.issue((*path, "kind"), str(exc) if "kind" in block else f"Each entry needs kind: one of {', '.join(validation.KINDS)}.")
            continue
        providers.append(_provider(v, block, path, name, kind, existing))
    if not providers and not v.issues:
        v.issue(base, "No provider is configured: add an anthropic:, bedrock: or aws_platform: block.")
    for position, values in enumerate(providers):
        values["position"] = position
    routing = _routing(v, mp, base, providers)
    _mapping(v, mp.get("model_mapping"), (*base, "model_mapping"), providers)
    snap = {"routing": routing, "providers": providers}
    if "agents" in root:  # absent: the stored agents stay as they are
        snap["agents"] = parse_agents(v, root["agents"], ("agents",), [p["name"] for p in providers])
    if v.issues:
        raise ConfigFileError(v.issues)
    return snap


def _resolve_name(v, value, path, providers):
    names = [p["name"] for p in providers]
    if value in names:
        return value
    of_kind = [p["name"] for p in providers if p["kind"] == value]
    if of_kind:
        return of_kind[0]
    v.issue(path, f"{value!r} is neither a provider name nor a kind configured in this file "
                  f"(providers: {', '.join(names) or 'none'}).")
    return None


def _routing(v, mp, base, providers):
    routing = {"primary": "", "fallbacks": [], "auto_fallback": True, "environment_primary": {}}
    kind = mp.get("type")
    if kind not in (None, "", "auto"):
        name = v.text(kind, (*base, "type"))
        routing["primary"] = _resolve_name(v, name, (*base, "type"), providers) or "" if name else ""
    if "auto_fallback" in mp:
        routing["auto_fallback"] = v.boolean(mp["auto_fallback"], (*base, "auto_fallback"))
    if "fallback_provider" in mp and "fallback_providers" in mp:
        v.issue((*base, "fallback_providers"), "Use fallback_provider (one) or fallback_providers (a list), not both.")
    wanted = []
    if mp.get("fallback_provider") not in (None, ""):
        wanted = [((*base, "fallback_provider"), mp["fallback_provider"])]
    elif "fallback_providers" in mp and mp["fallback_providers"] is not None:
        items = mp["fallback_providers"]
        if not isinstance(items, list):
            v.issue((*base, "fallback_providers"), f"Expected a list of provider names, got {_describe(items)}.")
        else:
            wanted = [((*base, "fallback_providers", i), item) for i, item in enumerate(items)]
    for path, item in wanted:
        name = v.text(item, path, allow_null=False)
        name = _resolve_name(v, name, path, providers) if name else None
        if name and name == routing["primary"]:
            v.issue(path, f"{name} is the primary; a fallback must be another provider.")
        elif name and name not in routing["fallbacks"]:
            routing["fallbacks"].append(name)
    envs = v.mapping(mp.get("environments"), (*base, "environments"), required=False)
    for env_name, block in envs.items():
        path = (*base, "environments", env_name)
        if env_name not in MOMENTS_ENVS:
            v.issue(path, f"Unknown environment {env_name!r}: use {', '.join(MOMENTS_ENVS)}.")
            continue
        block = v.mapping(block, path)
        for key in block:
            if key != "type":
                v.unknown(path, key, ["type"])
        if block.get("type"):
            name = v.text(block["type"], (*path, "type"))
            name = _resolve_name(v, name, (*path, "type"), providers) if name else None
            if name:
                routing["environment_primary"][env_name] = name
    return routing


def _mapping(v, raw, path, providers):
    mapping = v.mapping(raw, path, required=False)
    by_name = {p["name"]: p for p in providers}
    for logical, targets in mapping.items():
        lpath = (*path, logical)
        try:
            validation.logical_name(logical)
        except ValueError as exc:
            v.issue(lpath, str(exc))
            continue
        targets = v.mapping(targets, lpath)
        # Kinds first, then names, so a name overrides its kind's value.
        for target in sorted(targets, key=lambda t: t not in validation.KINDS or t in by_name):
            tpath = (*lpath, target)
            model = v.text(targets[target], tpath, validation.model_id,
                           limit=model_max_length(ProviderConfig, "inference_profile"))
            if target in by_name:
                chosen = [by_name[target]]
            else:
                chosen = [p for p in providers if p["kind"] == target]
            if not chosen:
                v.issue(tpath, f"{target!r} is neither a provider name nor a kind configured in this file.")
                continue
            for provider in chosen:
                if model:
                    provider["model_mapping"][logical] = model
                else:
                    provider["model_mapping"].pop(logical, None)


# --- Import, export, write -------------------------------------------------------------------------

def import_config(text, user=None, source="upload"):
    """Validate everything, then replace the stored configuration atomically. Returns the revision."""
    with transaction.atomic():
        snap = parse_config(text)
        apply_snapshot(snap)
        return record_revision(user, f"Imported config.yml ({source})")
