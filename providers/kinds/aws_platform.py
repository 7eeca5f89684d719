"""Claude Platform on AWS (kind aws_platform), Django side: region, workspace, AWS auth or a workspace API key.

The Anthropic-operated Claude API at https://aws-external-anthropic.{region}.api.aws, signed with SigV4
(service aws-external-anthropic) or called with a workspace API key; every request names the workspace.
Model IDs and prices are the Claude API's. The layer's client is providers.clients.aws_platform.
"""
import json

from django import forms

from moments_admin.limits import apply_limits
from providers import validation
from providers.clients.aws_platform import INFERENCE_ACTIONS, SIGNING_SERVICE, iam_policy
from providers.curl import PING, cacert_option, quoted
from providers.forms import SOURCE_CHOICES, validated
from providers.kinds.aws import (
    AWS_CONFIG_FIELDS,
    AWS_CONFIG_KEYS,
    AwsAuthForm,
    aws_auth_rows,
    aws_credential_fields,
    aws_settings_values,
    check_aws_config,
    check_stored_keys,
    claude_code_aws_auth,
    sigv4_curl_auth,
)
from providers.kinds.base import ClaudeCodeBlock, KindPlugin, resolve_secret, secret_shown
from providers.models import ProviderConfig

KEY_ENV = "ANTHROPIC_AWS_API_KEY"  # the SDK's and Claude Code's name for a workspace API key
AUTH_MODE_LABELS = {**validation.AUTH_MODE_LABELS, "api_key": "Workspace API key"}


def endpoint(settings):
    return (settings.base_url or f"https://aws-external-anthropic.{settings.aws_region or 'us-east-1'}.api.aws")


