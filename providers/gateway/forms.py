import re
from decimal import Decimal

from django import forms

from providers.models import GATEWAY_RESPONSE_CACHE_CHOICES, GatewayKey

CACHE_POLICY_FIELDS = ("response_cache", "response_cache_ttl_seconds", "prompt_caching")

MODEL_NAME = re.compile(r"[A-Za-z0-9._:/@-]{1,200}")


def parse_models(text):
    """'sonnet, claude-haiku-4-5' -> ['sonnet', 'claude-haiku-4-5'] (commas or spaces; duplicates dropped)."""
    names = [part.strip() for part in text.replace(",", " ").split() if part.strip()]
    return list(dict.fromkeys(names))


class GatewayKeyEditForm(forms.Form):
    owner = forms.CharField(max_length=200, required=False, help_text="Who uses the key (a team, a service).")
    allowed_models = forms.CharField(
        max_length=2000, required=False, label="Models",
        help_text="Logical names (sonnet, haiku, opus) or model IDs, separated by commas; empty allows every model.")
    monthly_budget_usd = forms.DecimalField(
        min_value=Decimal("0.01"), max_digits=12, decimal_places=2, required=False, label="Monthly budget (USD)",
        help_text="The key is refused at 100% of this amount until the next UTC month; empty means no limit.")
    expires_on = forms.DateField(required=False, label="Expires on", help_text="YYYY-MM-DD (end of day, UTC).",
                                 widget=forms.DateInput(attrs={"type": "date"}))
    response_cache = forms.ChoiceField(
        choices=GATEWAY_RESPONSE_CACHE_CHOICES, initial="request", required=False, label="Response cache",
        help_text="Whether identical requests are answered from the response cache (no upstream call, no cost).")
    response_cache_ttl_seconds = forms.IntegerField(
        min_value=1, max_value=30 * 86400, required=False, label="Response cache TTL (seconds)",
        help_text="How long this key's stored answers live; empty: the RESPONSE_CACHE_TTL_SECONDS setting.")
    prompt_caching = forms.BooleanField(
        required=False, initial=True, label="Automatic prompt caching",
        help_text="Place cache_control breakpoints where the serving provider's policy has them on.")

    def clean_response_cache(self):
        return self.cleaned_data["response_cache"] or "request"

    def cache_policy(self):
        """The cleaned cache policy, as create_key / update_key take it."""
        return {name: self.cleaned_data[name] for name in CACHE_POLICY_FIELDS}

    def clean_allowed_models(self):
        names = parse_models(self.cleaned_data["allowed_models"])
        bad = [name for name in names if not MODEL_NAME.fullmatch(name)]
        if bad:
            raise forms.ValidationError(f"Not a model name or ID: {', '.join(bad)[:200]} (letters, digits and "
                                        ". - _ : / @ only, at most 200 characters).")
        return names


class GatewayKeyForm(GatewayKeyEditForm):
    label = forms.SlugField(max_length=100, help_text="A short unique name (letters, digits, - and _); usage and "
                            "budgets are reported under it.")

    field_order = ["label", "owner", "allowed_models", "monthly_budget_usd", "expires_on", *CACHE_POLICY_FIELDS]

    def clean_label(self):
        label = self.cleaned_data["label"]
        if GatewayKey.objects.filter(label=label).exists():
            raise forms.ValidationError(f"A gateway key named '{label}' already exists: choose another name.")
        return label
