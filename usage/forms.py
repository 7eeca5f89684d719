"""Plain forms: dashboard filters, prices, recompute, profile mappings, budgets."""
import datetime
import re
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.validators import validate_email
from django.utils import timezone

from moments_admin import outbound
from moments_admin.limits import apply_limits
from providers.kinds import kind_choices
from usage import notify
from usage.budgets import SCOPES as BUDGET_SCOPES
from usage.models import (
    BatchableAgent,
    Budget,
    ModelPrice,
    ProfileMapping,
    RecomputeJob,
    UsageRecord,
)
from usage.pricing import SCOPES, normalize_base, parse_model_id
from usage.retention import raw_kept_from

MAX_RANGE_DAYS = 400
BY_CHOICES = (("provider", "Provider"), ("model", "Model"), ("key", "Gateway key"))
METRIC_CHOICES = (("cost", "Cost"), ("tokens", "Tokens"))
# By default the application's own traffic; test connection, health and wizard calls are shown apart.
PURPOSE_CHOICES = (("", "Application traffic"), ("all", "All traffic, checks included"),
                   ("checks", "Checks only (tests, health, wizard, demo)"), ("gateway", "Gateway"),
                   ("client", "In-process client"), ("cli", "manage.py call"), ("batch", "Batch"),
                   ("test", "Test connection"), ("health", "Health probes"), ("wizard", "Wizard"), ("demo", "Demo"))
KIND_CHOICES = tuple(kind_choices())
SCOPE_CHOICES = (("standard", "Claude API or Claude Platform on AWS (standard)"), ("global", "Bedrock global. profile"),
                 ("geo", "Bedrock geo profile (us./eu./apac./jp./au.)"),
                 ("in_region", "Bedrock in-region (base or mantle ID)"))
MONEY = {"max_digits": 12, "decimal_places": 6, "min_value": Decimal(0)}


def today_utc():
    return timezone.now().astimezone(datetime.UTC).date()


class FilterForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    provider = forms.CharField(required=False, max_length=100)
    model = forms.CharField(required=False, max_length=100)
    key = forms.CharField(required=False, max_length=128, label="Gateway key")
    agent = forms.CharField(required=False, max_length=128)
    purpose = forms.ChoiceField(required=False, choices=PURPOSE_CHOICES)
    by = forms.ChoiceField(required=False, choices=BY_CHOICES, label="Split by")
    metric = forms.ChoiceField(required=False, choices=METRIC_CHOICES, label="Show")

    def clean(self):
        data = super().clean()
        today = today_utc()
        end = data.get("end") or today
        start = data.get("start") or (end - datetime.timedelta(days=6))
        if start > end:
            raise forms.ValidationError("The start date must be on or before the end date.")
        if (end - start).days >= MAX_RANGE_DAYS:
            raise forms.ValidationError(f"Pick a range of at most {MAX_RANGE_DAYS} days.")
        data.update(start=start, end=end, by=data.get("by") or "provider", metric=data.get("metric") or "cost")
        return data


