"""Manual overrides from the Status page: force a provider out, pin the primary, reset a breaker,
and the breaker policy. Each is a configuration revision with who did it.

Forced-out and pinned names live on ProviderRouting, so the selection (providers.selection) and
with it the configuration snapshot honour them on the next call in every process (a save replaces
the snapshot's version token), and a revision restore brings them back like any setting.
"""
from django.db import transaction

from providers import breaker
from providers.models import ProviderConfig, ProviderRouting
from providers.revisions import record_revision

POLICY_FIELDS = ("breaker_failures", "breaker_error_rate", "breaker_window_seconds", "breaker_min_calls",
                 "breaker_open_seconds")


class OverrideRefused(ValueError):
    """The override names nothing that exists, or would leave no provider in traffic."""


def _provider(name):
    if not ProviderConfig.objects.filter(name=name).exists():
        raise OverrideRefused(f"No provider is named {name!r}; pick one from the Status page.")


def set_forced_out(name, out, user):
    _provider(name)
    with transaction.atomic():
        routing = ProviderRouting.objects.select_for_update().get_or_create(pk=1)[0]
        names = [n for n in routing.forced_out if n != name]
        if out:
            others = ProviderConfig.objects.filter(enabled=True).exclude(name__in=[*names, name])
            if not others.exists():
                raise OverrideRefused(f"Forcing {name} out would leave no enabled provider in traffic.")
            names.append(name)
        routing.forced_out = names
        routing.save()
        record_revision(user, f"{'Forced' if out else 'Returned'} {name} {'out of' if out else 'to'} traffic "
                              f"(Status page)")
    return routing


def set_pinned_primary(name, user):
    """Pin `name` as the primary ("" unpins: the configured routing decides again)."""
    if name:
        _provider(name)
    with transaction.atomic():
        routing = ProviderRouting.objects.select_for_update().get_or_create(pk=1)[0]
        if name and name in routing.forced_out:
            raise OverrideRefused(f"{name} is forced out; return it to traffic before pinning it.")
        routing.pinned_primary = name
        routing.save()
        record_revision(user, f"Pinned the primary to {name} (Status page)" if name
                        else "Unpinned the primary (Status page)")
    return routing


def reset_breaker(target, user):
    """Close the breaker named `target` (a provider, or provider/model) now."""
    _provider(target.split("/", 1)[0])
    with transaction.atomic():
        breaker.reset(target)
        record_revision(user, f"Reset the circuit breaker of {target} (Status page)")


def save_policy(values, user):
    with transaction.atomic():
        routing = ProviderRouting.objects.select_for_update().get_or_create(pk=1)[0]
        for field in POLICY_FIELDS:
            setattr(routing, field, values[field])
        routing.save()
        record_revision(user, "Changed the circuit-breaker policy (Status page)")
    return routing
