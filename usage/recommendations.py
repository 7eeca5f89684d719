"""Savings computed from recorded traffic, refreshed hourly by a Celery task.

Each recommendation reprices the traffic it concerns and states the estimated
monthly saving (the saving over the window, scaled to 30 days of the traffic
actually seen). They scan raw rows of the last WINDOW_DAYS, so they run in the
background, never while a page renders.
"""
import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from providers.clients.catalog import load_catalog
from providers.clients.prompt_caching import SMALLEST_MINIMUM, minimum_cacheable_tokens
from providers.clients.usage import Usage
from usage.models import BatchableAgent, ProviderDaily, Recommendation, UsageRecord
from usage.pricing import PriceBook, compute_cost
from usage.rollups import COST_FIELDS, TOKEN_FIELDS
from usage.tokenizer import counted_on_target, token_factor
from usage.traffic import APPLICATION_PURPOSES

WINDOW_DAYS = 30
SIMPLE_MAX_OUTPUT = 300  # tokens: short answers
SIMPLE_MAX_INPUT = 8000  # tokens, all input kinds
TARGET_SMALL_MODEL = "claude-haiku-4-5"
MIN_MONTHLY_SAVING = Decimal("0.01")


def _sums():
    return {name: Sum(name) for name in TOKEN_FIELDS + ("cost_total",)}


def _usage(row):
    return Usage(*(row[name] or 0 for name in TOKEN_FIELDS))


def _label(model):
    info = load_catalog().model(model)
    if info is not None:  # "Sonnet 5.5", as the catalog names it
        return info.display_name.removeprefix("Claude ")
    return model.replace("claude-", "").replace("-", " ").title().replace(" 4 5", " 4.5").replace(" 4 1", " 4.1")


def simple_to_haiku(rows, book, when):
    """rows: simple requests on Sonnet/Opus grouped by provider_kind, base_model, scope, batch. The
    target is priced on its own token counts (5.x traffic is counted again with Haiku 4.5's tokenizer)."""
    found = []
    catalog = load_catalog()
    small = catalog.model(TARGET_SMALL_MODEL)
    for row in rows:
        target = book.price_for(row["provider_kind"], TARGET_SMALL_MODEL, row["scope"], when)
        if target is None or not row["cost_total"]:
            continue
        usage = counted_on_target(_usage(row), token_factor(catalog.model(row["base_model"]), small))
        cheaper = compute_cost(target, usage, batch=row["batch"], long_context=False).total
        found.append((row, row["cost_total"] - cheaper, cheaper))
    return found


def caching_saving(rows, book, when):
    """rows: repeated prefix hashes without caching, with n, prefix (min input) and active hours."""
    per_model = {}
    for row in rows:
        price = book.price_for(row["provider_kind"], row["base_model"], row["scope"], when)
        if price is None or row["prefix"] < minimum_cacheable_tokens(row["base_model"], row["provider_kind"]):
            continue
        writes = row["hours"]  # one 5-minute cache write per active hour, a cautious guess
        reads = max(row["n"] - writes, 0)
        saving = (reads * row["prefix"] * (price.input - price.cache_read)
                  - writes * row["prefix"] * (price.cache_write_5m - price.input)) / Decimal(1_000_000)
        if saving > 0:
            entry = per_model.setdefault((row["provider_kind"], row["base_model"]), [Decimal(0), 0, 0])
            entry[0] += saving
            entry[1] += 1
            entry[2] += row["n"]
    return per_model


