"""One form per provider kind, plus routing and config.yml upload.

A stored secret is never rendered back: the form shows whether one is set (and
its last four characters) and keeps it when the field is left blank.
"""
import copy

from django import forms

from providers import crypto, validation
from providers.aws_profiles import list_profiles
from providers.environment import MOMENTS_ENVS
from providers.models import ProviderConfig

SOURCE_CHOICES = [("env", "Read from an environment variable (recommended)"), ("stored", "Store it encrypted here")]
MAPPING_PREFIX = "map_"


def _validated(check, value):
    try:
        return check(value)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from None


def logical_names():
    from providers.clients.catalog import load_catalog

    return load_catalog().logical_names()


def secret_state(token):
    """What the page may say about a stored secret."""
    if not token:
        return ""
    hint = crypto.token_hint(token)
    return f"set, ends {hint}" if hint else "set"


class ProviderForm(forms.Form):
    kind = None
    name = forms.CharField(max_length=50, help_text="Lowercase letters, digits, - and _. Used in config.yml.")
    enabled = forms.BooleanField(required=False, initial=True)
    timeout_seconds = forms.FloatField(initial=60, min_value=1, max_value=600, label="Timeout (seconds)")
    verify_tls = forms.BooleanField(required=False, initial=True, label="Verify TLS certificates")
    ca_bundle = forms.CharField(required=False, label="CA bundle path",
                                help_text="A PEM file of extra trusted CAs (a proxy or VPC endpoint).")
    secret_fields = {}  # form field -> model token field
    refresh_fields = ()  # fields whose value decides which others are shown

    def __init__(self, data=None, *, instance=None, **kwargs):
        self.instance = instance or ProviderConfig(kind=self.kind)
        if data is None and "initial" not in kwargs and instance is not None:
            kwargs["initial"] = self.initial_from(instance)
        super().__init__(data, **kwargs)
        mapping = self.instance.model_mapping or {}
        names = list(dict.fromkeys([*logical_names(), *mapping]))
        for logical in names:
            self.fields[MAPPING_PREFIX + logical] = forms.CharField(
                required=False, label=logical, initial=mapping.get(logical, ""),
                widget=forms.TextInput(attrs={"placeholder": "catalog default", "class": "remap"}))
        for field, token_field in self.secret_fields.items():
            state = secret_state(getattr(self.instance, token_field))
            if state:
                self.fields[field].widget.attrs["placeholder"] = f"{state} — leave blank to keep"
                self.fields[field].help_text = f"Stored ({state}). Leave blank to keep it."

    @classmethod
    def initial_from(cls, instance):
        return {name: getattr(instance, name) for name in cls.base_fields if hasattr(instance, name)
                and name not in cls.secret_fields}

    @property
    def mapping_fields(self):
        return [self[name] for name in self.fields if name.startswith(MAPPING_PREFIX)]

    @property
    def secret_hints(self):
        return {field: secret_state(getattr(self.instance, token)) for field, token in self.secret_fields.items()}

    def add_refresh(self, url):
        """Make the fields that change which other fields apply re-render them (htmx) when changed."""
        attrs = {"hx-post": url, "hx-trigger": "change", "hx-target": "#kind-fields", "hx-swap": "outerHTML",
                 "hx-include": "#provider-form"}
        for name in self.refresh_fields:
            self.fields[name].widget.attrs.update(attrs)

    def clean_name(self):
        name = _validated(lambda v: validation.provider_name(v, self.kind), self.cleaned_data["name"])
        clash = ProviderConfig.objects.filter(name=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"A provider named {name} already exists.")
        return name

    def clean_ca_bundle(self):
        return _validated(validation.ca_bundle, self.cleaned_data["ca_bundle"])

    def clean(self):
        cleaned = super().clean()
        for name in self.fields:
            if name.startswith(MAPPING_PREFIX) and cleaned.get(name):
                try:
                    cleaned[name] = validation.model_id(cleaned[name])
                except ValueError as exc:
                    self.add_error(name, str(exc))
        return cleaned

    def _secret(self, field, token_field, config):
        typed = self.cleaned_data.get(field) or ""
        if typed:
            setattr(config, token_field, crypto.encrypt(typed))

    def to_config(self):
        """An unsaved ProviderConfig with the form's values (the stored one is left untouched)."""
        config = copy.copy(self.instance)
        config.kind = self.kind
        data = self.cleaned_data
        for name in ("name", "enabled", "timeout_seconds", "verify_tls", "ca_bundle"):
            setattr(config, name, data[name])
        config.model_mapping = {name[len(MAPPING_PREFIX):]: value for name, value in data.items()
                                if name.startswith(MAPPING_PREFIX) and value}
        self.apply_kind_fields(config, data)
        return config

    def apply_kind_fields(self, config, data):
        raise NotImplementedError


