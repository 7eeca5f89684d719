"""Input limits shared by every form: text lengths from the model, dates in a sane range, bounded numbers.

`apply_limits(FormClass, Model)` runs once per form class at import time: each text field gets the
max_length of the model field of the same name (or of the name given in `fields`), or a default
limit when the model has none; dates get the sane range; whole numbers a range that fits the
database. A new field is covered without anyone copying a number by hand.
"""
import datetime

from django import forms
from django.core import validators
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils import timezone

# Text without a model limit (comma-separated lists, JSON values, secrets typed once).
DEFAULT_TEXT_LIMIT = 1000
SECRET_TEXT_LIMIT = 8192  # AWS session tokens and short-term Bedrock API keys run to a few KB
EARLIEST_DATE = datetime.date(2000, 1, 1)
LATEST_DATE_DAYS_AHEAD = 366
BIG_INTEGER = 2_147_483_647  # fits every integer column on every supported database


def latest_date(days_ahead=LATEST_DATE_DAYS_AHEAD):
    return timezone.now().astimezone(datetime.UTC).date() + datetime.timedelta(days=days_ahead)


class SaneDate:
    """Validator: a date from EARLIEST_DATE to `days_ahead` days after today (UTC)."""

    def __init__(self, days_ahead=LATEST_DATE_DAYS_AHEAD):
        self.days_ahead = days_ahead

    def __call__(self, value):
        if value is None:
            return
        latest = latest_date(self.days_ahead)
        if not EARLIEST_DATE <= value <= latest:
            raise ValidationError(f"Enter a date between {EARLIEST_DATE:%Y-%m-%d} and {latest:%Y-%m-%d}.",
                                  code="date_range")

    def __eq__(self, other):
        return isinstance(other, SaneDate) and other.days_ahead == self.days_ahead

    def __hash__(self):
        return hash(self.days_ahead)


def model_max_length(model, name):
    """The max_length of model.name, or None when there is no such field or it has no limit."""
    try:
        return model._meta.get_field(name).max_length
    except FieldDoesNotExist:
        return None


def limit_text(field, limit):
    """Give a text field a length limit (a smaller existing one is kept), in the form and in the browser."""
    if field.max_length is not None and field.max_length <= limit:
        return field
    field.max_length = limit
    field.validators = [v for v in field.validators if not isinstance(v, validators.MaxLengthValidator)]
    field.validators.append(validators.MaxLengthValidator(limit))
    field.widget.attrs["maxlength"] = str(limit)
    return field


def apply_limits(form_class, model=None, *, fields=None, date_days_ahead=LATEST_DATE_DAYS_AHEAD):
    """Limit every field of form_class; `fields` maps a form field to a model field name or a number."""
    fields = fields or {}
    for name, field in form_class.base_fields.items():
        if isinstance(field, forms.CharField):
            target = fields.get(name, name)
            limit = target if isinstance(target, int) else (model_max_length(model, target) if model else None)
            if limit is None and isinstance(field.widget, forms.PasswordInput):
                limit = SECRET_TEXT_LIMIT
            limit_text(field, limit or DEFAULT_TEXT_LIMIT)
        elif isinstance(field, forms.DateField):
            field.validators = [v for v in field.validators if not isinstance(v, SaneDate)]
            field.validators.append(SaneDate(date_days_ahead))
        elif isinstance(field, forms.IntegerField):
            if field.max_value is None:
                field.max_value = BIG_INTEGER
                field.validators.append(validators.MaxValueValidator(BIG_INTEGER))
            if field.min_value is None:
                field.min_value = -BIG_INTEGER
                field.validators.append(validators.MinValueValidator(-BIG_INTEGER))
    return form_class
