"""GET /v1/models: the logical names and the model IDs the active configuration serves, in the API's shape."""
from providers import snapshot
from providers.clients.catalog import load_catalog
from providers.clients.resolution import resolve
from providers.gateway.access import model_names

EPOCH = "1970-01-01T00:00:00Z"


def _entry(model_id, display_name):
    return {"type": "model", "id": model_id, "display_name": display_name, "created_at": EPOCH}


def available_models(allowed=frozenset()):
    """Logical names first, then each one's model ID on every provider of the active chain."""
    catalog = load_catalog()
    listed = {}
    chain = snapshot.current().chain
    for logical in catalog.logical_names():
        current = catalog.models.get(catalog.logical[logical]["current"])
        name = current.display_name if current else logical
        listed.setdefault(logical, _entry(logical, f"{name} ({logical}, routed by the gateway)"))
        for settings in chain:
            try:
                model_id = resolve(settings, logical).model_id
            except Exception:  # a provider that cannot serve this name just does not list it
                continue
            listed.setdefault(model_id, _entry(model_id, f"{name} on {settings.name or settings.kind}"))
    entries = list(listed.values())
    if allowed:
        entries = [e for e in entries if model_names(e["id"]) & allowed]
    return entries


def page(entries):
    return {"data": entries, "has_more": False, "first_id": entries[0]["id"] if entries else None,
            "last_id": entries[-1]["id"] if entries else None}
