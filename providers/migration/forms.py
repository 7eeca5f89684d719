"""Plain forms for the wizard's steps."""
from django import forms

from providers.migration.models import DIRECTIONS
from providers.migration.performance import DEFAULT_REQUESTS, MAX_REQUESTS
from providers.migration.verification import DEFAULT_MODEL


class DirectionForm(forms.Form):
    direction = forms.ChoiceField(choices=DIRECTIONS, widget=forms.RadioSelect)
    source = forms.ChoiceField(label="Source (serves traffic today)")
    target = forms.ChoiceField(label="Target (will serve it)")

    def __init__(self, *args, providers=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(p.name, f"{p.name} ({p.kind}{', ' + p.aws_region if p.aws_region else ''})")
                                 for p in providers]
        self.fields["source"].choices = choices
        self.fields["target"].choices = choices


class RunForm(forms.Form):
    model = forms.CharField(max_length=200, initial=DEFAULT_MODEL,
                            help_text="A logical name (haiku, sonnet, ...) or a model ID, sent to both providers.")
    requests = forms.IntegerField(min_value=1, max_value=MAX_REQUESTS, initial=DEFAULT_REQUESTS, required=False,
                                  help_text=f"Requests per provider (1 to {MAX_REQUESTS}).")


class AcknowledgeForm(forms.Form):
    probe = forms.CharField(max_length=50)
    note = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="Why this failure is acceptable (kept with the migration).")


class FixMappingForm(forms.Form):
    logical = forms.CharField(max_length=100)
    model_id = forms.CharField(max_length=300)


class SwitchForm(forms.Form):
    keep_source_as_fallback = forms.BooleanField(required=False, initial=True,
                                                 label="Keep the source as fallback")


class RolloutForm(forms.Form):
    percent = forms.TypedChoiceField(coerce=int, choices=[(p, f"{p}%") for p in (1, 10, 50, 100)])
    threshold = forms.FloatField(min_value=0.1, max_value=100, initial=5.0, label="Stop above this error rate (%)")