def refresh_recommendations(now=None):
    now = now or timezone.now()
    since = now - datetime.timedelta(days=WINDOW_DAYS)
    # The application's own traffic: test connection, health checks and the wizard are no workload to optimise.
    window = UsageRecord.objects.filter(occurred_at__gte=since, occurred_at__lt=now, status="ok",
                                        purpose__in=APPLICATION_PURPOSES)
    first = window.aggregate(first=Min("occurred_at"))["first"]
    if first is None:
        with transaction.atomic():
            Recommendation.objects.all().delete()
        return {"recommendations": 0}
    days = max(Decimal((now - first).total_seconds()) / 86400, Decimal(1))
    scale = Decimal(30) / days
    book = PriceBook.load()
    found = []

    big = Q(base_model__startswith="claude-sonnet") | Q(base_model__startswith="claude-opus") | \
        Q(base_model="claude-3-7-sonnet")
    simple = (window.filter(big, has_tools=False, long_context=False, output_tokens__lte=SIMPLE_MAX_OUTPUT,
                            cost_total__isnull=False)
              .alias(all_input=F("input_tokens") + F("cache_write_5m_tokens") + F("cache_write_1h_tokens")
                     + F("cache_read_tokens"))
              .filter(all_input__lte=SIMPLE_MAX_INPUT)
              .values("provider_kind", "base_model", "scope", "batch").annotate(n=Count("id"), **_sums()).order_by())
    for row, saving, cheaper in simple_to_haiku(simple, book, now):
        found.append(Recommendation(
            kind="haiku", monthly_saving_usd=saving * scale, provider_kind=row["provider_kind"],
            base_model=row["base_model"],
            title=f"Move simple requests from {_label(row['base_model'])} to Haiku 4.5 ({row['provider_kind']})",
            detail=(f"{row['n']:,} requests in the last {days:.0f} days had short answers (at most "
                    f"{SIMPLE_MAX_OUTPUT} output tokens), no tools and small prompts. They cost "
                    f"${row['cost_total']:,.2f}; on Haiku 4.5 the same tokens cost ${cheaper:,.2f}. "
                    "Route them with a logical model name and check answer quality on a sample first.")))

    repeated = (window.filter(cache_read_tokens=0, cache_write_5m_tokens=0, cache_write_1h_tokens=0)
                .exclude(prompt_prefix_hash="")
                .values("provider_kind", "base_model", "scope", "prompt_prefix_hash")
                .annotate(n=Count("id"), prefix=Min("input_tokens"),
                          hours=Count(TruncHour("occurred_at"), distinct=True))
                .filter(n__gte=2, prefix__gte=SMALLEST_MINIMUM).order_by())
    for (kind, model), (saving, prefixes, requests) in caching_saving(repeated, book, now).items():
        found.append(Recommendation(
            kind="caching", monthly_saving_usd=saving * scale, provider_kind=kind, base_model=model,
            title=f"Turn on prompt caching for repeated prompts on {_label(model)} ({kind})",
            detail=(f"{prefixes:,} long prompt prefixes were sent {requests:,} times in {days:.0f} days without "
                    "caching. With a cache_control breakpoint after the shared prefix, repeats are read at the "
                    "model's cache-read price on the Prices page (assumes one 5-minute cache write per hour of use).")))

    agents = list(BatchableAgent.objects.values_list("name", flat=True))
    candidates = window.filter(Q(agent__in=agents) | (~Q(agent="") & Q(stream=False)), batch=False,
                               purpose="gateway", cost_total__isnull=False)
    batch_saving, per_agent = Decimal(0), []
    for row in (candidates.values("provider_kind", "base_model", "scope", "agent")
                .annotate(n=Count("id"), cost=Sum("cost_total")).order_by("-cost")):
        price = book.price_for(row["provider_kind"], row["base_model"], row["scope"], now)
        if price is not None and price.batch_discount:
            batch_saving += row["cost"] * price.batch_discount
            per_agent.append(f"{row['agent']} ({row['n']:,} requests on {_label(row['base_model'])})")
    if batch_saving:
        found.append(Recommendation(
            kind="batch", monthly_saving_usd=batch_saving * scale,
            title="Send non-interactive agent traffic through the Batch API (50% off)",
            detail=("Candidates: " + ", ".join(per_agent[:5]) + (" and more" if len(per_agent) > 5 else "")
                    + ". Batches answer within 24 hours, so only for work nobody waits on; mark agents as "
                    "batchable to include their streamed requests. Submit them on the Batches page (a JSONL file), "
                    "with the in-process client's messages.batches or with manage.py batch_submit.")))

    geo = (ProviderDaily.objects.filter(bucket__gte=since, provider_kind="bedrock", scope__in=("geo", "in_region"),
                                        purpose__in=APPLICATION_PURPOSES)
           .values("base_model", "batch", "long_context")
           .annotate(**{name: Sum(name) for name in TOKEN_FIELDS + COST_FIELDS}).order_by())
    per_model = {}
    for row in geo:
        price = book.price_for("bedrock", row["base_model"], "global", now)
        if price is None or not row["cost_total"]:
            continue
        on_global = compute_cost(price, _usage(row), batch=row["batch"], long_context=row["long_context"]).total
        per_model[row["base_model"]] = per_model.get(row["base_model"], Decimal(0)) + row["cost_total"] - on_global
    for model, saving in per_model.items():
        found.append(Recommendation(
            kind="global_profile", monthly_saving_usd=saving * scale, provider_kind="bedrock", base_model=model,
            title=f"Use the global. inference profile for {_label(model)} on Bedrock",
            detail=("Geo (us./eu./apac./jp.) and in-region IDs cost about 10% more than global. for the 4.5 "
                    "generation. Switch the model mapping to global.… unless data must stay in one geography.")))

    keep = [item for item in found if item.monthly_saving_usd >= MIN_MONTHLY_SAVING]
    for item in keep:
        item.monthly_saving_usd = item.monthly_saving_usd.quantize(Decimal("0.01"))
        item.period_days = int(days)
        item.computed_at = now
    with transaction.atomic():
        Recommendation.objects.all().delete()
        Recommendation.objects.bulk_create(keep)
    return {"recommendations": len(keep)}
