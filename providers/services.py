"""Configuration services: stored configuration -> ProviderSettings, and which providers serve.

The provider layer (providers.clients) never reads the database or env-var
indirection; this module does, at call time, and hands it resolved settings.
"""
import hashlib
import hmac
import json
from dataclasses import dataclass, field

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone

from providers import crypto, secret_env
from providers.clients.base import ProviderSettings, RetryPolicy
from providers.connection_test import next_step
from providers.environment import env_secret, read_environment
from providers.models import SECRET_FIELDS, ProviderConfig, ProviderRouting
from providers.selection import Selection, SelectionError, select_providers  # noqa: F401 - the public entry points

# Configuration fields of a provider (what a revision, an export and a fingerprint cover).
CONFIG_FIELDS = (
    "name", "kind", "enabled", "position", "timeout_seconds", "model_mapping", "verify_tls", "ca_bundle",
    "base_url", "api_key_env", "aws_region", "auth_mode", "aws_profile", "aws_access_key_id",
    "bedrock_api_key_env", "role_arn", "external_id", "role_session_name", "role_duration_seconds",
    "inference_profile", "geo_preference", "endpoint_url", "control_endpoint_url", "sts_endpoint_url",
)
ROUTING_FIELDS = ("primary", "fallbacks", "auto_fallback", "environment_primary")
AWS_ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


@dataclass
class ResolvedProvider:
    config: ProviderConfig
    settings: ProviderSettings
    sources: dict = field(default_factory=dict)  # field -> where its value came from
    problems: list = field(default_factory=list)  # (field, message): known before any network call

    @property
    def secrets(self):
        """Secret values in use, to scrub from anything shown or logged."""
        s = self.settings
        return [v for v in (s.api_key, s.aws_secret_access_key, s.aws_session_token, s.bedrock_api_key) if v]


def _secret(config, env_field, token_field, label, sources, problems, *, legacy=None):
    env_name = getattr(config, env_field, "") if env_field else ""
    if env_name:
        refused = secret_env.refusal(env_name)  # a name stored before the rule existed is never read
        if refused:
            sources[label] = f"env {env_name} refused"
            problems.append((env_field, refused))
            return None
        value = env_secret(env_name)
        if value:
            sources[label] = f"env {env_name} (set)"  # never any character of an env var's value
            return value
        if legacy and legacy[1]:
            sources[label] = f"env {legacy[0]} (legacy name; {env_name} is unset)"
            return legacy[1]
        sources[label] = f"env {env_name} is not set"
        problems.append((env_field, f"The environment variable {env_name} is not set in this process."))
        return None
    token = getattr(config, token_field)
    if token:
        try:
            value = crypto.decrypt(token)
        except crypto.SecretUnreadable as exc:
            problems.append((token_field.removesuffix("_encrypted"), str(exc)))
            sources[label] = "stored, but unreadable with the current key"
            return None
        sources[label] = "stored encrypted"  # the value column shows its last four, to staff only
        return value
    if legacy and legacy[1]:
        sources[label] = f"env {legacy[0]} (legacy name)"
        return legacy[1]
    sources[label] = "not set"
    return None


def build_settings(config, *, environment=None, primary_bedrock=False, for_test=False):
    """Resolve `config` (saved or not) into ProviderSettings, reading env vars now."""
    env = environment or read_environment()
    sources, problems, values = {}, [], {}
    values["model_mapping"] = {k: v for k, v in (config.model_mapping or {}).items() if v}
    values["verify"] = config.ca_bundle or bool(config.verify_tls)
    if env.max_output_tokens:
        values["max_output_tokens"] = env.max_output_tokens
        sources["max_output_tokens"] = "env CLAUDE_CODE_MAX_OUTPUT_TOKENS"
    if env.max_thinking_tokens:
        values["max_thinking_tokens"] = env.max_thinking_tokens
        sources["max_thinking_tokens"] = "env MAX_THINKING_TOKENS"
    if config.kind == "anthropic":
        values["base_url"] = config.base_url or None
        values["api_key"] = _secret(config, "api_key_env", "api_key_encrypted", "api_key", sources, problems,
                                    legacy=("NEXT_PUBLIC_ANTHROPIC_API_KEY", env.legacy_anthropic_key))
        if not values["api_key"] and not any(f == "api_key_env" for f, _ in problems):
            problems.append(("api_key", "No API key: set an env var name or store a key."))
    elif config.kind == "bedrock":
        region = config.aws_region or None
        sources["aws_region"] = "stored configuration"
        if primary_bedrock and env.aws_region and env.aws_region != region:
            region = env.aws_region
            sources["aws_region"] = "env AWS_REGION"
        values.update(
            aws_region=region, auth_mode=config.auth_mode, aws_profile=config.aws_profile or None,
            endpoint_url=config.endpoint_url or None, control_endpoint_url=config.control_endpoint_url or None,
            sts_endpoint_url=config.sts_endpoint_url or None, role_arn=config.role_arn or None,
            external_id=config.external_id or None, role_session_name=config.role_session_name or "moments-admin",
            role_duration_seconds=config.role_duration_seconds or 3600,
            geo_preference=config.geo_preference or None, inference_profile=config.inference_profile or None,
        )
        if config.auth_mode == "static_keys":
            values["aws_access_key_id"] = config.aws_access_key_id or None
            values["aws_secret_access_key"] = _secret(config, None, "aws_secret_access_key_encrypted",
                                                      "aws_secret_access_key", sources, problems)
            values["aws_session_token"] = _secret(config, None, "aws_session_token_encrypted",
                                                  "aws_session_token", sources, problems) or None
            if not values["aws_secret_access_key"]:
                problems.append(("aws_secret_access_key", "No secret access key is stored."))
        elif config.auth_mode == "env":
            access, secret, token = (env_secret(name) for name in AWS_ENV_KEYS)
            values.update(aws_access_key_id=access, aws_secret_access_key=secret, aws_session_token=token)
            sources["aws_access_key_id"] = "env AWS_ACCESS_KEY_ID" if access else "env AWS_ACCESS_KEY_ID is not set"
            if not (access and secret):
                problems.append(("auth_mode", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set "
                                              "in this process's environment."))
        elif config.auth_mode == "api_key":
            values["bedrock_api_key"] = _secret(config, "bedrock_api_key_env", "bedrock_api_key_encrypted",
                                                "bedrock_api_key", sources, problems)
            if not values["bedrock_api_key"] and not any(f == "bedrock_api_key_env" for f, _ in problems):
                problems.append(("bedrock_api_key", "No Bedrock API key: set an env var name or store a key."))
        elif config.auth_mode == "profile":
            sources["aws_profile"] = "stored configuration"
    if for_test:
        values["retry"] = RetryPolicy(max_attempts=1)
        values["timeout"] = min(float(config.timeout_seconds or 30), 30.0)
    else:
        values["timeout"] = float(config.timeout_seconds or 60)
    return ResolvedProvider(config, ProviderSettings(kind=config.kind, name=config.name, **values), sources, problems)


