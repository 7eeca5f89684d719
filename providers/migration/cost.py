"""Step 5, second half: what the last 30 days of the source's recorded traffic cost, and what the
same tokens would cost on the target at today's price table (cache, batch and the Claude API's
US-only premium included; Bedrock's scope, global, geo or in-region, as the target resolves it). When the
target resolves a name to a model of another tokenizer generation (4.x to 5.x), the tokens are first
counted as the target model counts them (usage.tokenizer)."""
import datetime as dt
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from providers.client_pool import client_for
from providers.clients.catalog import load_catalog
from providers.clients.errors import ProviderError
from providers.clients.usage import Usage
from providers.migration.mapping import NOT_TRAFFIC, WINDOW_DAYS
from usage.models import UsageRecord
from usage.pricing import compute_cost, price_book
from usage.tokenizer import counted_on_target, token_factor

TOKENS = ("input_tokens", "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens")


def compare_cost(source_name, target, *, now=None, days=WINDOW_DAYS):
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    rows = (UsageRecord.objects.filter(provider_name=source_name, occurred_at__gte=since, is_demo=False)
            .exclude(purpose__in=NOT_TRAFFIC)
            .values("model_id", "logical_model", "batch", "long_context", "inference_geo")
            .annotate(requests=Count("id"), recorded=Sum("cost_total"), unpriced=Count("id", filter=Q(
                cost_total__isnull=True)), **{name: Sum(name) for name in TOKENS}))
    book = price_book()
    catalog = load_catalog()
    client = client_for(target)
    lines, source_total, target_total, missing = [], Decimal(0), Decimal(0), set()
    for row in rows:
        recorded = row["recorded"] or Decimal(0)
        source_total += recorded
        name = row["logical_model"] or row["model_id"]
        target_id, target_cost, problem, factor = "", None, "", Decimal(1)
        try:
            target_id = client.resolution(name).model_id
        except ProviderError as error:
            problem = error.message
        parsed = book.parse(target.kind, target_id) if target_id else None
        price = book.price_for(target.kind, parsed.base_model, parsed.scope, now) if parsed else None
        if price is None:
            missing.add(target_id or name)
            problem = problem or f"no price for {target_id or name} on {target.kind}"
        else:
            factor = token_factor(catalog.model(row["model_id"]), catalog.model(target_id))
            usage = counted_on_target(Usage(*(row[name] or 0 for name in TOKENS)), factor)
            geo = row["inference_geo"] if target.kind != "bedrock" else ""
            target_cost = compute_cost(price, usage, batch=row["batch"], long_context=row["long_context"],
                                       inference_geo=geo).total
            target_total += target_cost
        lines.append({"model_id": row["model_id"], "logical": row["logical_model"], "target_id": target_id,
                      "batch": row["batch"], "requests": row["requests"], "unpriced": row["unpriced"],
                      "source_cost": str(recorded), "target_cost": None if target_cost is None else str(target_cost),
                      "token_factor": round(float(factor), 4), "problem": problem})
    return {"days": days, "source": source_name, "target": target.name, "source_cost": str(source_total),
            "target_cost": str(target_total), "difference": str(target_total - source_total),
            "missing": sorted(missing), "lines": lines, "complete": not missing}
