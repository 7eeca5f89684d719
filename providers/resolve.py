"""Stored configuration -> ProviderSettings: env-var indirection and secrets resolved now.

The provider layer (providers.clients) never reads the database or env vars; this module
does, and hands it resolved settings. providers.snapshot caches the active chain built here.
"""
import hashlib
import hmac
import json
from dataclasses import dataclass, field

from django.conf import settings as django_settings

from providers import crypto, plain_http
from providers.clients.base import ProviderSettings, RetryPolicy
from providers.environment import read_environment
from providers.kinds import plugin_for
from providers.models import CONFIG_FIELDS, SECRET_FIELDS, ProviderConfig, ProviderRouting
from providers.selection import select_providers

# Fields a test connection does not exercise: changing them leaves its result current.
UNTESTED_FIELDS = ("enabled", "position", "prompt_caching", "prompt_caching_ttl")


@dataclass
class ResolvedProvider:
    config: ProviderConfig
    settings: ProviderSettings
    sources: dict = field(default_factory=dict)  # field -> where its value came from
    problems: list = field(default_factory=list)  # (field, message): known before any network call

    @property
    def secrets(self):
        """Secret values in use, to scrub from anything shown or logged."""
        found = []
        s = self.settings
        while s is not None:  # an Anthropic provider's guardrail carries a Bedrock provider's settings
            found += [v for v in (s.api_key, s.aws_secret_access_key, s.aws_session_token, s.bedrock_api_key) if v]
            s = s.guardrail_aws
        return found


def build_settings(config, *, environment=None, for_test=False):
    """Resolve `config` (saved or not) into ProviderSettings, reading env vars now."""
    env = environment or read_environment()
    sources, problems, values = {}, [], {}
    values["model_mapping"] = {k: v for k, v in (config.model_mapping or {}).items() if v}
    values["verify"] = config.ca_bundle or bool(config.verify_tls)
    values["beta_flags"] = tuple(config.beta_flags or ())
    values.update(prompt_caching_values(config))
    if env.max_output_tokens:
        values["max_output_tokens"] = env.max_output_tokens
        sources["max_output_tokens"] = "env CLAUDE_CODE_MAX_OUTPUT_TOKENS"
    if env.max_thinking_tokens:
        values["max_thinking_tokens"] = env.max_thinking_tokens
        sources["max_thinking_tokens"] = "env MAX_THINKING_TOKENS"
    plugin = plugin_for(config.kind)
    values.update(plugin.settings_values(config, env, sources, problems))
    refused = plain_http.refusals(config, plugin.secret_urls(config))
    if refused:  # never sent in clear text: the call fails as unconfigured instead (the problem says why)
        problems[:0] = refused
        values.update({name: None for name in ("api_key", "bedrock_api_key") if name in values})
    values.update(_guardrail_values(config, env, problems))
    if for_test:
        values["retry"] = RetryPolicy(max_attempts=1)
        values["timeout"] = min(float(config.timeout_seconds or 30), 30.0)
    else:
        values["retry"] = RetryPolicy(retry_timeouts=django_settings.CALL_RETRY_TIMEOUTS)
        values["timeout"] = float(config.timeout_seconds or 60)
    return ResolvedProvider(config, ProviderSettings(kind=config.kind, name=config.name, **values), sources, problems)


def _guardrail_values(config, env, problems):
    """The guardrail an Anthropic provider applies through ApplyGuardrail, with the AWS access of the Bedrock
    provider the operator chose (Bedrock providers use their own; their plugin sets the rest)."""
    if config.kind == "bedrock":
        return {"guardrail_apply": bool(config.guardrail_apply)}
    if not (config.guardrail_apply and config.guardrail_identifier):
        return {}
    values = {"guardrail_apply": True, "guardrail_identifier": config.guardrail_identifier,
              "guardrail_version": config.guardrail_version or None}
    aws = ProviderConfig.objects.filter(name=config.guardrail_aws_provider, kind="bedrock").first()
    if aws is None:
        problems.append(("guardrail_aws_provider", "Choose the Bedrock provider whose AWS access calls "
                                                   "ApplyGuardrail."))
        return {}
    values["guardrail_aws"] = build_settings(aws, environment=env).settings
    return values


def prompt_caching_values(config):
    """The provider's automatic prompt caching policy, blank fields following the global settings."""
    chosen = getattr(config, "prompt_caching", "") or ""
    ttl = getattr(config, "prompt_caching_ttl", "") or django_settings.PROMPT_CACHING_TTL
    enabled = chosen == "on" or (chosen != "off" and bool(django_settings.PROMPT_CACHING_AUTO))
    return {"prompt_caching": enabled, "prompt_caching_ttl": ttl}


def fingerprint(config):
    """A digest of what a test connection exercises; equal digests mean the same configuration.

    Secrets enter as HMACs under SECRET_KEY, so the digest reveals nothing about them.
    """
    data = {name: getattr(config, name) for name in CONFIG_FIELDS if name not in UNTESTED_FIELDS}
    if not data.get("allow_insecure_http"):
        data.pop("allow_insecure_http", None)  # digests taken before the option existed stay equal
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
    return [build_settings(p, environment=selection.environment) for p in chain]


def active_settings(environ=None):
    """ProviderSettings of the primary and fallbacks, in order."""
    return [resolved.settings for resolved in active_chain(environ)]


def active_rollout(chain_names):
    """The stored gradual rollout, when its target is in the active chain: {"target", "percent"}; else None."""
    rollout = ProviderRouting.load().rollout or {}
    target, percent = rollout.get("target"), rollout.get("percent")
    if target not in chain_names or not isinstance(percent, int) or not 0 < percent <= 100:
        return None
    return {"target": target, "percent": percent}


def apply_rollout(chain, rollout, draw):
    """`chain` (ProviderSettings) with the rollout's target first when `draw` (0 <= draw < 1) falls in
    its share; the others keep their order, so the source stays the next in line."""
    if not rollout or draw * 100 >= rollout["percent"]:
        return chain
    first = [s for s in chain if s.name == rollout["target"]]
    return first + [s for s in chain if s.name != rollout["target"]] if first else chain