def fingerprint(config):
    """A digest of what a test connection exercises; equal digests mean the same configuration.

    Secrets enter as HMACs under SECRET_KEY, so the digest reveals nothing about them.
    """
    data = {name: getattr(config, name) for name in CONFIG_FIELDS if name not in ("enabled", "position")}
    key = django_settings.SECRET_KEY.encode()
    for token_field in SECRET_FIELDS:
        try:
            plain = crypto.decrypt(getattr(config, token_field))
        except crypto.SecretUnreadable:
            plain = "<unreadable>"
        data[token_field] = hmac.new(key, plain.encode(), hashlib.sha256).hexdigest() if plain else ""
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def active_chain(environ=None):
    """ResolvedProvider for the primary and each fallback, in order (the gateway's entry point)."""
    selection = select_providers(environ)
    chain = [selection.primary, *selection.fallbacks] if selection.primary else []
    primary_bedrock = next((p for p in chain if p.kind == "bedrock"), None)
    return [build_settings(p, environment=selection.environment, primary_bedrock=p is primary_bedrock)
            for p in chain]


def active_settings(environ=None):
    """ProviderSettings of the primary and fallbacks, in order."""
    return [resolved.settings for resolved in active_chain(environ)]


# --- Changes (each one records a revision) -------------------------------------------------------

def save_provider(config, user, *, summary=None):
    from providers.revisions import record_revision

    created = config.pk is None
    with transaction.atomic():
        old_name = None if created else ProviderConfig.objects.filter(pk=config.pk).values_list("name", flat=True).first()
        if old_name and old_name != config.name:
            rename_references(old_name, config.name)
        if created and not config.position:
            last = ProviderConfig.objects.order_by("-position").first()
            config.position = (last.position + 1) if last else 0
        config.save()
        routing = ProviderRouting.load()
        if created and not routing.primary and not ProviderConfig.objects.exclude(pk=config.pk).exists():
            routing.primary = config.name
            routing.save()
        record_revision(user, summary or f"{'Added' if created else 'Changed'} provider {config.name}")
    return config


def rename_references(old, new):
    routing = ProviderRouting.load()
    routing.primary = new if routing.primary == old else routing.primary
    routing.fallbacks = [new if n == old else n for n in routing.fallbacks]
    routing.environment_primary = {k: (new if v == old else v) for k, v in routing.environment_primary.items()}
    routing.save()


def delete_provider(config, user):
    from providers.revisions import record_revision

    with transaction.atomic():
        name = config.name
        config.delete()
        routing = ProviderRouting.load()
        routing.primary = "" if routing.primary == name else routing.primary
        routing.fallbacks = [n for n in routing.fallbacks if n != name]
        routing.environment_primary = {k: v for k, v in routing.environment_primary.items() if v != name}
        routing.save()
        record_revision(user, f"Removed provider {name}")


def update_routing(user, *, primary, fallbacks, auto_fallback, environment_primary=None):
    from providers.revisions import record_revision

    with transaction.atomic():
        routing = ProviderRouting.load()
        routing.primary = primary or ""
        routing.fallbacks = [n for n in fallbacks if n and n != primary]
        routing.auto_fallback = auto_fallback
        if environment_primary is not None:
            routing.environment_primary = {k: v for k, v in environment_primary.items() if v}
        routing.save()
        record_revision(user, "Changed primary and fallbacks")
    return routing


def record_step(config_pk, run_id, result, config_fingerprint):
    """Append `result` to the stored last test of provider `config_pk` (a new run starts afresh)."""
    config = ProviderConfig.objects.filter(pk=config_pk).first()
    if config is None:
        return
    steps = list(config.last_test_steps) if config.last_test_run == run_id else []
    steps = [s for s in steps if s.get("step") != result.step] + [result.as_dict() | {"label": result.label}]
    finished = not result.ok or next_step(result.step) is None
    total = sum(s.get("elapsed_ms", 0) for s in steps) / 1000
    if not result.ok:
        summary = f"Failed at {result.label.lower()}: {result.summary}"[:500]
    elif finished:
        summary = f"Passed {len(steps)} checks in {total:.1f} s"
    else:
        summary = f"Running: {result.label.lower()} passed"
    ProviderConfig.objects.filter(pk=config_pk).update(
        last_test_run=run_id, last_test_steps=steps, last_test_at=timezone.now(),
        last_test_ok=(result.ok if finished else None), last_test_summary=summary,
        last_test_fingerprint=config_fingerprint,
    )
