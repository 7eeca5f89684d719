"""What the AWS kinds share (Amazon Bedrock, Claude Platform on AWS): region, AWS auth modes, an assumed role.

Not a kind itself: bedrock.py and aws_platform.py build on it, so an AWS kind is one module that
adds its own fields (a Bedrock API key and integrations; a workspace and its API key).
"""
from django import forms

from moments_admin import dotenv
from providers import validation
from providers.aws_profiles import list_profiles
from providers.environment import env_secret
from providers.forms import ProviderForm, validated
from providers.kinds.base import access_key_shown, resolve_secret, secret_shown

AWS_ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
SIGV4_MODES = ("default_chain", "profile", "env", "static_keys")
ROLE_FIELDS = ("role_arn", "external_id", "role_session_name", "role_duration_seconds")
AWS_CONFIG_FIELDS = frozenset({"aws_region", "auth_mode", "aws_profile", "aws_access_key_id", "role_arn",
                               "external_id", "role_session_name", "role_duration_seconds", "sts_endpoint_url",
                               "aws_secret_access_key_encrypted", "aws_session_token_encrypted"})
AWS_CONFIG_KEYS = ("aws_region", "auth_mode", "aws_profile", "aws_access_key_id", "aws_secret_access_key_stored",
                   "aws_session_token_stored", "role_arn", "external_id", "role_session_name",
                   "role_duration_seconds", "sts_endpoint_url")


def _password(label):
    return forms.CharField(required=False, label=label, strip=True,
                           widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))


class AwsAuthForm(ProviderForm):
    """Region and AWS auth fields; a kind adds an "api_key" auth mode of its own (auth_mode_labels)."""

    aws_auth = True  # the page lists AWS profiles and the AWS_* variables for this form
    auth_mode_labels = validation.AUTH_MODE_LABELS
    aws_region = forms.ChoiceField(label="Region")
    auth_mode = forms.ChoiceField(initial="default_chain", label="Authentication")
    aws_profile = forms.CharField(required=False, label="Profile name")
    aws_access_key_id = forms.CharField(required=False, label="Access key ID")
    aws_secret_access_key = _password("Secret access key")
    aws_session_token = _password("Session token (optional)")
    clear_session_token = forms.BooleanField(required=False, label="Remove the stored session token")
    role_arn = forms.CharField(required=False, label="Role ARN",
                               help_text="Assume this role on top of the credentials above; refreshed before expiry.")
    external_id = forms.CharField(required=False, label="External ID")
    role_session_name = forms.CharField(required=False, initial="moments-admin", label="Session name")
    role_duration_seconds = forms.IntegerField(initial=3600, label="Session duration (seconds)", required=False)
    sts_endpoint_url = forms.CharField(required=False, label="STS endpoint URL")
    secret_fields = {"aws_secret_access_key": "aws_secret_access_key_encrypted",
                     "aws_session_token": "aws_session_token_encrypted"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["aws_region"].choices = [(r, r) for r in validation.bedrock_regions()]
        self.fields["aws_region"].initial = self.instance.aws_region or "us-east-1"
        self.fields["auth_mode"].choices = list(self.auth_mode_labels.items())
        self.profiles = list_profiles()

    def clean_aws_access_key_id(self):
        return validated(validation.access_key_id, self.cleaned_data["aws_access_key_id"])

    def clean_role_arn(self):
        return validated(validation.role_arn, self.cleaned_data["role_arn"])

    def clean_role_session_name(self):
        return validated(validation.role_session_name, self.cleaned_data["role_session_name"])

    def clean_role_duration_seconds(self):
        value = self.cleaned_data["role_duration_seconds"]
        return 3600 if value is None else validated(validation.role_duration, value)

    def clean_sts_endpoint_url(self):
        return validated(validation.url, self.cleaned_data["sts_endpoint_url"])

    def clean_aws_auth(self, cleaned):
        """The SigV4 modes' rules (the kind checks its own "api_key" mode)."""
        mode = cleaned.get("auth_mode")
        if mode == "profile" and not cleaned.get("aws_profile"):
            self.add_error("aws_profile", "Choose the profile to use.")
        if mode == "static_keys":
            if not cleaned.get("aws_access_key_id") and "aws_access_key_id" not in self.errors:
                self.add_error("aws_access_key_id", "Enter the access key ID.")
            if not cleaned.get("aws_secret_access_key") and not self.instance.aws_secret_access_key_encrypted:
                self.add_error("aws_secret_access_key", "Enter the secret access key.")
        if mode == "api_key" and cleaned.get("role_arn"):
            self.add_error("role_arn", f"A {self.auth_mode_labels['api_key'].split(' (')[0]} cannot assume a role; "
                                       "clear the role ARN.")

    def aws_secrets_in_use(self):
        if self.cleaned_data.get("auth_mode") == "static_keys":
            return ["aws_secret_access_key"] + ([] if self.cleaned_data.get("clear_session_token")
                                                else ["aws_session_token"])
        return []

    def clean_api_key_mode(self, cleaned, key_field, label):
        """Auth mode api_key: `key_field` (with its _source, _env and _encrypted twins) names an env var
        or holds a key to store, unless one is stored already."""
        if cleaned.get("auth_mode") != "api_key":
            return
        if cleaned.get(f"{key_field}_source") == "env":
            try:
                cleaned[f"{key_field}_env"] = validation.env_name(cleaned.get(f"{key_field}_env"), required=True)
            except ValueError as exc:
                self.add_error(f"{key_field}_env", str(exc))
        elif not cleaned.get(key_field) and not getattr(self.instance, f"{key_field}_encrypted"):
            self.add_error(key_field, f"Enter the {label} to store.")

    def api_key_mode_secrets_in_use(self, key_field):
        if self.cleaned_data.get("auth_mode") == "api_key" and self.cleaned_data.get(f"{key_field}_source") == "stored":
            return [key_field]
        return self.aws_secrets_in_use()

    def apply_aws_auth(self, config, data):
        mode = data["auth_mode"]
        config.aws_region = data["aws_region"]
        config.auth_mode = mode
        config.aws_profile = data["aws_profile"] if mode == "profile" else ""
        for name in (*ROLE_FIELDS, "sts_endpoint_url"):
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


def check_aws_config(v, values, block, path, *, what):
    """config.yml rules of the AWS auth keys; `what` names the service in messages."""
    if not values["aws_region"] and "aws_region" not in block:
        v.issue((*path, "aws_region"), f"Set aws_region, the AWS region to call {what} in.")
    mode = values["auth_mode"]
    if mode == "profile" and not values["aws_profile"]:
        v.issue((*path, "aws_profile"), "auth_mode profile needs aws_profile, the name of the profile.")
    if mode == "static_keys":
        if not values["aws_access_key_id"]:
            v.issue((*path, "aws_access_key_id"), "auth_mode static_keys needs aws_access_key_id.")


def check_stored_keys(v, values, flags, path):
    if values["auth_mode"] == "static_keys" and not flags.get("aws_secret_access_key_stored"):
        v.issue((*path, "aws_secret_access_key_stored"),
                "auth_mode static_keys needs the secret access key stored in the database: set "
                "aws_secret_access_key_stored: true after storing it on the provider page.")


# AWS's words for a request signed for another region than the endpoint's (STS, Bedrock).
REGION_MARKERS = ("scoped to a valid region", "AuthorizationHeaderMalformed", "is wrong; expecting",
                  "region is not valid", "Credential should be scoped to")


def aws_settings_values(config, env, sources, problems):
    """Region, auth mode, role and SigV4 credentials of an AWS kind's ProviderSettings."""
    # AWS_REGION only fills in a region the configuration leaves blank: on Lambda, ECS and
    # Fargate it is always set, and must not move traffic (and prices) silently.
    region = config.aws_region or env.aws_region or None
    sources["aws_region"] = "stored configuration" if config.aws_region else (
        "env AWS_REGION (the configuration names none)" if region else "not set")
    values = dict(
        aws_region=region, auth_mode=config.auth_mode, aws_profile=config.aws_profile or None,
        sts_endpoint_url=config.sts_endpoint_url or None, role_arn=config.role_arn or None,
        external_id=config.external_id or None, role_session_name=config.role_session_name or "moments-admin",
        role_duration_seconds=config.role_duration_seconds or 3600,
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
                                          "in this process's environment. "
                             + dotenv.where_to_set("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")))
    elif mode == "profile":
        sources["aws_profile"] = "stored configuration"
    return values


