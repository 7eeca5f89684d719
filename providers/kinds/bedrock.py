"""Amazon Bedrock, Django side: AWS auth modes, regions, inference profiles."""
import json

from django import forms

from moments_admin.limits import apply_limits
from providers import validation
from providers.clients.bedrock_integrations import OVERRIDES
from providers.clients.bedrock_policy import provider_policy
from providers.curl import PING, cacert_option, quoted
from providers.forms import SOURCE_CHOICES, validated
from providers.kinds.aws import (
    AWS_CONFIG_FIELDS,
    AWS_CONFIG_KEYS,
    AWS_ENV_KEYS,  # noqa: F401 - re-exported for the provider page
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

INTEGRATION_LABELS = {"auto": "Automatic (each model's documented integration)",
                      "invoke": "Legacy InvokeModel only", "messages": "Messages API on bedrock-runtime only",
                      "mantle": "bedrock-mantle only"}
assert tuple(INTEGRATION_LABELS) == OVERRIDES
RECOMMENDED_MAX_OUTPUT_TOKENS = 4096  # Bedrock throttling counts at least this per request
RECOMMENDED_MAX_THINKING_TOKENS = 1024
BATCH_GUARDRAIL_FIELDS = ("batch_s3_bucket", "batch_s3_prefix", "batch_role_arn", "s3_endpoint_url",
                          "guardrail_identifier", "guardrail_version", "guardrail_stream_mode", "guardrail_apply")


def integration(value):
    """A config.yml or form value of bedrock_integration, checked."""
    value = (value or "").strip() or "auto"
    if value not in OVERRIDES:
        raise ValueError(f"Unknown Bedrock integration {value!r}: use one of {', '.join(OVERRIDES)}.")
    return value


class BedrockProviderForm(AwsAuthForm):
    @staticmethod
    def secret_urls(config):
        if config.auth_mode != "api_key":
            return {}  # SigV4 sends signatures, not secrets
        return {field: "Bedrock API key" for field in ("endpoint_url", "control_endpoint_url", "mantle_endpoint_url")}

    kind = "bedrock"
    fields_template = "providers/kinds/bedrock_fields.html"
    destination_fields = {"aws_region": "", "auth_mode": "", "endpoint_url": "", "control_endpoint_url": "",
                          "sts_endpoint_url": "", "mantle_endpoint_url": "",
                          "s3_endpoint_url": ""}  # a stored secret is only sent here
    bedrock_api_key_source = forms.ChoiceField(choices=SOURCE_CHOICES, widget=forms.RadioSelect, initial="env",
                                               label="Bedrock API key", required=False)
    bedrock_api_key_env = forms.CharField(required=False, initial="AWS_BEARER_TOKEN_BEDROCK",
                                          label="Env var with the API key")
    bedrock_api_key = forms.CharField(required=False, label="Bedrock API key", strip=True,
                                      widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    inference_profile = forms.CharField(required=False, label="Inference profile (optional)",
                                        help_text="A geo (us, eu, global…), a profile ID or an ARN for every model.")
    geo_preference = forms.ChoiceField(required=False, label="Preferred geography",
                                       choices=[("", "By region")] + [(g, g) for g in validation.GEO_CHOICES])
    bedrock_integration = forms.ChoiceField(
        choices=list(INTEGRATION_LABELS.items()), initial="auto", label="Bedrock integration", required=False,
        help_text="Automatic: each model through the integration its documentation names (catalog).")
    endpoint_url = forms.CharField(required=False, label="Runtime endpoint URL",
                                   help_text="A VPC endpoint or proxy for bedrock-runtime.")
    control_endpoint_url = forms.CharField(required=False, label="Control-plane endpoint URL")
    mantle_endpoint_url = forms.CharField(required=False, label="bedrock-mantle endpoint URL",
                                          help_text="Blank: https://bedrock-mantle.{region}.api.aws")
    secret_fields = {**AwsAuthForm.secret_fields, "bedrock_api_key": "bedrock_api_key_encrypted"}
    batch_s3_bucket = forms.CharField(required=False, label="S3 bucket for batch",
                                      help_text="Batch input is written here and Bedrock writes the output here.")
    batch_s3_prefix = forms.CharField(required=False, initial="moments-batch", label="S3 prefix")
    batch_role_arn = forms.CharField(required=False, label="Batch service role ARN",
                                     help_text="The role Bedrock assumes to read the input and write the output "
                                               "(trusts bedrock.amazonaws.com; s3:GetObject, s3:PutObject, "
                                               "s3:ListBucket on the bucket).")
    s3_endpoint_url = forms.CharField(required=False, label="S3 endpoint URL",
                                      help_text="An S3 VPC endpoint; empty for the region's own.")
    guardrail_identifier = forms.CharField(required=False, label="Guardrail ID or ARN")
    guardrail_version = forms.CharField(required=False, label="Guardrail version", help_text="A number or DRAFT.")
    guardrail_apply = forms.BooleanField(
        required=False, label="Also apply it with ApplyGuardrail to models on the Messages API and mantle",
        help_text="Those integrations take no guardrail: checked before the call and after it (streams: once they "
                  "end). Off: the guardrail does not apply to those models.")
    guardrail_stream_mode = forms.ChoiceField(
        required=False, label="Guardrail on streams", initial="sync",
        choices=[("sync", "Synchronous: checked before the text reaches the caller (adds latency)"),
                 ("async", "Asynchronous: text sent at once, blocked when the check catches up")])
    refresh_fields = ("auth_mode", "bedrock_api_key_source")

    @classmethod
    def initial_from(cls, instance):
        initial = super().initial_from(instance)
        initial["bedrock_api_key_source"] = ("env" if instance.bedrock_api_key_env
                                             or not instance.bedrock_api_key_encrypted else "stored")
        return initial

    def clean_bedrock_api_key_source(self):
        return self.cleaned_data["bedrock_api_key_source"] or "env"

    def clean_bedrock_integration(self):
        return self.cleaned_data["bedrock_integration"] or "auto"

    def clean_inference_profile(self):
        return validated(validation.model_id, self.cleaned_data["inference_profile"])

    def clean_endpoint_url(self):
        return validated(validation.url, self.cleaned_data["endpoint_url"])

    def clean_control_endpoint_url(self):
        return validated(validation.url, self.cleaned_data["control_endpoint_url"])

    def clean_mantle_endpoint_url(self):
        return validated(validation.url, self.cleaned_data["mantle_endpoint_url"])

    def clean_batch_s3_bucket(self):
        return validated(validation.s3_bucket, self.cleaned_data["batch_s3_bucket"])

    def clean_batch_s3_prefix(self):
        return validated(validation.s3_prefix, self.cleaned_data["batch_s3_prefix"])

    def clean_batch_role_arn(self):
        return validated(validation.role_arn, self.cleaned_data["batch_role_arn"])

    def clean_s3_endpoint_url(self):
        return validated(validation.url, self.cleaned_data["s3_endpoint_url"])

    def clean_guardrail_identifier(self):
        return validated(validation.guardrail_identifier, self.cleaned_data["guardrail_identifier"])

    def clean_guardrail_version(self):
        return validated(validation.guardrail_version, self.cleaned_data["guardrail_version"])

    def clean_guardrail_stream_mode(self):
        return validated(validation.guardrail_stream_mode, self.cleaned_data["guardrail_stream_mode"])

    def clean(self):
        cleaned = super().clean()
        self.clean_aws_auth(cleaned)
        if bool(cleaned.get("guardrail_identifier")) != bool(cleaned.get("guardrail_version")) \
                and "guardrail_identifier" not in self.errors and "guardrail_version" not in self.errors:
            self.add_error("guardrail_version" if cleaned.get("guardrail_identifier") else "guardrail_identifier",
                           "Give both the guardrail's identifier and its version, or neither.")
        self.clean_api_key_mode(cleaned, "bedrock_api_key", "Bedrock API key")
        self.require_secrets_for_new_destination()
        return cleaned

    def secrets_in_use(self):
        return self.api_key_mode_secrets_in_use("bedrock_api_key")

    def apply_kind_fields(self, config, data):
        self.apply_aws_auth(config, data)
        for name in ("inference_profile", "geo_preference", "endpoint_url", "control_endpoint_url",
                     "bedrock_integration", "mantle_endpoint_url", *BATCH_GUARDRAIL_FIELDS):
            setattr(config, name, data[name])
        if data["auth_mode"] == "api_key":
            if data["bedrock_api_key_source"] == "env":
                config.bedrock_api_key_env = data["bedrock_api_key_env"]
                config.bedrock_api_key_encrypted = ""
            else:
                config.bedrock_api_key_env = ""
                self._secret("bedrock_api_key", "bedrock_api_key_encrypted", config)
        else:
            config.bedrock_api_key_env = data.get("bedrock_api_key_env") or "AWS_BEARER_TOKEN_BEDROCK"
            config.bedrock_api_key_encrypted = ""


apply_limits(BedrockProviderForm, ProviderConfig)


class BedrockKind(KindPlugin):
    name = "bedrock"
    form_class = BedrockProviderForm
    label = "Amazon Bedrock"
    export_keys = ("aws_region", "auth_mode", "aws_profile", "bedrock_api_key_env", "aws_access_key_id", "role_arn",
                   "external_id", "role_session_name", "role_duration_seconds", "inference_profile",
                   "geo_preference", "bedrock_integration", "endpoint_url", "control_endpoint_url",
                   "mantle_endpoint_url", "sts_endpoint_url", *BATCH_GUARDRAIL_FIELDS)
    export_always = ("aws_region", "auth_mode", "inference_profile")

    config_fields = AWS_CONFIG_FIELDS | {
        "bedrock_api_key_env", "inference_profile", "geo_preference", "endpoint_url", "control_endpoint_url",
        "bedrock_api_key_encrypted", "bedrock_integration", "mantle_endpoint_url", *BATCH_GUARDRAIL_FIELDS}  # ProviderConfig fields it reads
    config_keys = (*AWS_CONFIG_KEYS, "use_bedrock_api_key", "bedrock_api_key_env", "bedrock_api_key_stored",
                   "inference_profile", "geo_preference", "bedrock_integration", "endpoint_url",
                   "control_endpoint_url", "mantle_endpoint_url", *BATCH_GUARDRAIL_FIELDS)
    text_checks = {"bedrock_integration": integration}

    key_source_field = "bedrock_api_key"

    def credentials_summary(self, identity, key_shown):
        if identity.note:  # STS could not be used: a signed control-plane call proved the credentials
            return "Credentials accepted by the Bedrock control plane (STS could not be used)"
        if identity.account:
            return f"Account {identity.account}, {identity.arn}"
        return f"Bedrock API key {key_shown} accepted".replace("  ", " ")

    def summary(self, config):
        integration = "" if config.bedrock_integration in ("", "auto") else f" · {config.bedrock_integration} only"
        return f"{config.aws_region} · {config.auth_mode_label}{' + role' if config.role_arn else ''}{integration}"

    def check_config(self, v, values, flags, block, path):
        """Rules of a config.yml block of this kind that span keys; issues go to `v`."""
        use_api_key = flags.get("use_bedrock_api_key")
        if "auth_mode" not in block:
            values["auth_mode"] = "api_key" if use_api_key else ("profile" if values["aws_profile"] else "default_chain")
        elif use_api_key is not None and use_api_key != (values["auth_mode"] == "api_key"):
            v.issue((*path, "use_bedrock_api_key"),
                    f"use_bedrock_api_key: {str(use_api_key).lower()} contradicts auth_mode: {values['auth_mode']}.")
        check_aws_config(v, values, block, path, what="Bedrock")
        check_stored_keys(v, values, flags, path)
        mode = values["auth_mode"]
        if mode == "api_key" and not values["bedrock_api_key_env"] and not flags.get("bedrock_api_key_stored"):
            v.issue((*path, "bedrock_api_key_env"),
                    "auth_mode api_key needs bedrock_api_key_env (or bedrock_api_key_stored: true).")
        if mode == "api_key" and values["role_arn"]:
            v.issue((*path, "role_arn"), "A Bedrock API key cannot assume a role: remove role_arn or use SigV4 credentials.")
        if mode != "api_key" and "bedrock_api_key_env" not in block:
            values["bedrock_api_key_env"] = ProviderConfig().bedrock_api_key_env

    def settings_values(self, config, env, sources, problems):
        values = aws_settings_values(config, env, sources, problems)
        values.update(
            endpoint_url=config.endpoint_url or None, control_endpoint_url=config.control_endpoint_url or None,
            geo_preference=config.geo_preference or None, inference_profile=config.inference_profile or None,
            bedrock_integration=config.bedrock_integration or "auto",
            mantle_endpoint_url=config.mantle_endpoint_url or None,
            batch_s3_bucket=config.batch_s3_bucket or None, batch_s3_prefix=config.batch_s3_prefix or "",
            batch_role_arn=config.batch_role_arn or None, s3_endpoint_url=config.s3_endpoint_url or None,
            guardrail_identifier=config.guardrail_identifier or None,
            guardrail_version=config.guardrail_version or None,
            guardrail_stream_mode=config.guardrail_stream_mode or "sync",
        )
        if config.auth_mode == "api_key":
            values["bedrock_api_key"] = resolve_secret(config, "bedrock_api_key_env", "bedrock_api_key_encrypted",
                                                       "bedrock_api_key", sources, problems)
            if not values["bedrock_api_key"] and not any(f == "bedrock_api_key_env" for f, _ in problems):
                problems.append(("bedrock_api_key", "No Bedrock API key: set an env var name or store a key."))
        return values

    def iam_policy(self, actions, resources, settings):
        return provider_policy(actions, resources, settings, uses_api_key=settings.auth_mode == "api_key")

    def connection_fields(self, step, settings):
        if step == "credentials" and settings.auth_mode != "api_key":
            return ["sts_endpoint_url", "aws_region"]
        return ["endpoint_url", "aws_region"]

    def credential_fields(self, error, resolved):
        settings, config = resolved.settings, resolved.config
        fields = aws_credential_fields(error, settings)
        if fields:
            return fields
        if settings.auth_mode == "api_key":
            return ["bedrock_api_key_env" if config.bedrock_api_key_env else "bedrock_api_key"]
        return ["auth_mode"]

    def model_fields(self, mapping_field):
        return [mapping_field, "aws_region"]

    def curl(self, step, settings, model_id=None):
        cacert = cacert_option(settings)
        region = settings.aws_region or "us-east-1"
        if settings.auth_mode == "api_key":
            auth = '-H "Authorization: Bearer $AWS_BEARER_TOKEN_BEDROCK"'
        else:
            auth = sigv4_curl_auth(settings)
        if step == "credentials" and settings.auth_mode != "api_key":
            url = settings.sts_endpoint_url or f"https://sts.{region}.amazonaws.com"
            return (f"curl -sS{cacert} {auth.format(region=region, service='sts')} {quoted(url + '/')} "
                    "-d 'Action=GetCallerIdentity&Version=2011-06-15'")
        if step == "models":
            url = (settings.control_endpoint_url or f"https://bedrock.{region}.amazonaws.com") + "/foundation-models"
            return (f"curl -sS{cacert} {auth.format(region=region, service='bedrock')} "
                    f"{quoted(url + '?byProvider=Anthropic')}")
        runtime = settings.endpoint_url or f"https://bedrock-runtime.{region}.amazonaws.com"
        operation = "invoke-with-response-stream" if step == "streaming" else "invoke"
        invoke_body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 1,
                                  "messages": PING["messages"]})
        if step == "permissions":
            invoke_body = json.dumps({"max_tokens": 0, "messages": []})
        url = f"{runtime}/model/{model_id or 'MODEL_ID'}/{operation}"
        return (f"curl -sS{cacert} {auth.format(region=region, service='bedrock')} "
                f"-H 'content-type: application/json' {quoted(url)} -d {quoted(invoke_body)}")

    def claude_code(self, resolved, environment):
        settings = resolved.settings
        block = ClaudeCodeBlock(max_output_tokens=RECOMMENDED_MAX_OUTPUT_TOKENS,
                                max_thinking_tokens=RECOMMENDED_MAX_THINKING_TOKENS)
        if settings.bedrock_integration == "mantle":
            block.env.append(("CLAUDE_CODE_USE_MANTLE", "1", "use bedrock-mantle (this provider's integration)"))
            if settings.mantle_endpoint_url:
                block.env.append(("ANTHROPIC_BEDROCK_MANTLE_BASE_URL", settings.mantle_endpoint_url,
                                  "the mantle endpoint override"))
        else:
            block.env.append(("CLAUDE_CODE_USE_BEDROCK", "1", "use Amazon Bedrock"))
        claude_code_aws_auth(block, resolved, api_key_env=("AWS_BEARER_TOKEN_BEDROCK", "<your Bedrock API key>"))
        if settings.endpoint_url and settings.bedrock_integration != "mantle":
            block.env.append(("ANTHROPIC_BEDROCK_BASE_URL", settings.endpoint_url, "the runtime endpoint override"))
        return block

    def claude_code_model_id(self, settings, model_id):
        if settings.bedrock_integration != "mantle":
            return model_id
        from providers.clients.bedrock_mantle import mantle_model_id  # mantle takes bare anthropic.<model> IDs

        return mantle_model_id(model_id)

    def effective_rows(self, resolved, *, staff=False):
        s, sources = resolved.settings, resolved.sources
        rows = aws_auth_rows(resolved, staff=staff)
        if s.auth_mode == "api_key":
            source = sources.get("bedrock_api_key", "")
            rows.insert(2, ("bedrock_api_key", secret_shown(s.bedrock_api_key, source, staff), source))
        rows.append(("bedrock_integration", s.bedrock_integration,
                     "stored configuration" if s.bedrock_integration != "auto" else "default"))
        for name in ("endpoint_url", "control_endpoint_url", "mantle_endpoint_url", "sts_endpoint_url",
                     "inference_profile", "geo_preference"):
            if getattr(s, name):
                rows.append((name, getattr(s, name), "stored configuration"))
        return rows

    def exported(self, config):
        out = {"use_bedrock_api_key": config.auth_mode == "api_key"}
        if config.auth_mode == "profile":
            out["aws_profile"] = config.aws_profile
        return out

    def skip_export(self, key, config):
        return key == "bedrock_api_key_env" and config.auth_mode != "api_key"


PLUGIN = BedrockKind()
