"""Model IDs to priced models, and the cost calculator (Decimal, exact to $0.000001).

A model ID from any provider kind normalizes to a base model (the Claude API name
without its date, e.g. ``claude-sonnet-4-5``) and a scope: ``standard`` on the
Claude API and Claude Platform on AWS; on Bedrock ``global`` (global. profile),
``geo`` (us./eu./apac./jp./au./us-gov. profiles) or ``in_region`` (a base or
bedrock-mantle ID). IDs are parsed by providers/clients/model_ids.py, the same
parser the catalog uses. Prices are looked up by (provider kind, base model,
scope) and the date of the call.
"""
import datetime
import threading
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from providers.clients import model_ids
from providers.clients.registry import KINDS, provider_kinds

MICRO = Decimal("0.000001")
MILLION = Decimal(1_000_000)
PROVIDER_KINDS = provider_kinds()  # the layer's registry is the one list of kinds
# A kind is priced by the model IDs it speaks: Bedrock's by profile scope; the Claude API's (Claude Platform
# on AWS too, the Claude API with AWS IAM and billing) at the one standard price.
FAMILY_SCOPES = {"anthropic": ("standard",), "bedrock": ("global", "geo", "in_region")}
SCOPES = {kind: FAMILY_SCOPES[info.model_family] for kind, info in KINDS.items()}
INFERENCE_GEOS = ("", "global", "us")  # the Claude API's inference_geo; "" when the request did not set one


def as_utc_date(when):
    """The UTC date of a datetime (naive ones are taken as UTC), or a date as is."""
    if isinstance(when, datetime.datetime):
        if timezone.is_naive(when):
            return when.date()
        return when.astimezone(datetime.UTC).date()
    return when


@dataclass(frozen=True)
class ParsedModel:
    base_model: str
    scope: str


normalize_base = model_ids.base_name


def parse_model_id(provider_kind, model_id, profile_mappings=None, profile_target=None):
    """(base model, scope) for a model ID, or None when it cannot be priced.

    `profile_mappings` maps application inference profile ARNs to the model ID
    they copy (the Prices page's manual mapping); without one, `profile_target`
    (the model Bedrock's GetInferenceProfile named for the ARN at call time)
    prices it; without either such an ARN is unpriced. Provisioned throughput
    and other ARNs are billed by the hour, not by token: unpriced.
    """
    parsed = model_ids.parse_model_id(model_id)
    if parsed is None:
        return None
    if parsed.arn_resource == "application-inference-profile":
        target = (profile_mappings or {}).get(parsed.raw) or profile_target
        return parse_model_id(provider_kind, target) if target and not target.startswith("arn:") else None
    if not parsed.is_claude or parsed.price_scope is None:
        return None
    by_scope = provider_kind in KINDS and KINDS[provider_kind].model_family == "bedrock"
    return ParsedModel(parsed.base_name, parsed.price_scope if by_scope else "standard")


@dataclass(frozen=True)
class Cost:
    input: Decimal
    output: Decimal
    cache_write: Decimal
    cache_read: Decimal
    total: Decimal
    cache_savings: Decimal  # net: reads below the input price minus the write premium
    long_context: bool  # priced at the upper band (long context; Haiku 5.5 above 100K)
    estimated: bool = False  # the price is an estimate, not a published list price


def _q(value):
    return value.quantize(MICRO, rounding=ROUND_HALF_UP)


