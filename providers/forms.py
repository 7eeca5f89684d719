"""The provider form every kind's form extends (providers.kinds), plus routing and config.yml upload.

A stored secret is never rendered back: the form shows whether one is set (and
its last four characters) and keeps it when the field is left blank.
"""
import copy

from django import forms

from moments_admin.limits import apply_limits, limit_text, model_max_length
from providers import crypto, validation
from providers.environment import MOMENTS_ENVS
from providers.models import PROMPT_CACHING_CHOICES, PROMPT_CACHING_TTL_CHOICES, ProviderConfig, ProviderRouting

SOURCE_CHOICES = [("env", "Read from an environment variable (recommended)"), ("stored", "Store it encrypted here")]
MAPPING_PREFIX = "map_"


def validated(check, value):
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
    fields_template = ""  # the kind's own fields (templates/providers/kinds/)
    destination_fields = {}  # field -> what blank means: where a stored secret may be sent
    name = forms.CharField(max_length=50, help_text="Lowercase letters, digits, - and _. Used in config.yml.")
    enabled = forms.BooleanField(required=False, initial=True)
    timeout_seconds = forms.FloatField(initial=60, min_value=1, max_value=600, label="Timeout (seconds)")
    verify_tls = forms.BooleanField(required=False, initial=True, label="Verify TLS certificates")
    ca_bundle = forms.CharField(required=False, label="CA bundle path",
                                help_text="A PEM file of extra trusted CAs (a proxy or VPC endpoint).")
    # Automatic prompt caching: every kind has it (blank: the global PROMPT_CACHING_AUTO / _TTL settings).
    prompt_caching = forms.ChoiceField(choices=PROMPT_CACHING_CHOICES, required=False, label="Automatic prompt caching",
                                       help_text="cache_control breakpoints on the tools, system prompt and last "
                                                 "turns of calls this provider serves, unless the caller placed its own.")
    prompt_caching_ttl = forms.ChoiceField(choices=PROMPT_CACHING_TTL_CHOICES, required=False,
                                           label="Prompt cache lifetime")
    beta_flags = forms.CharField(required=False, label="Beta flags",
                                 help_text="Anthropic beta flags sent on every request, separated by commas; "
                                           "those this provider does not accept are dropped (see Beta flags).")
    allow_insecure_http = forms.BooleanField(
        required=False, label="Allow secrets over plain HTTP (insecure)",
        help_text="Only for a trusted network: sends the API key or Bedrock API key to an http:// URL on "
                  "another machine, where anyone on the path can read it. Loopback never needs it.")
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
            self.fields[MAPPING_PREFIX + logical] = limit_text(forms.CharField(
                required=False, label=logical, initial=mapping.get(logical, ""),
                widget=forms.TextInput(attrs={"placeholder": "catalog default", "class": "remap"})),
                model_max_length(ProviderConfig, "inference_profile"))
        for field, token_field in self.secret_fields.items():
            state = secret_state(getattr(self.instance, token_field))
            if state:
                self.fields[field].widget.attrs["placeholder"] = f"{state} — leave blank to keep"
                self.fields[field].help_text = f"Stored ({state}). Leave blank to keep it."

    @classmethod
    def initial_from(cls, instance):
        initial = {name: getattr(instance, name) for name in cls.base_fields if hasattr(instance, name)
                   and name not in cls.secret_fields}
        initial["beta_flags"] = ", ".join(instance.beta_flags or [])
        return initial

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
        name = validated(lambda v: validation.provider_name(v, self.kind), self.cleaned_data["name"])
        clash = ProviderConfig.objects.filter(name=name)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(f"A provider named {name} already exists.")
        return name

    def clean_beta_flags(self):
        return validated(validation.beta_flags, self.cleaned_data["beta_flags"])

    def clean_ca_bundle(self):
        return validated(validation.ca_bundle, self.cleaned_data["ca_bundle"])

    def clean(self):
        cleaned = super().clean()
        for name in self.fields:
            if name.startswith(MAPPING_PREFIX) and cleaned.get(name):
                try:
                    cleaned[name] = validation.model_id(cleaned[name])
                except ValueError as exc:
                    self.add_error(name, str(exc))
        return cleaned

    @staticmethod
    def secret_urls(config):
        """{URL field: the secret sent there} in this configuration; each kind's form names its own."""
        return {}

    def _post_clean(self):
        """After the kind's own rules: a secret bound for plain http:// on another machine is refused."""
        super()._post_clean()
        if self.errors:
            return
        from providers import plain_http

        config = self.to_config()
        for field, message in plain_http.refusals(config, self.secret_urls(config)):
            self.add_error(field if field in self.fields else None, message)

    def changed_destination(self):
        """Labels of the destination fields whose cleaned value differs from the saved provider's."""
        if not self.instance.pk:
            return []
        saved = {name: getattr(self.instance, name) for name in self.destination_fields}
        changed = validation.changed_destination(self.destination_fields, self.cleaned_data, saved)
        return [str(self.fields[name].label or name) for name in changed]

    def secrets_in_use(self):
        """Secret form fields whose stored value the posted configuration would use. Kinds override."""
        return []

    def require_secrets_for_new_destination(self):
        """A stored secret is only ever sent where it was saved: a changed destination needs it typed again."""
        changed = self.changed_destination()
        if not changed:
            return
        for field in self.secrets_in_use():
            if not self.cleaned_data.get(field) and getattr(self.instance, self.secret_fields[field]):
                label = self.fields[field].label
                self.add_error(field, f"{', '.join(changed)} changed: enter the {label.lower()} again. A stored "
                                      "secret is only sent to the destination it was saved with.")

    def _secret(self, field, token_field, config):
        typed = self.cleaned_data.get(field) or ""
        if typed:
            setattr(config, token_field, crypto.encrypt(typed))
        elif self.changed_destination():  # never reached through is_valid(); kept as a second guard
            setattr(config, token_field, "")

    def to_config(self):
        """An unsaved ProviderConfig with the form's values (the stored one is left untouched)."""
        config = copy.copy(self.instance)
        config.kind = self.kind
        data = self.cleaned_data
        for name in ("name", "enabled", "timeout_seconds", "verify_tls", "ca_bundle", "beta_flags",
                     "allow_insecure_http"):
            setattr(config, name, data.get(name, False) if name == "allow_insecure_http" else data[name])
        config.prompt_caching = data.get("prompt_caching") or ""
        config.prompt_caching_ttl = data.get("prompt_caching_ttl") or ""
        config.model_mapping = {name[len(MAPPING_PREFIX):]: value for name, value in data.items()
                                if name.startswith(MAPPING_PREFIX) and value}
        self.apply_kind_fields(config, data)
        return config

    def apply_kind_fields(self, config, data):
        raise NotImplementedError


