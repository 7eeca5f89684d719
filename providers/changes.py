"""Changes to the stored provider configuration; each one records a revision."""
from django.db import transaction

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
