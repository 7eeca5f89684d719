"""Step 3: every logical model and every model ID seen in recent usage resolves on the target.

Each row says what the source sends, what the target would send (in its region, through an
inference profile when that is how Bedrock serves it), and, when something is wrong, the problem
and its fix: a retired or near-end-of-life model with its replacement, a model the target does
not serve with a mapping that does.
"""
import datetime as dt

from django.utils import timezone

from providers.client_pool import client_for
from providers.clients.catalog import load_catalog
from providers.clients.errors import ProviderError
from usage.models import UsageRecord

WINDOW_DAYS = 30
# Calls the wizard, test connection and health checks made are not the application's traffic.
NOT_TRAFFIC = ("wizard", "test", "health", "demo")
FLAGGED = ("retired", "near_end_of_life", "deprecated")


def recent_model_ids(now=None, days=WINDOW_DAYS):
    """Model IDs (and the logical names that produced them) seen in the application's usage."""
    since = (now or timezone.now()) - dt.timedelta(days=days)
    rows = (UsageRecord.objects.filter(occurred_at__gte=since, is_demo=False).exclude(purpose__in=NOT_TRAFFIC)
            .values_list("model_id", "logical_model").distinct())
    seen = {}
    for model_id, logical in rows:
        seen.setdefault(model_id, set()).add(logical or "")
    return {model_id: sorted(name for name in names if name) for model_id, names in sorted(seen.items())}


def _resolve(settings, name):
    try:
        return client_for(settings).resolution(name), None
    except ProviderError as error:
        return None, error
    except Exception as exc:  # the control plane may be unreachable: say so, never fail the page
        return None, exc


def check(source, target, *, now=None):
    """{"rows": [...], "ok": bool, "problems": n} for source and target ProviderSettings."""
    catalog = load_catalog()
    names = list(dict.fromkeys([*catalog.logical_names(), *source.model_mapping, *target.model_mapping]))
    rows = [_row(catalog, source, target, name, "logical", []) for name in names]
    for model_id, logicals in recent_model_ids(now).items():
        if model_id in names:
            continue
        rows.append(_row(catalog, source, target, model_id, "usage", logicals))
    problems = sum(1 for row in rows if row["problem"])
    return {"rows": rows, "ok": not any(row["blocking"] for row in rows), "problems": problems,
            "checked_at": (now or timezone.now()).isoformat()}


def _row(catalog, source, target, name, origin, logicals):
    row = {"name": name, "origin": origin, "logicals": logicals, "source_id": "", "target_id": "", "scope": "",
           "status": "ok", "problem": "", "fix": "", "replacement": "", "fixable": False}
    resolved_source, _ = _resolve(source, name)
    if resolved_source is not None:
        row["source_id"] = resolved_source.model_id
    resolution, error = _resolve(target, name)
    model = catalog.model(resolution.catalog_key if resolution and resolution.catalog_key else name)
    successor = catalog.successor(model) if model else None
    if error is not None:
        row.update(status="error", problem=getattr(error, "message", None) or str(error)[:300],
                   fix=getattr(error, "hint", "") or "Map it to a model the target serves.")
    elif resolution.available is False:
        row.update(target_id=resolution.model_id, scope=resolution.scope, status="unavailable",
                   problem=resolution.note or f"{resolution.model_id} is not served by {target.name}.")
        row["fix"] = _unavailable_fix(catalog, target, model)
    else:
        row.update(target_id=resolution.model_id, scope=resolution.scope)
        if resolution.catalog_key is None:
            # Not a Claude model the catalog knows (an application profile ARN, provisioned throughput...).
            arn_on_api = name.startswith("arn:") and target.kind != "bedrock"
            row.update(status="error" if arn_on_api else "unknown",
                       problem=("An AWS ARN has no Claude API equivalent." if arn_on_api else
                                "Not a model the catalog knows: check that the target serves it."),
                       fix="Map a logical name to a Claude model instead." if arn_on_api else "")
        elif resolution.lifecycle_status in FLAGGED:
            row.update(status=resolution.lifecycle_status, problem=resolution.lifecycle_message)
        elif resolution.fallback_used:
            row.update(status="fallback", problem=resolution.note)
    if row["problem"] and successor is not None:
        row["replacement"] = successor.key
        row["fix"] = (f"Map {name} to {successor.display_name} on {target.name}." if origin == "logical" else
                      f"Requests name {name} directly: change them to "
                      f"'{successor.family}' (now {successor.display_name}) or map a logical name.")
    row["fixable"] = bool(row["problem"] and origin == "logical" and row["replacement"])
    # A deprecated model that still works is a warning; anything else blocks.
    row["blocking"] = row["status"] in ("error", "unavailable", "retired")
    return row


def _unavailable_fix(catalog, target, model):
    if model is None:
        return "Map it to a model ID the target serves."
    if target.kind == "bedrock" and not model.bedrock_base_id:
        return f"{model.display_name} is not offered on Bedrock in any region: use a model Bedrock serves instead."
    if target.kind == "bedrock":
        profiles = ", ".join(f"{p}.{model.bedrock_base_id}" for p in model.bedrock_profiles) or "none"
        return (f"{model.display_name} is not served in {target.aws_region}: choose a region that serves it, "
                f"an inference profile ({profiles}), or request model access in the Bedrock console.")
    return f"Map it to a model {target.name} serves."


def blocking(result):
    return [row for row in (result or {}).get("rows", []) if row.get("blocking")]
