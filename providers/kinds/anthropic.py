"""The Anthropic API (api.anthropic.com or a compatible base URL), Django side."""
import json

from django import forms

from moments_admin.limits import apply_limits
from providers import validation
from providers.curl import PING, cacert_option, quoted
from providers.forms import SOURCE_CHOICES, ProviderForm, validated
from providers.kinds.base import ClaudeCodeBlock, KindPlugin, resolve_secret, secret_shown
from providers.models import ProviderConfig

DEFAULT_BASE_URL = "https://api.anthropic.com"


class AnthropicProviderForm(ProviderForm):
    @staticmethod
    def secret_urls(config):
        return {"base_url": "API key"}

    kind = "anthropic"
    fields_template = "providers/kinds/anthropic_fields.html"
    destination_fields = {"base_url": "https://api.anthropic.com"}  # a stored secret is only sent here
    base_url = forms.CharField(required=False, label="Base URL", initial="https://api.anthropic.com",
                               help_text="Leave blank for https://api.anthropic.com.")
    api_key_source = forms.ChoiceField(choices=SOURCE_CHOICES, widget=forms.RadioSelect, initial="env",
                                       label="API key", required=False)
    api_key_env = forms.CharField(required=False, initial="ANTHROPIC_API_KEY", label="Env var with the API key")
    api_key = forms.CharField(required=False, label="API key", strip=True,
                              widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    secret_fields = {"api_key": "api_key_encrypted"}
    refresh_fields = ("api_key_source",)

    @classmethod
    def initial_from(cls, instance):
        initial = super().initial_from(instance)
        initial["api_key_source"] = "env" if instance.api_key_env or not instance.api_key_encrypted else "stored"
        return initial

    def clean_api_key_source(self):
        return self.cleaned_data["api_key_source"] or "env"

    def clean_base_url(self):
        return validated(validation.url, self.cleaned_data["base_url"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("api_key_source") == "env":
            try:
                cleaned["api_key_env"] = validation.env_name(cleaned.get("api_key_env"), required=True)
            except ValueError as exc:
                self.add_error("api_key_env", str(exc))
        elif cleaned.get("api_key_source") == "stored":
            if not cleaned.get("api_key") and not self.instance.api_key_encrypted:
                self.add_error("api_key", "Enter the API key to store.")
        self.require_secrets_for_new_destination()
        return cleaned

    def secrets_in_use(self):
        return ["api_key"] if self.cleaned_data.get("api_key_source") == "stored" else []

    def apply_kind_fields(self, config, data):
        config.base_url = data["base_url"]
        if data["api_key_source"] == "env":
            config.api_key_env = data["api_key_env"]
            config.api_key_encrypted = ""
        else:
            config.api_key_env = ""
            self._secret("api_key", "api_key_encrypted", config)


apply_limits(AnthropicProviderForm, ProviderConfig)


class AnthropicKind(KindPlugin):
    name = "anthropic"
    form_class = AnthropicProviderForm
    label = "Anthropic API"
    export_keys = ("api_key_env", "base_url")
    export_always = ("api_key_env", "base_url")

    config_fields = frozenset({"base_url", "api_key_env", "api_key_encrypted"})  # ProviderConfig fields this kind reads
    config_keys = ("api_key_env", "api_key_stored", "base_url")

    def check_config(self, v, values, flags, block, path):
        """Rules of a config.yml block of this kind that span keys; issues go to `v`."""
        if "api_key_env" in block and not values["api_key_env"] and not flags.get("api_key_stored"):
            v.issue((*path, "api_key_env"), "Name the env var holding the API key, or set api_key_stored: true.")
        if flags.get("api_key_stored") and "api_key_env" not in block:
            values["api_key_env"] = ""

    def settings_values(self, config, env, sources, problems):
        api_key = resolve_secret(config, "api_key_env", "api_key_encrypted", "api_key", sources, problems,
                                 legacy=("NEXT_PUBLIC_ANTHROPIC_API_KEY", env.legacy_anthropic_key))
        if not api_key and not any(f == "api_key_env" for f, _ in problems):
            problems.append(("api_key", "No API key: set an env var name or store a key."))
        return {"base_url": config.base_url or None, "api_key": api_key}

    def summary(self, config):
        return config.base_url or "api.anthropic.com"

    def credentials_summary(self, identity, key_shown):
        return f"API key {key_shown} accepted".replace("  ", " ")

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
