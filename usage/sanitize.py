"""Make one usage row writable whatever its values: the last line of defence before the database.

Every text loses NUL bytes, other control characters and lone surrogates (PostgreSQL refuses NUL,
UTF-8 refuses surrogates) and is cut to its column's length; counts are clamped to the column's
range; floats that are not finite become NULL; costs that do not fit their column become NULL
(flagged unpriced, never a wrong number). A row that still fails goes to the dead-letter table
(ingest.write_rows), so one bad value can never fail the write of the others.
"""
import datetime
import decimal
import math
import re

from django.db import models
from django.utils import timezone

from usage.models import UsageRecord

INT_MAX = 2**31 - 1  # IntegerField on PostgreSQL
_INVALID_TEXT = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")  # one-line identifiers: no control characters


def _text_limits():
    return {field.attname: field.max_length for field in UsageRecord._meta.concrete_fields
            if isinstance(field, models.CharField)}


TEXT_LIMITS = _text_limits()


def clean_text(value, limit):
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return _INVALID_TEXT.sub("", text)[:limit]


def _clean_int(value):
    if type(value) is int and 0 <= value <= INT_MAX:  # the usual case, fast
        return value
    try:
        number = int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0
    return min(max(number, 0), INT_MAX)


def _clean_float(value):
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _decimal_cleaner(max_digits, places):
    step, bound = decimal.Decimal(1).scaleb(-places), decimal.Decimal(10) ** (max_digits - places)

    def clean(value):
        if value is None:
            return None
        try:
            if not isinstance(value, decimal.Decimal):
                value = decimal.Decimal(str(value))
            if not value.is_finite() or abs(value) >= bound:
                return None
            return value if value.as_tuple().exponent >= -places else value.quantize(step)
        except (decimal.InvalidOperation, ValueError):
            return None

    return clean


def _clean_fk(value):
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _clean_moment(value):
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime.datetime):
        return timezone.now()
    return timezone.make_aware(value, datetime.UTC) if timezone.is_naive(value) else value


def _text_cleaner(limit):
    def clean(value):
        if type(value) is str and value.isprintable() and len(value) <= limit:  # the usual case, fast
            return value
        return clean_text(value, limit)

    return clean


def _cleaners():
    """One function per column, chosen once from the model's field types."""
    cleaners = {"occurred_at": _clean_moment, "price_id": _clean_fk}
    for field in UsageRecord._meta.concrete_fields:
        if field.primary_key or field.attname in cleaners:
            continue
        if isinstance(field, models.CharField):
            cleaners[field.attname] = _text_cleaner(field.max_length)
        elif isinstance(field, models.BooleanField):
            cleaners[field.attname] = bool
        elif isinstance(field, models.IntegerField):
            cleaners[field.attname] = _clean_int
        elif isinstance(field, models.FloatField):
            cleaners[field.attname] = _clean_float
        elif isinstance(field, models.DecimalField):
            cleaners[field.attname] = _decimal_cleaner(field.max_digits, field.decimal_places)
    return cleaners


CLEANERS = _cleaners()
# The row's own cost parts: NULL together with cost_total. Not response_cache_saving: that is the cost of the
# answer a cache hit replayed, priced when it was first paid for, whether or not the hit's row is priced (its
# range is checked like every decimal column's).
COST_NAMES = ("cost_input", "cost_output", "cost_cache_write", "cost_cache_read", "cache_savings")


def sanitize_row(values):
    """A copy of `values` (attname -> value) that every column accepts; unknown keys are dropped."""
    clean = {name: CLEANERS[name](value) for name, value in values.items() if name in CLEANERS}
    if "cost_total" in clean and clean["cost_total"] is None:  # a cost that could not be kept: unpriced, not partial
        for name in COST_NAMES:
            clean[name] = None
    return clean
