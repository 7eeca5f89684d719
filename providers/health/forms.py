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