class RoutingForm(forms.Form):
    """Primary and ordered fallbacks, chosen from the configured providers (one select per position).

    A POST that lacks any of the selects (an empty or truncated request) is refused as a whole,
    so it can never reset routing to automatic; a browser always sends every select.
    """

    primary = forms.ChoiceField(required=False, label="Primary provider")
    auto_fallback = forms.BooleanField(required=False, label="Fail over automatically")

    def __init__(self, *args, names=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.names = list(names)
        self.fields["primary"].choices = [("", "Automatic (by MOMENTS_ENV)")] + [(n, n) for n in self.names]
        for position in range(1, max(len(self.names), 1) + 1):
            self.fields[f"fallback_{position}"] = forms.ChoiceField(
                required=False, label=f"Fallback {position}", choices=[("", "—")] + [(n, n) for n in self.names])
        for env in MOMENTS_ENVS:
            self.fields[f"primary_{env}"] = forms.ChoiceField(
                required=False, label=f"Primary when MOMENTS_ENV={env}",
                choices=[("", "Same as above")] + [(n, n) for n in self.names])

    @classmethod
    def initial_for(cls, routing):
        initial = {"primary": routing.primary, "auto_fallback": routing.auto_fallback,
                   **{f"primary_{env}": name for env, name in routing.environment_primary.items()}}
        initial.update({f"fallback_{i}": name for i, name in enumerate(routing.fallbacks, start=1)})
        return initial

    @property
    def fallback_fields(self):
        return [self[name] for name in self.fields if name.startswith("fallback_")]

    @property
    def environment_fields(self):
        return [self[f"primary_{env}"] for env in MOMENTS_ENVS]

    @property
    def environment_primary(self):
        return {env: self.cleaned_data.get(f"primary_{env}") or "" for env in MOMENTS_ENVS}

    def clean(self):
        cleaned = super().clean()
        missing = [name for name in self.fields if name != "auto_fallback" and name not in self.data]
        if missing:
            raise forms.ValidationError(
                f"The form arrived incomplete (no {', '.join(missing)}): reload the page and choose again.")
        fallbacks = []
        for field in self.fallback_fields:
            name = cleaned.get(field.name)
            if not name:
                continue
            if name in fallbacks:
                self.add_error(field.name, f"{name} is already fallback {fallbacks.index(name) + 1}.")
            elif name == cleaned.get("primary"):
                self.add_error(field.name, "The primary cannot also be a fallback.")
            else:
                fallbacks.append(name)
        cleaned["fallbacks"] = fallbacks
        return cleaned


apply_limits(RoutingForm, ProviderRouting)


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
