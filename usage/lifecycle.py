"""Model lifecycle: deprecated or retiring models that still carry traffic.

Dates and the near-end-of-life horizon come from the provider layer's catalog
(providers/clients/catalog.json), the same data that stops a logical name from
resolving to a retired model.
"""
import datetime

from providers.clients.catalog import load_catalog
from usage.pricing import parse_model_id

STATES = {"retired": "retired", "near_end_of_life": "retiring", "deprecated": "deprecated"}


def models_by_base_model(catalog):
    """Catalog entries keyed the way usage records name models (base_model, e.g. claude-sonnet-4-5)."""
    out = {}
    for model in catalog.models.values():
        parsed = parse_model_id("anthropic", model.key)
        if parsed:
            out[parsed.base_model] = model
    return out


def lifecycle_warnings(model_rows, today, catalog=None):
    """Warnings for models in traffic; model_rows are sums grouped by base_model."""
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
        warnings.append({"model": row["base_model"], "state": STATES[status], "message": message,
                         "retires_on": retires, "days_left": (retires - today).days if retires else None,
                         "requests": row["requests"], "cost": row["cost_total"],
                         "request_share": 100 * row["requests"] / total_requests,
                         "cost_share": 100 * (row["cost_total"] or 0) / total_cost})
    return sorted(warnings, key=lambda warning: warning["retires_on"] or datetime.date.max)