def aws_credential_fields(error, settings):
    """Form fields to blame for an AWS authentication error in a SigV4 mode, or None to let the kind decide."""
    text = f"{error.message} {error.raw_message or ''}"
    if "region" in text.lower() and "needs an AWS region" in text:
        return ["aws_region"]
    if any(marker in text for marker in REGION_MARKERS):  # signed for one region, sent to another
        return ["aws_region"] + (["sts_endpoint_url"] if settings.sts_endpoint_url else [])
    if settings.role_arn and ("AssumeRole" in text or "role" in text.lower()):
        return ["role_arn"]
    mode = settings.auth_mode
    if mode == "static_keys":
        if "InvalidClientTokenId" in text or "security token included" in text.lower():
            return ["aws_access_key_id"]
        return ["aws_secret_access_key"]
    if mode == "profile":
        return ["aws_profile"]
    return None


def aws_auth_rows(resolved, *, staff):
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
    if s.role_arn:
        rows.append(("role_arn", s.role_arn, "stored configuration"))
    return rows


def sigv4_curl_auth(settings):
    """curl's SigV4 options with {region} and {service} left to fill; secrets as $PLACEHOLDERS."""
    return ('--aws-sigv4 "aws:amz:{region}:{service}" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"'
            + (' -H "x-amz-security-token: $AWS_SESSION_TOKEN"' if settings.aws_session_token or settings.role_arn
               else ""))


def claude_code_aws_auth(block, resolved, *, api_key_env):
    """The Claude Code env lines for the provider's AWS auth mode (never a secret's value)."""
    config, settings = resolved.config, resolved.settings
    env, notes = block.env, block.notes
    env.append(("AWS_REGION", settings.aws_region, "required: Claude Code does not read it from ~/.aws/config"))
    if settings.auth_mode == "profile":
        env.append(("AWS_PROFILE", settings.aws_profile, "the named profile"))
        if config.role_arn:
            notes.append("Claude Code does not assume roles itself: add role_arn to that profile in "
                         "~/.aws/config (source_profile) to get the same role.")
    elif settings.auth_mode == "api_key":
        env.append((api_key_env[0], api_key_env[1], "a secret: paste it yourself"))
    elif settings.auth_mode in ("static_keys", "env"):
        env.append(("AWS_ACCESS_KEY_ID", "<your access key ID>", "a credential: paste it yourself"))
        env.append(("AWS_SECRET_ACCESS_KEY", "<your secret access key>", "a secret: paste it yourself"))
    if config.role_arn and settings.auth_mode != "profile":
        notes.append(f"This provider assumes {config.role_arn}; give Claude Code a profile that assumes it.")
