"""Changes to the stored provider configuration; each one records a revision."""
from django.db import transaction

from providers.clients.catalog import load_catalog
from providers.models import ProviderConfig, ProviderRouting
from providers.revisions import record_revision


def save_provider(config, user, *, summary=None):
    created = config.pk is None
    with transaction.atomic():
        old_name = None if created else ProviderConfig.objects.filter(pk=config.pk).values_list("name", flat=True).first()
        if old_name and old_name != config.name:
            rename_references(old_name, config.name)
        if created and not config.position:
            last = ProviderConfig.objects.order_by("-position").first()
            config.position = (last.position + 1) if last else 0
        config.save()
        routing = ProviderRouting.load()
        if created and not routing.primary and not ProviderConfig.objects.exclude(pk=config.pk).exists():
            routing.primary = config.name
            routing.save()
        record_revision(user, summary or f"{'Added' if created else 'Changed'} provider {config.name}")
    return config


def rename_references(old, new):
    routing = ProviderRouting.load()
    routing.primary = new if routing.primary == old else routing.primary
    routing.fallbacks = [new if n == old else n for n in routing.fallbacks]
    routing.environment_primary = {k: (new if v == old else v) for k, v in routing.environment_primary.items()}
    routing.save()


def delete_provider(config, user):
    with transaction.atomic():
        name = config.name
        config.delete()
        routing = ProviderRouting.load()
        routing.primary = "" if routing.primary == name else routing.primary
        routing.fallbacks = [n for n in routing.fallbacks if n != name]
        routing.environment_primary = {k: v for k, v in routing.environment_primary.items() if v != name}
        routing.save()
        record_revision(user, f"Removed provider {name}")


def update_routing(user, *, primary, fallbacks, auto_fallback, environment_primary=None):
    with transaction.atomic():
        routing = ProviderRouting.load()
        routing.primary = primary or ""
        routing.fallbacks = [n for n in fallbacks if n and n != primary]
        routing.auto_fallback = auto_fallback
        if environment_primary is not None:
            routing.environment_primary = {k: v for k, v in environment_primary.items() if v}
        routing.save()
        record_revision(user, "Changed primary and fallbacks")
    return routing


def remap_model(model_key, user):
    """Point every logical name that a provider maps to `model_key` at the catalog's successor, as one
    revision (undone like any other). Returns (successor, ["provider: logical", ...]); nothing changes
    when no mapping names the model (its traffic then names it directly in the requests)."""
    catalog = load_catalog()
    old = catalog.model(model_key)
    new = catalog.successor(old) if old else None
    if new is None:
        raise ValueError(f"{model_key} has no newer model in the catalog to move to.")
    changed = []
    with transaction.atomic():
        for config in ProviderConfig.objects.select_for_update().order_by("position", "name"):
            mapping = dict(config.model_mapping or {})
            moved = [logical for logical, value in mapping.items()
                     if value and getattr(catalog.model(value), "key", None) == old.key]
            if not moved:
                continue
            for logical in moved:
                default = catalog.logical.get(logical, {}).get("current")
                if default == new.key:
                    del mapping[logical]  # the catalog default is the successor: drop the override
                else:
                    mapping[logical] = new.key
                changed.append(f"{config.name}: {logical}")
            config.model_mapping = mapping
            config.save()
        if changed:
            record_revision(user, f"Remapped {old.display_name} to {new.display_name} ({', '.join(changed)})")
    return new, changed
