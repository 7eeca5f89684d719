from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from moments_admin import outbound
from moments_admin.schedule import HEALTH_TICK_SECONDS


class HealthSettingsForm(forms.Form):
    interval_seconds = forms.IntegerField(min_value=HEALTH_TICK_SECONDS, max_value=86400, label="Check every (seconds)")
    down_after_failures = forms.IntegerField(min_value=1, max_value=20, label="Down after failed checks in a row")
    up_after_successes = forms.IntegerField(min_value=1, max_value=20, label="Recovered after passed checks in a row")
    alert_emails = forms.CharField(required=False, max_length=2000, label="Alert e-mail addresses",
                                   widget=forms.Textarea(attrs={"rows": 2}),
                                   help_text="Comma or newline separated.")
    webhook_url = forms.URLField(required=False, max_length=500, assume_scheme="https", label="Alert webhook URL")
    maintenance = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                            label="Under maintenance (checked, no incidents or alerts)")

    def __init__(self, *args, provider_names=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["maintenance"].choices = [(name, name) for name in provider_names]

    def clean_alert_emails(self):
        addresses = [a.strip() for a in self.cleaned_data["alert_emails"].replace("\n", ",").split(",") if a.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"{address[:100]!r} is not an e-mail address.") from None
        return ", ".join(addresses)

    def clean_webhook_url(self):
        url = self.cleaned_data["webhook_url"]
        if url:
            try:
                outbound.check_url(url)  # the same guard as budget webhooks, again at send time
            except outbound.OutboundRefused as exc:
                raise ValidationError(str(exc)) from None
        return url


class BreakerPolicyForm(forms.Form):
    breaker_failures = forms.IntegerField(min_value=1, max_value=100, label="Open after consecutive failures")
    breaker_error_rate = forms.IntegerField(min_value=0, max_value=100, label="Or an error rate of (%)",
                                            help_text="0 turns the error-rate rule off.")
    breaker_window_seconds = forms.IntegerField(min_value=5, max_value=3600, label="Error-rate window (seconds)")
    breaker_min_calls = forms.IntegerField(min_value=1, max_value=100000, label="Over at least (calls in the window)")
    breaker_open_seconds = forms.IntegerField(min_value=1, max_value=3600, label="Stay open for (seconds)",
                                              help_text="Then one trial call goes through (half-open): "
                                                        "a success closes the breaker, a failure opens it again.")


class OverrideForm(forms.Form):
    """One override button: which provider (or breaker) it acts on."""

    target = forms.CharField(max_length=200, required=False)
    on = forms.BooleanField(required=False)