def compute_cost(price, usage, *, batch=False, long_context=None, inference_geo=""):
    """The cost of one call. `price` has the ModelPrice fields; `usage` is a providers Usage.

    Every token kind has its own rate: uncached input, output, 5-minute and
    1-hour cache writes and cache reads (usage.input_tokens excludes cached
    tokens, so nothing is counted twice). Above the long-context threshold (on
    the request's own prompt: input + cache writes + reads) the whole request
    uses the long-context rates, with cache rates scaled the same way; Haiku
    5.5's price bands use the same fields. Batch takes its discount off every
    kind; inference_geo "us" multiplies every kind by the price's
    us_only_multiplier (models without one are not charged a premium).
    For summed usage pass `long_context` explicitly (the threshold is per request).
    """
    if long_context is None:
        long_context = bool(price.long_context_threshold and usage.total_input_tokens > price.long_context_threshold)
    long_context = bool(long_context and price.long_context_input is not None)
    rate_in, rate_out = Decimal(price.input), Decimal(price.output)
    scale = Decimal(1)
    if long_context:
        scale = Decimal(price.long_context_input) / rate_in if rate_in else Decimal(1)
        rate_in = Decimal(price.long_context_input)
        rate_out = Decimal(price.long_context_output if price.long_context_output is not None else price.output)
    rate_w5 = Decimal(price.cache_write_5m) * scale
    rate_w1h = Decimal(price.cache_write_1h) * scale
    rate_read = Decimal(price.cache_read) * scale
    factor = (Decimal(1) - Decimal(price.batch_discount)) if batch else Decimal(1)
    us_only = getattr(price, "us_only_multiplier", None)
    if inference_geo == "us" and us_only is not None:
        factor *= Decimal(us_only)

    exact = {
        "input": usage.input_tokens * rate_in * factor / MILLION,
        "output": usage.output_tokens * rate_out * factor / MILLION,
        "cache_write": (usage.cache_write_5m_tokens * rate_w5 + usage.cache_write_1h_tokens * rate_w1h)
        * factor / MILLION,
        "cache_read": usage.cache_read_tokens * rate_read * factor / MILLION,
    }
    total = _q(sum(exact.values()))
    parts = {kind: _q(value) for kind, value in exact.items()}
    # Rounded parts may miss the rounded total by a micro-dollar or two: the
    # largest part absorbs it, so the split by kind always adds up to the total.
    largest = max(exact, key=lambda kind: exact[kind])
    parts[largest] += total - sum(parts.values())
    savings = (usage.cache_read_tokens * (rate_in - rate_read)
               - usage.cache_write_5m_tokens * (rate_w5 - rate_in)
               - usage.cache_write_1h_tokens * (rate_w1h - rate_in)) * factor / MILLION
    return Cost(total=total, cache_savings=_q(savings), long_context=long_context,
                estimated=bool(getattr(price, "estimated", False)), **parts)


class PriceBook:
    """All prices and profile mappings in memory, for lookups without a query per call."""

    def __init__(self, prices, mappings):
        self._prices = {}
        for price in prices:
            key = (price.provider_kind, price.base_model, price.scope)
            self._prices.setdefault(key, []).append(price)
        for entries in self._prices.values():
            entries.sort(key=lambda price: price.effective_from, reverse=True)
        self.mappings = dict(mappings)

    @classmethod
    def load(cls):
        from usage.models import ModelPrice, ProfileMapping

        return cls(list(ModelPrice.objects.all()), ProfileMapping.objects.values_list("arn", "model_id"))

    def parse(self, provider_kind, model_id, profile_target=None):
        return parse_model_id(provider_kind, model_id, self.mappings, profile_target)

    def price_for(self, provider_kind, base_model, scope, when=None):
        """The price in force on the date of `when` (UTC), or None."""
        day = as_utc_date(when or timezone.now())
        for price in self._prices.get((provider_kind, base_model, scope), ()):
            if price.effective_from <= day:
                return price
        return None


_cache = {"book": None, "loaded": 0.0}
_lock = threading.Lock()
BOOK_TTL_SECONDS = 30.0


def price_book(max_age=BOOK_TTL_SECONDS):
    """The process-wide PriceBook, reloaded after `max_age` seconds or an edit in this process.

    Another process sees a price edit within `max_age` seconds; records it
    priced meanwhile are corrected by a recompute of that period.
    """
    with _lock:
        if _cache["book"] is None or time.monotonic() - _cache["loaded"] > max_age:
            _cache["book"] = PriceBook.load()
            _cache["loaded"] = time.monotonic()
        return _cache["book"]


def forget_price_book(**kwargs):
    with _lock:
        _cache["book"] = None