class PriceForm(forms.Form):
    provider_kind = forms.ChoiceField(choices=KIND_CHOICES, label="Provider")
    model = forms.CharField(max_length=100, help_text="Base model (claude-sonnet-4-5) or any model ID of it.")
    scope = forms.ChoiceField(choices=SCOPE_CHOICES)
    effective_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                                     help_text="Applies to calls from 00:00 UTC that day on.")
    input = forms.DecimalField(label="Input $/MTok", **MONEY)
    output = forms.DecimalField(label="Output $/MTok", **MONEY)
    cache_write_5m = forms.DecimalField(label="Cache write 5m $/MTok", required=False,
                                        help_text="Blank: 1.25 x input.", **MONEY)
    cache_write_1h = forms.DecimalField(label="Cache write 1h $/MTok", required=False,
                                        help_text="Blank: 2 x input.", **MONEY)
    cache_read = forms.DecimalField(label="Cache read $/MTok", required=False, help_text="Blank: 0.1 x input.",
                                    **MONEY)
    batch_discount = forms.DecimalField(max_digits=4, decimal_places=3, min_value=Decimal(0), max_value=Decimal(1),
                                        initial=Decimal("0.5"), help_text="0.5 = 50% off every token kind.")
    long_context_threshold = forms.IntegerField(required=False, min_value=1, max_value=2_147_483_647,
                                                help_text="Total input tokens above which the tier applies.")
    long_context_input = forms.DecimalField(required=False, label="Long-context input $/MTok", **MONEY)
    long_context_output = forms.DecimalField(required=False, label="Long-context output $/MTok", **MONEY)
    us_only_multiplier = forms.DecimalField(required=False, max_digits=4, decimal_places=3, min_value=Decimal(1),
                                            max_value=Decimal(5), label="US-only multiplier",
                                            help_text="Factor for requests with inference_geo \"us\" (1.1 on "
                                                      "Opus 4.6 and later). Blank: no premium.")
    estimated = forms.BooleanField(required=False, help_text="No published price: say in the note what it is from.")
    source_url = forms.URLField(max_length=300, assume_scheme="https", label="Source URL")
    note = forms.CharField(required=False, max_length=300)

    def clean_model(self):
        value = self.cleaned_data["model"].strip()
        parsed = parse_model_id(None, value)  # the base model is the same whatever the kind
        base = parsed.base_model if parsed else normalize_base(value)
        if not re.fullmatch(r"claude-[a-z0-9-]+", base):
            raise forms.ValidationError("Enter a Claude model such as claude-sonnet-4-5 (a full model ID works too).")
        return base

    def clean(self):
        data = super().clean()
        kind, scope = data.get("provider_kind"), data.get("scope")
        if kind and scope and scope not in SCOPES[kind]:
            self.add_error("scope", f"{dict(KIND_CHOICES)[kind]} prices use the scope "
                                    f"{' or '.join(SCOPES[kind])}.")
        lc = [data.get(name) for name in ("long_context_threshold", "long_context_input", "long_context_output")]
        if any(value is not None for value in lc) and not all(value is not None for value in lc):
            raise forms.ValidationError("A long-context tier needs its threshold, input and output prices.")
        price_in = data.get("input")
        if price_in is not None:
            for name, factor in (("cache_write_5m", "1.25"), ("cache_write_1h", "2"), ("cache_read", "0.1")):
                if data.get(name) is None:
                    data[name] = price_in * Decimal(factor)
        if data.get("model") and kind and scope and data.get("effective_from") and ModelPrice.objects.filter(
                provider_kind=kind, base_model=data["model"], scope=scope,
                effective_from=data["effective_from"]).exists():
            self.add_error("effective_from", "A price for this model, scope and date exists: pick another date.")
        return data


class RecomputeForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    provider_kind = forms.ChoiceField(required=False, choices=(("", "Every provider"),) + KIND_CHOICES)
    model = forms.CharField(required=False, max_length=100, help_text="Blank: every model.")

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError("The start date must be on or before the end date.")
            if (end - start).days >= MAX_RANGE_DAYS:
                raise forms.ValidationError(f"Recompute at most {MAX_RANGE_DAYS} days at a time.")
            if start > today_utc():
                raise forms.ValidationError("Nothing was recorded in the future.")
            # Re-pricing rebuilds the rollups from raw rows: a period whose raw rows are pruned would lose its figures.
            kept = raw_kept_from().date()
            if start < kept:
                raise forms.ValidationError(
                    f"Raw usage is kept {settings.USAGE_RAW_RETENTION_DAYS} days (USAGE_RAW_RETENTION_DAYS): "
                    f"start on {kept:%Y-%m-%d} or later.")
        if data.get("model"):
            data["model"] = normalize_base(data["model"])
        return data


