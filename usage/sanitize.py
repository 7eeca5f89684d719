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


def _kinds():
    kinds = {}
    for field in UsageRecord._meta.concrete_fields:
        if isinstance(field, models.BooleanField):
            kinds[field.attname] = "bool"
        elif isinstance(field, models.IntegerField) and not field.primary_key:
            kinds[field.attname] = "int"
        elif isinstance(field, models.FloatField):
            kinds[field.attname] = "float"
        elif isinstance(field, models.DecimalField):
            kinds[field.attname] = ("decimal", field.max_digits, field.decimal_places)
    kinds["price_id"] = "fk"
    return kinds


TEXT_LIMITS = _text_limits()
KINDS = _kinds()


def clean_text(value, limit):
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return _INVALID_TEXT.sub("", text)[:limit]


def _clean_int(value):
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


def _clean_decimal(value, max_digits, places):
    if value is None:
        return None
    try:
        number = decimal.Decimal(str(value)).quantize(decimal.Decimal(1).scaleb(-places))
    except (decimal.InvalidOperation, ValueError):
        return None
    if not number.is_finite() or abs(number) >= decimal.Decimal(10) ** (max_digits - places):
        return None
    return number


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


def sanitize_row(values):
    """A copy of `values` (attname -> value) that every column accepts; unknown keys are dropped."""
    clean = {}
    for name, value in values.items():
        if name in TEXT_LIMITS:
            clean[name] = clean_text(value, TEXT_LIMITS[name])
        elif name == "occurred_at":
            clean[name] = _clean_moment(value)
        elif name in KINDS:
            kind = KINDS[name]
            if kind == "bool":
                clean[name] = bool(value)
            elif kind == "int":
                clean[name] = _clean_int(value)
            elif kind == "float":
                clean[name] = _clean_float(value)
            elif kind == "fk":
                clean[name] = _clean_fk(value)
            else:
                clean[name] = _clean_decimal(value, kind[1], kind[2])
    if "cost_total" in clean and clean["cost_total"] is None:  # a cost that could not be kept: unpriced, not partial
        for name in ("cost_input", "cost_output", "cost_cache_write", "cost_cache_read", "cache_savings"):
            clean[name] = None
    return clean
