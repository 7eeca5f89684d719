"""Model lifecycle: deprecated or retiring models that still carry traffic.

Dates come from providers/clients/catalog.json (per model "deprecated_on" and
"retires_on"). The file's shape is owned by the provider layer, so it is read
defensively: any object holding either date names its model in one of its
string values (or in the key it sits under), in either provider's ID form.
"""
import datetime
import json
import logging

from django.conf import settings

from usage.pricing import parse_model_id

log = logging.getLogger(__name__)
DATE_KEYS = ("deprecated_on", "retires_on")
HORIZON_DAYS = 90  # "near end of life", unless the catalog sets near_end_of_life_days
_cache = {"path": None, "mtime": None, "data": ({}, HORIZON_DAYS)}


def catalog_path():
    return settings.BASE_DIR / "providers" / "clients" / "catalog.json"


def _date(value):
    try:
        return datetime.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _models_named(node, parent_key):
    names = [parent_key] if isinstance(parent_key, str) else []
    names += [value for value in node.values() if isinstance(value, str)]
    found = set()
    for name in names:
        for kind in ("anthropic", "bedrock"):
            parsed = parse_model_id(kind, name)
            if parsed:
                found.add(parsed.base_model)
    return found


def _walk(node, parent_key, out):
    if isinstance(node, dict):
        if any(key in node for key in DATE_KEYS):
            dates = {key: _date(node.get(key)) for key in DATE_KEYS}
            for model in _models_named(node, parent_key):
                current = out.setdefault(model, {key: None for key in DATE_KEYS})
                for key, value in dates.items():
                    if value and (current[key] is None or value < current[key]):
                        current[key] = value
        for key, value in node.items():
            _walk(value, key, out)
    elif isinstance(node, list):
        for item in node:
            _walk(item, parent_key, out)


def load_lifecycle(path=None):
    """({base model: {"deprecated_on": date|None, "retires_on": date|None}}, horizon in days).

    Without a readable catalog there is nothing to warn about: ({}, HORIZON_DAYS).
    """
    path = path or catalog_path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}, HORIZON_DAYS
    if _cache["path"] == path and _cache["mtime"] == mtime:
        return _cache["data"]
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        log.warning("Cannot read the model catalog %s: %s", path, error)
        return {}, HORIZON_DAYS
    models = {}
    _walk(document, None, models)
    horizon = document.get("near_end_of_life_days") if isinstance(document, dict) else None
    data = (models, horizon if isinstance(horizon, int) and horizon >= 0 else HORIZON_DAYS)
    _cache.update(path=path, mtime=mtime, data=data)
    return data


def lifecycle_warnings(model_rows, today, lifecycle=None):
    """Warnings for models in traffic; model_rows are sums grouped by base_model."""
    lifecycle, horizon = load_lifecycle() if lifecycle is None else lifecycle
    total_requests = sum(row["requests"] for row in model_rows) or 1
    total_cost = sum(row["cost_total"] for row in model_rows) or 1
    warnings = []
    for row in model_rows:
        dates = lifecycle.get(row["base_model"])
        if not dates or not row["requests"]:
            continue
        retires, deprecated = dates["retires_on"], dates["deprecated_on"]
        if retires and retires <= today:
            state = "retired"
        elif retires and (retires - today).days <= horizon:
            state = "retiring"
        elif deprecated and deprecated <= today:
            state = "deprecated"
        else:
            continue
        warnings.append({"model": row["base_model"], "state": state, "retires_on": retires,
                         "deprecated_on": deprecated, "days_left": (retires - today).days if retires else None,
                         "requests": row["requests"], "cost": row["cost_total"],
                         "request_share": 100 * row["requests"] / total_requests,
                         "cost_share": 100 * row["cost_total"] / total_cost})
    return sorted(warnings, key=lambda warning: (warning["retires_on"] or datetime.date.max))
