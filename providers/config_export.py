"""config.yml export: env-var references and stored-secret flags, never secret values.

Also writes the export to the configured path (MOMENTS_CONFIG_PATH), atomically.
"""
import datetime as dt
import os
from pathlib import Path

import yaml
from django.conf import settings

from providers import validation
from providers.clients.catalog import load_catalog
from providers.clients.errors import ProviderError
from providers.clients.resolution import resolve
from providers.config_agents import exported_agents
from providers.config_yaml import STORED_FLAGS, kind_keys
from providers.display import routing_settings
from providers.kinds import plugin_for
from providers.models import ProviderConfig, ProviderRouting

HIDDEN_ACCESS_KEY = "set (shown to staff only)"


def export_config(user=None):
    """config.yml text for the stored configuration: env-var references and flags, never secrets.

    AWS access key IDs identify an account: written for staff and for the operator's own exports
    (`user` None: the command line, "Write config.yml"), hidden from other users.
    """
    show_access_keys = user is None or bool(getattr(user, "is_staff", False))
    routing = ProviderRouting.load()
    providers = list(ProviderConfig.objects.all())
    top = {p.name: p for p in providers if p.name in validation.KINDS and p.kind == p.name}
    others = [p for p in providers if p not in top.values()]
    doc = {"type": routing.primary or "auto"}
    if len(routing.fallbacks) <= 1:
        doc["fallback_provider"] = routing.fallbacks[0] if routing.fallbacks else None
    else:
        doc["fallback_providers"] = list(routing.fallbacks)
    doc["auto_fallback"] = routing.auto_fallback
    if routing.environment_primary:
        doc["environments"] = {env: {"type": name} for env, name in sorted(routing.environment_primary.items())}
    for kind in validation.KINDS:
        if kind in top:
            doc[kind] = _export_provider(top[kind], with_kind=False, show_access_keys=show_access_keys)
    if others:
        doc["providers"] = {p.name: _export_provider(p, with_kind=True, show_access_keys=show_access_keys)
                            for p in others}
    mapping = {}
    for p in providers:
        for logical, model in sorted((p.model_mapping or {}).items()):
            if model:
                mapping.setdefault(logical, {})[p.name] = model
    doc["model_mapping"] = mapping
    header = [
        "# Moments Admin provider configuration (docs/providers/config-yml.md).",
        f"# Exported {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}"
        + (f" by {user.get_username()}" if user is not None and user.is_authenticated else "") + ".",
        "# No secret values: keys are read from the named env vars; *_stored: true means a secret kept",
        "# encrypted in the database this came from. model_mapping lists overrides only; other",
        "# logical models use the catalog default. Defaults now:",
    ]
    for logical in load_catalog().logical_names():
        resolved = []
        for p in providers:
            try:
                resolved.append(f"{p.name}={resolve(routing_settings(p), logical).model_id}")
            except ProviderError:
                resolved.append(f"{p.name}=(none)")
        header.append(f"#   {logical}: {', '.join(resolved) or '-'}")
    body = yaml.safe_dump({"model_provider": doc, "agents": exported_agents()}, sort_keys=False,
                          default_flow_style=False, allow_unicode=True)
    return "\n".join(header) + "\n" + body


def _export_provider(p, *, with_kind, show_access_keys=True):
    defaults = ProviderConfig()
    plugin = plugin_for(p.kind)
    out = {"kind": p.kind} if with_kind else {}
    for key in ("enabled", "timeout_seconds", "verify_tls", "ca_bundle", "beta_flags", *plugin.export_keys):
        value = getattr(p, key)
        if plugin.skip_export(key, p):
            continue
        if key in plugin.export_always or value != getattr(defaults, key):
            out[key] = value if value != "" else None
    if p.prompt_caching:
        out["prompt_caching"] = p.prompt_caching == "on"
    if p.prompt_caching_ttl:
        out["prompt_caching_ttl"] = p.prompt_caching_ttl
    out.update(plugin.exported(p))
    if out.get("aws_access_key_id") and not show_access_keys:
        out["aws_access_key_id"] = HIDDEN_ACCESS_KEY
    for flag, token_field in STORED_FLAGS.items():
        if flag in kind_keys(p.kind) and getattr(p, token_field):
            env_field = {"api_key_stored": "api_key_env", "bedrock_api_key_stored": "bedrock_api_key_env"}.get(flag)
            if not env_field or not getattr(p, env_field):
                out[flag] = True
    return out


def config_path():
    """Where "Write config.yml" saves: settings.MOMENTS_CONFIG_PATH (env MOMENTS_CONFIG_PATH)."""
    return Path(settings.MOMENTS_CONFIG_PATH)


def write_config(user=None, path=None):
    """Write the export to `path` atomically (a temporary file, then rename)."""
    path = Path(path) if path else config_path()
    text = export_config(user)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