class ProfileMappingForm(forms.Form):
    arn = forms.RegexField(regex=r"^arn:aws[\w-]*:bedrock:[\w-]+:\d{12}:application-inference-profile/[\w.-]+$",
                           max_length=255, label="Application inference profile ARN",
                           error_messages={"invalid": "Enter an ARN like arn:aws:bedrock:us-east-1:123456789012:"
                                                      "application-inference-profile/abc123."})
    model_id = forms.CharField(max_length=255, label="Model ID it copies",
                               help_text="For example us.anthropic.claude-sonnet-4-5-20250929-v1:0")

    def clean_model_id(self):
        value = self.cleaned_data["model_id"].strip()
        if parse_model_id("bedrock", value) is None:
            raise forms.ValidationError("Enter a Bedrock Claude model or inference profile ID.")
        return value

    def clean_arn(self):
        value = self.cleaned_data["arn"]
        if ProfileMapping.objects.filter(arn=value).exists():
            raise forms.ValidationError("This ARN is mapped already.")
        return value


def _header_text(value):
    """`value` if it can go into an e-mail header (no CR, LF or other control character)."""
    problem = notify.header_problem(value)
    if problem:
        raise forms.ValidationError(problem)
    return value


class BudgetForm(forms.Form):
    name = forms.CharField(max_length=100)
    scope = forms.ChoiceField(choices=BUDGET_SCOPES)
    provider_name = forms.CharField(required=False, max_length=100, help_text="For a provider budget.")
    gateway_key = forms.CharField(required=False, max_length=128, help_text="For a gateway key budget.")
    amount_usd = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"),
                                    label="Monthly amount (USD)")
    thresholds = forms.CharField(max_length=100, initial="50,80,100", help_text="Percentages, comma separated.")
    email_recipients = forms.CharField(required=False, max_length=1000, help_text="Comma separated.")
    webhook_url = forms.URLField(required=False, max_length=500, assume_scheme="https", label="Webhook URL")
    webhook_format = forms.ChoiceField(choices=(("json", "Generic JSON"), ("slack", "Slack-compatible")))
    hard_stop = forms.BooleanField(required=False, label="Block the key at 100% (hard stop)")
    active = forms.BooleanField(required=False, initial=True)

    def clean_thresholds(self):
        try:
            values = sorted({int(part) for part in self.cleaned_data["thresholds"].split(",") if part.strip()})
        except ValueError:
            raise forms.ValidationError("Enter whole percentages separated by commas, like 50,80,100.") from None
        if not values or values[0] < 1 or values[-1] > 1000:
            raise forms.ValidationError("Each threshold must be between 1 and 1000 percent.")
        return ",".join(str(value) for value in values)

    def clean_name(self):
        return _header_text(self.cleaned_data["name"])

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"]
        if url:
            try:
                outbound.check_url(url)
            except outbound.OutboundRefused as exc:
                raise forms.ValidationError(str(exc)) from None
        return url

    def clean_email_recipients(self):
        raw = _header_text(self.cleaned_data["email_recipients"])
        emails = [part.strip() for part in raw.split(",") if part.strip()]
        for email in emails:
            try:
                validate_email(email)
            except forms.ValidationError:
                raise forms.ValidationError(f"{email!r} is not an email address.") from None
        return ", ".join(emails)

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == "provider" and not data.get("provider_name"):
            self.add_error("provider_name", "Name the provider this budget is for.")
        if scope == "key" and not data.get("gateway_key"):
            self.add_error("gateway_key", "Name the gateway key this budget is for.")
        if data.get("hard_stop") and scope != "key":
            self.add_error("hard_stop", "Only a gateway key budget can block traffic.")
        if scope != "provider":
            data["provider_name"] = ""
        if scope != "key":
            data["gateway_key"] = ""
        return data


class BatchableAgentForm(forms.Form):
    name = forms.CharField(max_length=128, label="Agent")


# Lengths from the models (a smaller limit above is kept), dates in the sane range, bounded numbers.
apply_limits(FilterForm, UsageRecord, fields={"provider": "provider_name", "model": "base_model", "key": "gateway_key"})
# Prices are often announced ahead: their dates may run ten years out.
apply_limits(PriceForm, ModelPrice, fields={"model": "base_model"}, date_days_ahead=3660)
apply_limits(RecomputeForm, RecomputeJob, fields={"model": "base_model"})
apply_limits(ProfileMappingForm, ProfileMapping)
apply_limits(BudgetForm, Budget)
apply_limits(BatchableAgentForm, BatchableAgent)