class AwsPlatformProviderForm(AwsAuthForm):
    @staticmethod
    def secret_urls(config):
        return {"base_url": "workspace API key"} if config.auth_mode == "api_key" else {}

    kind = "aws_platform"
    fields_template = "providers/kinds/aws_platform_fields.html"
    destination_fields = {"aws_region": "", "auth_mode": "", "base_url": "", "workspace_id": "",
                          "sts_endpoint_url": ""}  # a stored secret is only sent where these were saved
    auth_mode_labels = AUTH_MODE_LABELS
    workspace_id = forms.CharField(required=False, label="Workspace ID", help_text="From the workspace in the Claude Console: "
                                                                   "wrkspc_…; sent on every request.")
    api_key_source = forms.ChoiceField(choices=SOURCE_CHOICES, widget=forms.RadioSelect, initial="env",
                                       label="Workspace API key", required=False)
    api_key_env = forms.CharField(required=False, initial=KEY_ENV, label="Env var with the workspace API key")
    api_key = forms.CharField(required=False, label="Workspace API key", strip=True,
                              widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    base_url = forms.CharField(required=False, label="Endpoint URL",
                               help_text="Blank: https://aws-external-anthropic.{region}.api.aws")
    secret_fields = {**AwsAuthForm.secret_fields, "api_key": "api_key_encrypted"}
    refresh_fields = ("auth_mode", "api_key_source")

    @classmethod
    def initial_from(cls, instance):
        initial = super().initial_from(instance)
        initial["api_key_source"] = "env" if instance.api_key_env or not instance.api_key_encrypted else "stored"
        return initial

    def clean_workspace_id(self):
        value = validated(validation.workspace_id, self.cleaned_data["workspace_id"])
        if not value:
            raise forms.ValidationError("Enter the workspace ID (wrkspc_…).")
        return value

    def clean_api_key_source(self):
        return self.cleaned_data["api_key_source"] or "env"

    def clean_base_url(self):
        return validated(validation.url, self.cleaned_data["base_url"])

    def clean(self):
        cleaned = super().clean()
        self.clean_aws_auth(cleaned)
        self.clean_api_key_mode(cleaned, "api_key", "workspace API key")
        self.require_secrets_for_new_destination()
        return cleaned

    def secrets_in_use(self):
        return self.api_key_mode_secrets_in_use("api_key")

    def apply_kind_fields(self, config, data):
        self.apply_aws_auth(config, data)
        config.workspace_id = data["workspace_id"]
        config.base_url = data["base_url"]
        if data["auth_mode"] == "api_key" and data["api_key_source"] == "stored":
            config.api_key_env = ""
            self._secret("api_key", "api_key_encrypted", config)
        else:  # the env var name is kept (the default) so switching to a key later needs no typing
            config.api_key_env = (data.get("api_key_env") or KEY_ENV) if data["auth_mode"] == "api_key" else KEY_ENV
            config.api_key_encrypted = ""


apply_limits(AwsPlatformProviderForm, ProviderConfig)


class AwsPlatformKind(KindPlugin):
    name = "aws_platform"
    form_class = AwsPlatformProviderForm
    label = "Claude Platform on AWS"
    key_source_field = "api_key"
    export_keys = ("aws_region", "workspace_id", "auth_mode", "aws_profile", "api_key_env", "aws_access_key_id",
                   "role_arn", "external_id", "role_session_name", "role_duration_seconds", "base_url",
                   "sts_endpoint_url")
    export_always = ("aws_region", "workspace_id", "auth_mode")
    config_fields = AWS_CONFIG_FIELDS | {"workspace_id", "api_key_env", "api_key_encrypted", "base_url"}
    config_keys = (*AWS_CONFIG_KEYS, "workspace_id", "api_key_env", "api_key_stored", "base_url")

    def summary(self, config):
        return (f"{config.aws_region} · {config.workspace_id} · "
                f"{AUTH_MODE_LABELS.get(config.auth_mode, config.auth_mode)}{' + role' if config.role_arn else ''}")

    def check_config(self, v, values, flags, block, path):
        if "auth_mode" not in block:
            values["auth_mode"] = "profile" if values["aws_profile"] else "default_chain"
        check_aws_config(v, values, block, path, what="Claude Platform on AWS")
        check_stored_keys(v, values, flags, path)
        if not values.get("workspace_id"):
            v.issue((*path, "workspace_id"), "Set workspace_id, the wrkspc_… ID every request must carry.")
        if "api_key_env" not in block:  # the model's default names the Anthropic API's key, not a workspace's
            values["api_key_env"] = "" if flags.get("api_key_stored") else KEY_ENV
        if values["auth_mode"] == "api_key":
            if not values["api_key_env"] and not flags.get("api_key_stored"):
                v.issue((*path, "api_key_env"), "auth_mode api_key needs api_key_env (the variable holding the "
                                                "workspace API key) or api_key_stored: true.")
            if values["role_arn"]:
                v.issue((*path, "role_arn"), "A workspace API key cannot assume a role: remove role_arn.")

    def settings_values(self, config, env, sources, problems):
        values = aws_settings_values(config, env, sources, problems)
        values.update(workspace_id=config.workspace_id or None, base_url=config.base_url or None)
        if not config.workspace_id:
            problems.append(("workspace_id", "No workspace ID: every request to Claude Platform on AWS names one."))
        if config.auth_mode == "api_key":
            values["api_key"] = resolve_secret(config, "api_key_env", "api_key_encrypted", "api_key", sources,
                                               problems)
            if not values["api_key"] and not any(f == "api_key_env" for f, _ in problems):
                problems.append(("api_key", "No workspace API key: set an env var name or store a key."))
        return values

    def credentials_summary(self, identity, key_shown):
        if identity.auth_mode == "api_key":
            return f"Workspace API key {key_shown} accepted".replace("  ", " ")
        return f"SigV4 credentials ({identity.auth_mode}) accepted for the workspace"

    def connection_fields(self, step, settings):
        return ["base_url", "aws_region"]

    def permission_fields(self, error, resolved):
        if "workspace" in f"{error.message} {error.raw_message or ''}".lower():
            return ["workspace_id"]
        return super().permission_fields(error, resolved)

    def credential_fields(self, error, resolved):
        settings, config = resolved.settings, resolved.config
        if "workspace" in f"{error.message} {error.raw_message or ''}".lower():
            return ["workspace_id"]
        fields = aws_credential_fields(error, settings)
        if fields:
            return fields
        if settings.auth_mode == "api_key":
            return ["api_key_env" if config.api_key_env else "api_key"]
        return ["auth_mode"]

    def iam_policy(self, actions, resources, settings):
        # Everything the provider uses, the denied actions among them.
        return iam_policy({*actions, *INFERENCE_ACTIONS}, settings.aws_region, settings.workspace_id)

    def curl(self, step, settings, model_id=None):
        cacert = cacert_option(settings)
        region = settings.aws_region or "us-east-1"
        base = endpoint(settings).rstrip("/")
        if settings.auth_mode == "api_key":
            auth = f'-H "x-api-key: ${KEY_ENV}"'
        else:
            auth = sigv4_curl_auth(settings).format(region=region, service=SIGNING_SERVICE)
        workspace = f"-H 'anthropic-workspace-id: {settings.workspace_id or 'WORKSPACE_ID'}'"
        if step in ("credentials", "models"):
            return f"curl -sS{cacert} {auth} {workspace} -H 'anthropic-version: 2023-06-01' {quoted(base + '/v1/models')}"
        payload = {"model": model_id or "MODEL_ID", **PING} | ({"stream": True} if step == "streaming" else {})
        if step == "permissions":
            payload = {"model": model_id or "MODEL_ID", "max_tokens": 0, "messages": []}
        return (f"curl -sS{cacert} {auth} {workspace} -H 'anthropic-version: 2023-06-01' "
                f"-H 'content-type: application/json' {quoted(base + '/v1/messages')} -d {quoted(json.dumps(payload))}")

    def claude_code(self, resolved, environment):
        settings = resolved.settings
        block = ClaudeCodeBlock()
        block.env.append(("CLAUDE_CODE_USE_ANTHROPIC_AWS", "1", "use Claude Platform on AWS"))
        block.env.append(("ANTHROPIC_AWS_WORKSPACE_ID", settings.workspace_id, "the workspace every request names"))
        claude_code_aws_auth(block, resolved, api_key_env=(KEY_ENV, "<your workspace API key>"))
        if settings.base_url:
            block.env.append(("ANTHROPIC_AWS_BASE_URL", settings.base_url, "the endpoint override"))
        return block

    def effective_rows(self, resolved, *, staff=False):
        s, sources = resolved.settings, resolved.sources
        rows = aws_auth_rows(resolved, staff=staff)
        rows.insert(1, ("workspace_id", s.workspace_id, "stored configuration"))
        if s.auth_mode == "api_key":
            source = sources.get("api_key", "")
            rows.append(("api_key", secret_shown(s.api_key, source, staff), source))
        rows.append(("base_url", endpoint(s), "stored configuration" if s.base_url else "default"))
        if s.sts_endpoint_url:
            rows.append(("sts_endpoint_url", s.sts_endpoint_url, "stored configuration"))
        return rows

    def exported(self, config):
        return {"aws_profile": config.aws_profile} if config.auth_mode == "profile" else {}

    def skip_export(self, key, config):
        return key == "api_key_env" and config.auth_mode != "api_key"


PLUGIN = AwsPlatformKind()
