"""Gateway keys: create, edit, rotate, revoke; each key's monthly budget is a usage Budget with a hard stop.

The key itself exists only in the return value of create_key / rotate_key (shown once);
the database keeps its SHA-256. Every change reaches all gateway processes through
gateway.keys' version token within about a second.
"""
import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from providers.gateway.keys import new_key
from providers.models import GatewayKey
from usage import budgets
from usage.models import Budget
from usage.queries import TAIL_MAX_PAGE, read_consistently
from usage.tasks import queue_alert_delivery


def budget_name(label):
    return f"Gateway key {label}"


@transaction.atomic
def create_key(label, *, owner="", allowed_models=(), monthly_budget_usd=None, expires_at=None, created_by=None,
               response_cache="request", response_cache_ttl_seconds=None, prompt_caching=True):
    """(GatewayKey, the key): the key is never stored and cannot be shown again."""
    key, key_hash, hint = new_key()
    gateway_key = GatewayKey.objects.create(
        label=label, owner=owner, key_hash=key_hash, key_hint=hint, allowed_models=list(allowed_models),
        monthly_budget_usd=monthly_budget_usd, expires_at=expires_at, created_by=created_by,
        response_cache=response_cache, response_cache_ttl_seconds=response_cache_ttl_seconds,
        prompt_caching=prompt_caching)
    sync_budget(gateway_key)
    return gateway_key, key


@transaction.atomic
def update_key(gateway_key, *, owner, allowed_models, monthly_budget_usd, expires_at, **cache_policy):
    """Save the key's settings; `cache_policy` may set response_cache, response_cache_ttl_seconds and
    prompt_caching (the others keep their values)."""
    gateway_key.owner, gateway_key.allowed_models = owner, list(allowed_models)
    gateway_key.monthly_budget_usd, gateway_key.expires_at = monthly_budget_usd, expires_at
    for name in ("response_cache", "response_cache_ttl_seconds", "prompt_caching"):
        if name in cache_policy:
            setattr(gateway_key, name, cache_policy.pop(name))
    if cache_policy:
        raise TypeError(f"update_key got unknown settings: {', '.join(cache_policy)}")
    gateway_key.save()
    sync_budget(gateway_key)
    return gateway_key


@transaction.atomic
def rotate_key(gateway_key):
    """A new key for the same label (usage and budget carry on); the old key stops working."""
    key, key_hash, hint = new_key()
    gateway_key.key_hash, gateway_key.key_hint, gateway_key.rotated_at = key_hash, hint, timezone.now()
    gateway_key.revoked_at = None
    gateway_key.save(update_fields=["key_hash", "key_hint", "rotated_at", "revoked_at"])
    return key


def revoke_key(gateway_key):
    if gateway_key.revoked_at is None:
        gateway_key.revoked_at = timezone.now()
        gateway_key.save(update_fields=["revoked_at"])


def sync_budget(gateway_key):
    """Keep the key's own hard-stop budget in step with its monthly_budget_usd (other budgets are left alone)."""
    budget = Budget.objects.filter(scope="key", gateway_key=gateway_key.label,
                                   name=budget_name(gateway_key.label)).first()
    if gateway_key.monthly_budget_usd is None:
        if budget is not None and budget.active:
            budget.active, budget.blocked_month = False, None
            budget.save(update_fields=["active", "blocked_month"])
        return None
    if budget is None:
        budget = Budget(name=budget_name(gateway_key.label), scope="key", gateway_key=gateway_key.label)
    budget.amount_usd, budget.hard_stop, budget.active = gateway_key.monthly_budget_usd, True, True
    budget.save()
    transaction.on_commit(lambda: budgets.check_budget(budget, send=queue_alert_delivery))  # block or unblock at once
    return budget


def month_spend_by_key(today=None):
    """{label: USD spent this UTC month}, demo traffic excluded."""
    today = today or budgets.today_utc()
    filters = budgets.month_filters(None, today)
    rows = read_consistently(lambda reader: reader.sums(filters, ["gateway_key"], fine=True, granularity="day",
                                                        extra={"is_demo": False}), tail_max=TAIL_MAX_PAGE)
    return {row["gateway_key"]: row["cost_total"] or Decimal(0) for row in rows}


def blocked_labels():
    month = budgets.today_utc().replace(day=1)
    return set(Budget.objects.filter(active=True, hard_stop=True, scope="key", blocked_month=month)
               .values_list("gateway_key", flat=True))


def search_keys(query=""):
    keys = GatewayKey.objects.all()
    if query:
        keys = keys.filter(Q(label__icontains=query) | Q(owner__icontains=query) | Q(key_hint__icontains=query))
    return list(keys)


def expires_from_date(day):
    """The end of `day` in UTC, for an expiry typed as a date."""
    if day is None:
        return None
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=datetime.UTC)