class AnthropicProviderForm(ProviderForm):
    kind = "anthropic"
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
        return _validated(validation.url, self.cleaned_data["base_url"])

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
        return cleaned

    def apply_kind_fields(self, config, data):
        config.base_url = data["base_url"]
        if data["api_key_source"] == "env":
            config.api_key_env = data["api_key_env"]
            config.api_key_encrypted = ""
        else:
            config.api_key_env = ""
            self._secret("api_key", "api_key_encrypted", config)


class BedrockProviderForm(ProviderForm):
    kind = "bedrock"
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
        return _validated(validation.access_key_id, self.cleaned_data["aws_access_key_id"])

    def clean_role_arn(self):
        return _validated(validation.role_arn, self.cleaned_data["role_arn"])

    def clean_role_session_name(self):
        return _validated(validation.role_session_name, self.cleaned_data["role_session_name"])

    def clean_role_duration_seconds(self):
        value = self.cleaned_data["role_duration_seconds"]
        return 3600 if value is None else _validated(validation.role_duration, value)

    def clean_bedrock_api_key_source(self):
        return self.cleaned_data["bedrock_api_key_source"] or "env"

    def clean_inference_profile(self):
        return _validated(validation.model_id, self.cleaned_data["inference_profile"])

    def clean_endpoint_url(self):
        return _validated(validation.url, self.cleaned_data["endpoint_url"])

    def clean_control_endpoint_url(self):
        return _validated(validation.url, self.cleaned_data["control_endpoint_url"])

    def clean_sts_endpoint_url(self):
        return _validated(validation.url, self.cleaned_data["sts_endpoint_url"])

    def clean(self):
        cleaned = super().clean()
        mode = cleaned.get("auth_mode")
        instance = self.instance
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
        return cleaned

    def apply_kind_fields(self, config, data):
        mode = data["auth_mode"]
        config.aws_region = data["aws_region"]
        config.auth_mode = mode
        config.aws_profile = data["aws_profile"] if mode == "profile" else ""
        for name in ("role_arn", "external_id", "inference_profile", "geo_preference", "endpoint_url",
                     "control_endpoint_url", "sts_endpoint_url", "role_duration_seconds"):
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


PROVIDER_FORMS = {"anthropic": AnthropicProviderForm, "bedrock": BedrockProviderForm}


def form_class(kind):
    return PROVIDER_FORMS.get(kind)


class RoutingForm(forms.Form):
    primary = forms.ChoiceField(required=False, label="Primary provider")
    fallbacks = forms.CharField(required=False, label="Fallbacks, in order",
                                help_text="Provider names separated by commas, tried in this order.")
    auto_fallback = forms.BooleanField(required=False, label="Fail over automatically")

    def __init__(self, *args, names=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.names = list(names)
        self.fields["primary"].choices = [("", "Automatic (by MOMENTS_ENV)")] + [(n, n) for n in self.names]
        for env in MOMENTS_ENVS:
            self.fields[f"primary_{env}"] = forms.ChoiceField(
                required=False, label=f"Primary when MOMENTS_ENV={env}",
                choices=[("", "Same as above")] + [(n, n) for n in self.names])

    @property
    def environment_fields(self):
        return [self[f"primary_{env}"] for env in MOMENTS_ENVS]

    @property
    def environment_primary(self):
        return {env: self.cleaned_data.get(f"primary_{env}") or "" for env in MOMENTS_ENVS}

    def clean_fallbacks(self):
        wanted = [n.strip() for n in self.cleaned_data["fallbacks"].replace("\n", ",").split(",") if n.strip()]
        unknown = [n for n in wanted if n not in self.names]
        if unknown:
            raise forms.ValidationError(f"No provider named {', '.join(unknown)}.")
        return list(dict.fromkeys(wanted))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("primary") and cleaned.get("primary") in (cleaned.get("fallbacks") or []):
            self.add_error("fallbacks", "The primary cannot also be a fallback.")
        return cleaned


class ConfigUploadForm(forms.Form):
    file = forms.FileField(label="config.yml")


class CacheImportForm(forms.Form):
    file = forms.FileField(label="JSON lines file (from cache_export)")


class CacheFlushForm(forms.Form):
    """What to flush from the response cache: everything, one model, one agent or one entry."""

    SCOPES = (("all", "all entries"), ("model", "a model"), ("agent", "an agent"), ("entry", "one entry"))
    scope = forms.ChoiceField(choices=SCOPES)
    value = forms.CharField(max_length=200, required=False)

    def clean(self):
        cleaned = super().clean()
        scope, value = cleaned.get("scope"), (cleaned.get("value") or "").strip()
        if scope in ("model", "entry") and not value:
            self.add_error("value", f"Name the {scope} to flush.")
        if scope == "entry" and value and not value.isdigit():
            self.add_error("value", "An entry is named by its number.")
        cleaned["value"] = value
        return cleaned
