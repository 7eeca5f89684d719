"""Model lifecycle: deprecated or retiring models that still carry traffic.

Dates and the near-end-of-life horizon come from the provider layer's catalog
(providers/clients/catalog.json), the same data that stops a logical name from
resolving to a retired model.
"""
import datetime
from decimal import Decimal

from providers.clients.catalog import load_catalog
from providers.clients.usage import Usage
from usage.pricing import compute_cost, parse_model_id
from usage.tokenizer import counted_on_target, token_factor

STATES = {"retired": "retired", "near_end_of_life": "retiring", "deprecated": "deprecated"}


def models_by_base_model(catalog):
    """Catalog entries keyed the way usage records name models (base_model, e.g. claude-sonnet-4-5)."""
    out = {}
    for model in catalog.models.values():
        parsed = parse_model_id("anthropic", model.key)
        if parsed:
            out[parsed.base_model] = model
    return out


def lifecycle_warnings(model_rows, today, catalog=None, *, detail_rows=(), book=None, when=None):
    """Warnings for models in traffic; model_rows are sums grouped by base_model. With `detail_rows`
    (sums grouped by provider kind, model and scope) and a price `book`, each warning also carries the
    cost of the same traffic on the successor at the prices in force on `when`."""
    catalog = catalog or load_catalog()
    models = models_by_base_model(catalog)
    total_requests = sum(row["requests"] for row in model_rows) or 1
    total_cost = sum(row["cost_total"] or 0 for row in model_rows) or 1
    warnings = []
    for row in model_rows:
        model = models.get(row["base_model"])
        if model is None or not row["requests"]:
            continue
        status, message = model.lifecycle(today, catalog.near_days)
        if status not in STATES:
            continue
        retires = model.retires_on
        successor = catalog.successor(model)
        warning = {"model": row["base_model"], "model_key": model.key, "state": STATES[status], "message": message,
                   "retires_on": retires, "days_left": (retires - today).days if retires else None,
                   "requests": row["requests"], "cost": row["cost_total"],
                   "request_share": 100 * row["requests"] / total_requests,
                   "cost_share": 100 * (row["cost_total"] or 0) / total_cost,
                   "successor": successor, "cost_now": None, "cost_successor": None, "cost_difference": None}
        if successor is not None and book is not None:
            rows = [r for r in detail_rows if r["base_model"] == row["base_model"] and r["requests"]]
            warning.update(repriced(rows, model, successor, book, when))
        warnings.append(warning)
    return sorted(warnings, key=lambda warning: warning["retires_on"] or datetime.date.max)


def repriced(rows, model, successor, book, when):
    """The traffic in `rows` priced at `when` on the model it used and on its successor (with the
    successor's token counts); None values where either has no price for a row's provider and scope."""
    growth = token_factor(model, successor)
    old_base, new_base = (parse_model_id("anthropic", m.key).base_model for m in (model, successor))
    now = then = Decimal(0)
    for row in rows:
        usage = Usage(row["input_tokens"], row["output_tokens"], row["cache_write_5m_tokens"],
                      row["cache_write_1h_tokens"], row["cache_read_tokens"])
        grown = counted_on_target(usage, growth)
        old_price = book.price_for(row["provider_kind"], old_base, row["scope"], when)
        new_price = book.price_for(row["provider_kind"], new_base, row["scope"], when)
        if old_price is None or new_price is None:
            return {}
        now += compute_cost(old_price, usage, batch=row["batch"], long_context=row["long_context"]).total
        then += compute_cost(new_price, grown, batch=row["batch"], long_context=row["long_context"]).total
    return {"cost_now": now, "cost_successor": then, "cost_difference": then - now,
            "tokenizer_growth": growth}
