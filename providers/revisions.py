"""Revisions: a snapshot of the whole provider configuration after every change.

Secrets stay Fernet tokens inside a snapshot (so a restore brings back the secret
that was in use) and are shown only as set / not set / changed.
"""
import hashlib
import hmac
import json

from django.conf import settings
from django.db import transaction

from providers import crypto
from providers.config_agents import apply_agents, stored_agents
from providers.kinds import PLUGINS
from providers.models import (
    CONFIG_FIELDS,
    ROUTING_FIELDS,
    SECRET_FIELDS,
    ConfigRevision,
    ProviderConfig,
    ProviderRouting,
)

SNAPSHOT_FIELDS = CONFIG_FIELDS + SECRET_FIELDS
# Routing fields that came after revisions did (the breaker policy and the Status page's overrides):
# a revision written before them had none, so restoring it resets them to their defaults rather than
# keeping today's forced-out provider, pinned primary or breaker policy.
DEFAULTED_ROUTING_FIELDS = ("breaker_failures", "breaker_error_rate", "breaker_window_seconds", "breaker_min_calls",
                            "breaker_open_seconds", "forced_out", "pinned_primary")
COMMON_FIELDS = {"name", "kind", "enabled", "position", "timeout_seconds", "model_mapping", "verify_tls", "ca_bundle",
                 "prompt_caching", "prompt_caching_ttl"}


def snapshot():
    routing = ProviderRouting.load()
    return {
        "routing": {name: getattr(routing, name) for name in ROUTING_FIELDS},
        "providers": [{name: getattr(p, name) for name in SNAPSHOT_FIELDS} for p in ProviderConfig.objects.all()],
        "agents": stored_agents(),
    }


def record_revision(user, summary):
    return ConfigRevision.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        username=getattr(user, "get_username", lambda: "")() if user is not None else "",
        summary=summary[:300], snapshot=snapshot(),
    )


def previous(revision):
    return ConfigRevision.objects.filter(pk__lt=revision.pk).order_by("-pk").first()


def _secret_identity(token):
    """Equal for equal secrets however often they were encrypted (re-encryption is not a change)."""
    if not token:
        return ""
    try:
        plain = crypto.decrypt(token)
    except crypto.SecretUnreadable:
        return token
    return hmac.new(settings.SECRET_KEY.encode(), plain.encode(), hashlib.sha256).hexdigest()


def _flatten(snap):
    """{"path": value} for every configured value; secrets as opaque identities."""
    flat = {}
    for name, value in (snap or {}).get("routing", {}).items():
        flat[f"routing.{name}"] = value
    for provider in (snap or {}).get("providers", []):
        plugin = PLUGINS.get(provider.get("kind"))
        for name, value in provider.items():
            if plugin is not None and name not in COMMON_FIELDS and name not in plugin.config_fields:
                continue  # stored but unused by this kind
            flat[f"providers.{provider['name']}.{name}"] = _secret_identity(value) if name in SECRET_FIELDS else value
    for agent in (snap or {}).get("agents", []):
        for name, value in agent.items():
            if name != "name":
                flat[f"agents.{agent['name']}.{name}"] = value
    return flat


def _shown(path, value):
    if path.rsplit(".", 1)[-1] in SECRET_FIELDS:
        return "set" if value else "not set"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else str(value)


def diff(before, after, *, staff=True):
    """Rows (path, before, after) of what changed, secrets redacted (and access key IDs unless `staff`)."""
    old, new = _flatten(before), _flatten(after)
    if not staff:  # an access key ID identifies the account: only staff see it
        old, new = ({path: ("set" if value else value) if path.endswith(".aws_access_key_id") else value
                     for path, value in flat.items()} for flat in (old, new))
    rows = []
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        if (path not in old and new[path] in ("", None, {}, [])) or (path not in new and old[path] in ("", None, {}, [])):
            continue  # an empty value of a provider added or removed says nothing
        label = path.removesuffix("_encrypted")
        if path.rsplit(".", 1)[-1] in SECRET_FIELDS:
            was, now = _shown(path, old.get(path)), _shown(path, new.get(path))
            if was == now == "set":
                was, now = "set", "set (changed)"
            rows.append((label, was if path in old else "—", now if path in new else "—"))
        else:
            rows.append((label, _shown(path, old.get(path)) if path in old else "—",
                         _shown(path, new.get(path)) if path in new else "—"))
    return rows


def apply_snapshot(snap):
    """Make the stored configuration equal to `snap` (inside the caller's transaction)."""
    wanted = {p["name"]: p for p in snap.get("providers", [])}
    ProviderConfig.objects.exclude(name__in=list(wanted)).delete()
    existing = {p.name: p for p in ProviderConfig.objects.all()}
    for name, values in wanted.items():
        config = existing.get(name) or ProviderConfig(name=name)
        for field in SNAPSHOT_FIELDS:
            if field in values:
                setattr(config, field, values[field])
        config.save()
    routing = ProviderRouting.load()
    for field in ROUTING_FIELDS:
        if field in snap.get("routing", {}):
            setattr(routing, field, snap["routing"][field])
    routing.save()
    if "agents" in snap:  # a revision from before agents were configurable leaves them alone
        apply_agents(snap["agents"])


def restorable(snap):
    """`snap` as a restore applies it: routing fields it predates are set to their defaults."""
    if not isinstance((snap or {}).get("routing"), dict):
        return snap
    missing = [name for name in DEFAULTED_ROUTING_FIELDS if name not in snap["routing"]]
    if not missing:
        return snap
    defaults = {name: ProviderRouting._meta.get_field(name).get_default() for name in missing}
    return {**snap, "routing": {**snap["routing"], **defaults}}


def restore(revision, user):
    with transaction.atomic():
        apply_snapshot(restorable(revision.snapshot))
        return record_revision(user, f"Restored revision #{revision.pk} ({revision.summary})")


def unreadable_secrets(snap):
    """Names of providers whose stored secrets the current keys cannot decrypt."""
    names = []
    for provider in snap.get("providers", []):
        for field in SECRET_FIELDS:
            token = provider.get(field)
            if token and crypto.rotate(token) is None:
                names.append(provider["name"])
                break
    return names
