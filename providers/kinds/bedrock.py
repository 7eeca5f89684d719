"""Amazon Bedrock, Django side: AWS auth modes, regions, inference profiles."""
import json

from django import forms

from moments_admin.limits import apply_limits
from providers import validation
from providers.aws_profiles import list_profiles
from providers.curl import PING, cacert_option, quoted
from providers.environment import env_secret
from providers.forms import SOURCE_CHOICES, ProviderForm, validated
from providers.kinds.base import ClaudeCodeBlock, KindPlugin, access_key_shown, resolve_secret, secret_shown
from providers.models import ProviderConfig

AWS_ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
RECOMMENDED_MAX_OUTPUT_TOKENS = 4096  # Bedrock throttling counts at least this per request
RECOMMENDED_MAX_THINKING_TOKENS = 1024
BATCH_GUARDRAIL_FIELDS = ("batch_s3_bucket", "batch_s3_prefix", "batch_role_arn", "s3_endpoint_url",
                          "guardrail_identifier", "guardrail_version", "guardrail_stream_mode", "guardrail_apply")


class BedrockProviderForm(ProviderForm):
    kind = "bedrock"
    fields_template = "providers/kinds/bedrock_fields.html"
    destination_fields = {"aws_region": "", "auth_mode": "", "endpoint_url": "", "control_endpoint_url": "",
                          "sts_endpoint_url": "", "s3_endpoint_url": ""}  # a stored secret is only sent where these were saved
    aws_region = forms.ChoiceField(label="Region")
    auth_mode = forms.ChoiceField(choices=list(validation.AUTH_MODE_LABELS.items()), initial="default_chain",
                                  label="Authentication")
    aws_profile = forms.CharField(required=False, label="Profile name")
    aws_access_key_id = forms.CharField(required=False, label="Access key ID")
    aws_secret_access_key = forms.CharField(required=False, label="Secret access key", strip=True,
                                            widget=forms.PasswordInput(render_value=False,
                                                                       attrs={"autocomplete": "off"}))
    aws_session_token = forms.CharField(required=False, label="Session token (optional)", strip=True,
                                        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    clear_session_token = forms.BooleanField(required=False, label="Remove the stored session token")
    bedrock_api_key_source = forms.ChoiceField(choices=SOURCE_CHOICES, widget=forms.RadioSelect, initial="env",
                                               label="Bedrock API key", required=False)
    bedrock_api_key_env = forms.CharField(required=False, initial="AWS_BEARER_TOKEN_BEDROCK",
                                          label="Env var with the API key")
    bedrock_api_key = forms.CharField(required=False, label="Bedrock API key", strip=True,
                                      widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    role_arn = forms.CharField(required=False, label="Role ARN",
                               help_text="Assume this role on top of the credentials above; refreshed before expiry.")
    external_id = forms.CharField(required=False, label="External ID")
    role_session_name = forms.CharField(required=False, initial="moments-admin", label="Session name")
    role_duration_seconds = forms.IntegerField(initial=3600, label="Session duration (seconds)", required=False)
    inference_profile = forms.CharField(required=False, label="Inference profile (optional)",
                                        help_text="A geo (us, eu, global…), a profile ID or an ARN for every model.")
    geo_preference = forms.ChoiceField(required=False, label="Preferred geography",
                                       choices=[("", "By region")] + [(g, g) for g in validation.GEO_CHOICES])
    endpoint_url = forms.CharField(required=False, label="Runtime endpoint URL",
                                   help_text="A VPC endpoint or proxy for bedrock-runtime.")
    control_endpoint_url = forms.CharField(required=False, label="Control-plane endpoint URL")
    sts_endpoint_url = forms.CharField(required=False, label="STS endpoint URL")
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
    secret_fields = {"aws_secret_access_key": "aws_secret_access_key_encrypted",
                     "aws_session_token": "aws_session_token_encrypted",
                     "bedrock_api_key": "bedrock_api_key_encrypted"}
    refresh_fields = ("auth_mode", "bedrock_api_key_source")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["aws_region"].choices = [(r, r) for r in validation.bedrock_regions()]
        self.fields["aws_region"].initial = self.instance.aws_region or "us-east-1"
        self.profiles = list_profiles()

    @classmethod
    def initial_from(cls, instance):
        initial = super().initial_from(instance)
        initial["bedrock_api_key_source"] = ("env" if instance.bedrock_api_key_env
                                             or not instance.bedrock_api_key_encrypted else "stored")
        return initial

    def clean_aws_access_key_id(self):
        return validated(validation.access_key_id, self.cleaned_data["aws_access_key_id"])

    def clean_role_arn(self):
        return validated(validation.role_arn, self.cleaned_data["role_arn"])

    def clean_role_session_name(self):
        return validated(validation.role_session_name, self.cleaned_data["role_session_name"])

    def clean_role_duration_seconds(self):
        value = self.cleaned_data["role_duration_seconds"]
        return 3600 if value is None else validated(validation.role_duration, value)

    def clean_bedrock_api_key_source(self):
        return self.cleaned_data["bedrock_api_key_source"] or "env"

    def clean_inference_profile(self):
        return validated(validation.model_id, self.cleaned_data["inference_profile"])

    def clean_endpoint_url(self):
        return validated(validation.url, self.cleaned_data["endpoint_url"])

    def clean_control_endpoint_url(self):
        return validated(validation.url, self.cleaned_data["control_endpoint_url"])

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

    def clean_sts_endpoint_url(self):
        return validated(validation.url, self.cleaned_data["sts_endpoint_url"])

    def clean(self):
        cleaned = super().clean()
        mode = cleaned.get("auth_mode")
        instance = self.instance
        if bool(cleaned.get("guardrail_identifier")) != bool(cleaned.get("guardrail_version")) \
                and "guardrail_identifier" not in self.errors and "guardrail_version" not in self.errors:
            self.add_error("guardrail_version" if cleaned.get("guardrail_identifier") else "guardrail_identifier",
                           "Give both the guardrail's identifier and its version, or neither.")
        if mode == "profile" and not cleaned.get("aws_profile"):
            self.add_error("aws_profile", "Choose the profile to use.")
        if mode == "static_keys":
            if not cleaned.get("aws_access_key_id") and "aws_access_key_id" not in self.errors:
                self.add_error("aws_access_key_id", "Enter the access key ID.")
            if not cleaned.get("aws_secret_access_key") and not instance.aws_secret_access_key_encrypted:
                self.add_error("aws_secret_access_key", "Enter the secret access key.")
        if mode == "api_key":
            if cleaned.get("bedrock_api_key_source") == "env":
                try:
                    cleaned["bedrock_api_key_env"] = validation.env_name(cleaned.get("bedrock_api_key_env"),
                                                                         required=True)
                except ValueError as exc:
                    self.add_error("bedrock_api_key_env", str(exc))
            elif not cleaned.get("bedrock_api_key") and not instance.bedrock_api_key_encrypted:
                self.add_error("bedrock_api_key", "Enter the Bedrock API key to store.")
            if cleaned.get("role_arn"):
                self.add_error("role_arn", "A Bedrock API key cannot assume a role; clear the role ARN.")
        self.require_secrets_for_new_destination()
        return cleaned

    def secrets_in_use(self):
        mode = self.cleaned_data.get("auth_mode")
        if mode == "static_keys":
            return ["aws_secret_access_key"] + ([] if self.cleaned_data.get("clear_session_token")
                                                else ["aws_session_token"])
        if mode == "api_key" and self.cleaned_data.get("bedrock_api_key_source") == "stored":
            return ["bedrock_api_key"]
        return []

    def apply_kind_fields(self, config, data):
        mode = data["auth_mode"]
        config.aws_region = data["aws_region"]
        config.auth_mode = mode
        config.aws_profile = data["aws_profile"] if mode == "profile" else ""
        for name in ("role_arn", "external_id", "inference_profile", "geo_preference", "endpoint_url",
                     "control_endpoint_url", "sts_endpoint_url", "role_duration_seconds", *BATCH_GUARDRAIL_FIELDS):
            setattr(config, name, data[name])
        config.role_session_name = data["role_session_name"] or "moments-admin"
        if not data["role_arn"]:
            config.external_id = ""
        if mode == "static_keys":
            config.aws_access_key_id = data["aws_access_key_id"]
            self._secret("aws_secret_access_key", "aws_secret_access_key_encrypted", config)
            if data.get("clear_session_token"):
                config.aws_session_token_encrypted = ""
            self._secret("aws_session_token", "aws_session_token_encrypted", config)
        else:  # unused secrets are dropped (revisions keep them)
            config.aws_access_key_id = ""
            config.aws_secret_access_key_encrypted = ""
            config.aws_session_token_encrypted = ""
        if mode == "api_key":
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
                   "geo_preference", "endpoint_url", "control_endpoint_url", "sts_endpoint_url",
                   *BATCH_GUARDRAIL_FIELDS)
    export_always = ("aws_region", "auth_mode", "inference_profile")

    config_fields = frozenset({
        "aws_region", "auth_mode", "aws_profile", "aws_access_key_id", "bedrock_api_key_env", "role_arn", "external_id",
        "role_session_name", "role_duration_seconds", "inference_profile", "geo_preference", "endpoint_url",
        "control_endpoint_url", "sts_endpoint_url", "aws_secret_access_key_encrypted", "aws_session_token_encrypted",
        "bedrock_api_key_encrypted", *BATCH_GUARDRAIL_FIELDS})  # ProviderConfig fields this kind reads
    config_keys = (
        "aws_region", "auth_mode", "aws_profile", "use_bedrock_api_key", "bedrock_api_key_env",
        "bedrock_api_key_stored", "aws_access_key_id", "aws_secret_access_key_stored", "aws_session_token_stored",
        "role_arn", "external_id", "role_session_name", "role_duration_seconds", "inference_profile",
        "geo_preference", "endpoint_url", "control_endpoint_url", "sts_endpoint_url", *BATCH_GUARDRAIL_FIELDS)

    def check_config(self, v, values, flags, block, path):
        """Rules of a config.yml block of this kind that span keys; issues go to `v`."""
        if not values["aws_region"] and "aws_region" not in block:
            v.issue((*path, "aws_region"), "Set aws_region, the AWS region to call Bedrock in.")
        use_api_key = flags.get("use_bedrock_api_key")
        if "auth_mode" not in block:
            values["auth_mode"] = "api_key" if use_api_key else ("profile" if values["aws_profile"] else "default_chain")
        elif use_api_key is not None and use_api_key != (values["auth_mode"] == "api_key"):
            v.issue((*path, "use_bedrock_api_key"),
                    f"use_bedrock_api_key: {str(use_api_key).lower()} contradicts auth_mode: {values['auth_mode']}.")
        mode = values["auth_mode"]
        if mode == "profile" and not values["aws_profile"]:
            v.issue((*path, "aws_profile"), "auth_mode profile needs aws_profile, the name of the profile.")
        if mode == "static_keys":
            if not values["aws_access_key_id"]:
                v.issue((*path, "aws_access_key_id"), "auth_mode static_keys needs aws_access_key_id.")
            if not flags.get("aws_secret_access_key_stored"):
                v.issue((*path, "aws_secret_access_key_stored"),
                        "auth_mode static_keys needs the secret access key stored in the database: set "
                        "aws_secret_access_key_stored: true after storing it on the provider page.")
        if mode == "api_key" and not values["bedrock_api_key_env"] and not flags.get("bedrock_api_key_stored"):
            v.issue((*path, "bedrock_api_key_env"),
                    "auth_mode api_key needs bedrock_api_key_env (or bedrock_api_key_stored: true).")
        if mode == "api_key" and values["role_arn"]:
            v.issue((*path, "role_arn"), "A Bedrock API key cannot assume a role: remove role_arn or use SigV4 credentials.")
        if mode != "api_key" and "bedrock_api_key_env" not in block:
            values["bedrock_api_key_env"] = ProviderConfig().bedrock_api_key_env

    def settings_values(self, config, env, sources, problems):
        # AWS_REGION only fills in a region the configuration leaves blank: on Lambda, ECS and
        # Fargate it is always set, and must not move traffic (and prices) silently.
        region = config.aws_region or env.aws_region or None
        sources["aws_region"] = "stored configuration" if config.aws_region else (
            "env AWS_REGION (the configuration names none)" if region else "not set")
        values = dict(
            aws_region=region, auth_mode=config.auth_mode, aws_profile=config.aws_profile or None,
            endpoint_url=config.endpoint_url or None, control_endpoint_url=config.control_endpoint_url or None,
            sts_endpoint_url=config.sts_endpoint_url or None, role_arn=config.role_arn or None,
            external_id=config.external_id or None, role_session_name=config.role_session_name or "moments-admin",
            role_duration_seconds=config.role_duration_seconds or 3600,
            geo_preference=config.geo_preference or None, inference_profile=config.inference_profile or None,
            batch_s3_bucket=config.batch_s3_bucket or None, batch_s3_prefix=config.batch_s3_prefix or "",
            batch_role_arn=config.batch_role_arn or None, s3_endpoint_url=config.s3_endpoint_url or None,
            guardrail_identifier=config.guardrail_identifier or None,
            guardrail_version=config.guardrail_version or None,
            guardrail_stream_mode=config.guardrail_stream_mode or "sync",
        )
        mode = config.auth_mode
        if mode == "static_keys":
            values["aws_access_key_id"] = config.aws_access_key_id or None
            values["aws_secret_access_key"] = resolve_secret(config, None, "aws_secret_access_key_encrypted",
                                                             "aws_secret_access_key", sources, problems)
            values["aws_session_token"] = resolve_secret(config, None, "aws_session_token_encrypted",
                                                         "aws_session_token", sources, problems) or None
            if not values["aws_secret_access_key"]:
                problems.append(("aws_secret_access_key", "No secret access key is stored."))
        elif mode == "env":
            access, secret, token = (env_secret(name) for name in AWS_ENV_KEYS)
            values.update(aws_access_key_id=access, aws_secret_access_key=secret, aws_session_token=token)
            sources["aws_access_key_id"] = "env AWS_ACCESS_KEY_ID" if access else "env AWS_ACCESS_KEY_ID is not set"
            if not (access and secret):
                problems.append(("auth_mode", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set "
                                              "in this process's environment."))
        elif mode == "api_key":
            values["bedrock_api_key"] = resolve_secret(config, "bedrock_api_key_env", "bedrock_api_key_encrypted",
                                                       "bedrock_api_key", sources, problems)
            if not values["bedrock_api_key"] and not any(f == "bedrock_api_key_env" for f, _ in problems):
                problems.append(("bedrock_api_key", "No Bedrock API key: set an env var name or store a key."))
        elif mode == "profile":
            sources["aws_profile"] = "stored configuration"
        return values

    def connection_fields(self, step, settings):
        if step == "credentials" and settings.auth_mode != "api_key":
            return ["sts_endpoint_url", "aws_region"]
        return ["endpoint_url", "aws_region"]

    def credential_fields(self, error, resolved):
        settings, config = resolved.settings, resolved.config
        text = f"{error.message} {error.raw_message or ''}"
        if "region" in text.lower() and "Bedrock needs" in text:
            return ["aws_region"]
        if settings.role_arn and ("AssumeRole" in text or "role" in text.lower()):
            return ["role_arn"]
        mode = settings.auth_mode
        if mode == "static_keys":
            if "InvalidClientTokenId" in text or "security token included" in text.lower():
                return ["aws_access_key_id"]
            return ["aws_secret_access_key"]
        if mode == "api_key":
            return ["bedrock_api_key_env" if config.bedrock_api_key_env else "bedrock_api_key"]
        if mode == "profile":
            return ["aws_profile"]
        return ["auth_mode"]

    def model_fields(self, mapping_field):
        return [mapping_field, "aws_region"]

    def curl(self, step, settings, model_id=None):
        cacert = cacert_option(settings)
        region = settings.aws_region or "us-east-1"
        if settings.auth_mode == "api_key":
            auth = '-H "Authorization: Bearer $AWS_BEARER_TOKEN_BEDROCK"'
        else:
            auth = ('--aws-sigv4 "aws:amz:{region}:{service}" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"'
                    + (' -H "x-amz-security-token: $AWS_SESSION_TOKEN"'
                       if settings.aws_session_token or settings.role_arn else ""))
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
        config, settings = resolved.config, resolved.settings
        block = ClaudeCodeBlock(max_output_tokens=RECOMMENDED_MAX_OUTPUT_TOKENS,
                                max_thinking_tokens=RECOMMENDED_MAX_THINKING_TOKENS)
        env, notes = block.env, block.notes
        env.append(("CLAUDE_CODE_USE_BEDROCK", "1", "use Amazon Bedrock"))
        env.append(("AWS_REGION", settings.aws_region, "required: Claude Code does not read it from ~/.aws/config"))
        if settings.auth_mode == "profile":
            env.append(("AWS_PROFILE", settings.aws_profile, "the named profile"))
            if config.role_arn:
                notes.append("Claude Code does not assume roles itself: add role_arn to that profile in "
                             "~/.aws/config (source_profile) to get the same role.")
        elif settings.auth_mode == "api_key":
            env.append(("AWS_BEARER_TOKEN_BEDROCK", "<your Bedrock API key>", "a secret: paste it yourself"))
        elif settings.auth_mode in ("static_keys", "env"):
            env.append(("AWS_ACCESS_KEY_ID", "<your access key ID>", "a credential: paste it yourself"))
            env.append(("AWS_SECRET_ACCESS_KEY", "<your secret access key>", "a secret: paste it yourself"))
        if config.role_arn and settings.auth_mode != "profile":
            notes.append(f"This provider assumes {config.role_arn}; give Claude Code a profile that assumes it.")
        if settings.endpoint_url:
            env.append(("ANTHROPIC_BEDROCK_BASE_URL", settings.endpoint_url, "the runtime endpoint override"))
        return block

    def effective_rows(self, resolved, *, staff=False):
        s, sources = resolved.settings, resolved.sources
        rows = [("aws_region", s.aws_region, sources.get("aws_region", "stored configuration")),
                ("auth_mode", s.auth_mode + (" + assume role" if s.role_arn else ""), "stored configuration")]
        if s.auth_mode == "profile":
            rows.append(("aws_profile", s.aws_profile, "stored configuration"))
        if s.auth_mode in ("static_keys", "env"):
            rows.append(("aws_access_key_id", access_key_shown(s.aws_access_key_id, staff=staff),
                         sources.get("aws_access_key_id", "stored configuration")))
            source = sources.get("aws_secret_access_key", "env AWS_SECRET_ACCESS_KEY")
            rows.append(("aws_secret_access_key", secret_shown(s.aws_secret_access_key, source, staff), source))
        if s.auth_mode == "api_key":
            source = sources.get("bedrock_api_key", "")
            rows.append(("bedrock_api_key", secret_shown(s.bedrock_api_key, source, staff), source))
        if s.role_arn:
            rows.append(("role_arn", s.role_arn, "stored configuration"))
        for name in ("endpoint_url", "control_endpoint_url", "sts_endpoint_url", "inference_profile",
                     "geo_preference"):
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
