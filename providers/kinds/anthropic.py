"""The Anthropic API (api.anthropic.com or a compatible base URL), Django side."""
import json

from providers.curl import PING, cacert_option, quoted
from providers.kinds.base import ClaudeCodeBlock, KindPlugin, resolve_secret, secret_shown

DEFAULT_BASE_URL = "https://api.anthropic.com"


class AnthropicKind(KindPlugin):
    name = "anthropic"
    label = "Anthropic API"
    export_keys = ("api_key_env", "base_url")
    export_always = ("api_key_env", "base_url")

    def settings_values(self, config, env, sources, problems):
        api_key = resolve_secret(config, "api_key_env", "api_key_encrypted", "api_key", sources, problems,
                                 legacy=("NEXT_PUBLIC_ANTHROPIC_API_KEY", env.legacy_anthropic_key))
        if not api_key and not any(f == "api_key_env" for f, _ in problems):
            problems.append(("api_key", "No API key: set an env var name or store a key."))
        return {"base_url": config.base_url or None, "api_key": api_key}

    def connection_fields(self, step, settings):
        return ["base_url"]

    def credential_fields(self, error, resolved):
        return ["api_key_env" if resolved.config.api_key_env else "api_key"]

    def curl(self, step, settings, model_id=None):
        base = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        cacert = cacert_option(settings)
        if step in ("credentials", "permissions", "models"):
            return (f"curl -sS{cacert} {quoted(base + '/v1/models')} -H \"x-api-key: $ANTHROPIC_API_KEY\" "
                    "-H 'anthropic-version: 2023-06-01'")
        payload = json.dumps({"model": model_id or "MODEL_ID", **PING} | ({"stream": True} if step == "streaming"
                                                                         else {}))
        return (f"curl -sS{cacert} {quoted(base + '/v1/messages')} -H \"x-api-key: $ANTHROPIC_API_KEY\" "
                f"-H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' -d {quoted(payload)}")

    def claude_code(self, resolved, environment):
        settings = resolved.settings
        block = ClaudeCodeBlock()
        block.env.append(("ANTHROPIC_API_KEY", "<your Anthropic API key>", "a secret: paste it yourself"))
        if settings.base_url and settings.base_url.rstrip("/") != DEFAULT_BASE_URL:
            block.env.append(("ANTHROPIC_BASE_URL", settings.base_url, "the configured base URL"))
        return block

    def effective_rows(self, resolved, *, staff=False):
        s, sources = resolved.settings, resolved.sources
        source = sources.get("api_key", "")
        return [("base_url", s.base_url or DEFAULT_BASE_URL, "stored configuration" if s.base_url else "default"),
                ("api_key", secret_shown(s.api_key, source, staff), source)]


PLUGIN = AnthropicKind()
