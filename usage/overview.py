"""Everything the dashboard shows for one set of filters, read in one consistent pass."""
import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Max

from usage import budgets, charts, comparison, lifecycle
from usage.models import Budget, ProviderDaily, Recommendation
from usage.pricing import as_utc_date, price_book
from usage.queries import BASE_MEASURES, TAIL_MAX_PAGE, last_rollup_at, read_consistently

DIMENSIONS = {"provider": "provider_name", "model": "base_model", "key": "gateway_key"}
OTHER_KEYS = "(other keys)"
TOP = 10


def _zero(**fields):
    return {**fields, **{name: 0 for name in BASE_MEASURES}}


def _add(target, row):
    for name in BASE_MEASURES:
        target[name] += row[name]
    return target


def grouped(rows, field):
    out = {}
    for row in rows:
        _add(out.setdefault(row[field], _zero(**{field: row[field]})), row)
    return sorted(out.values(), key=lambda row: (-row["cost_total"], -row["requests"]))


def _series(reader, filters, top_keys):
    """Rows per (bucket, dimension) for the over-time chart, plus the per-bucket totals."""
    if filters.by != "key":
        rows = reader.sums(filters, ["bucket", DIMENSIONS[filters.by]])
        return rows, grouped(rows, "bucket"), None
    names = [row["gateway_key"] for row in top_keys[:charts.MAX_SERIES]]
    rows = reader.sums(filters, ["bucket", "gateway_key"], fine=True, extra={"gateway_key__in": names}) \
        if names else []
    per_bucket = reader.sums(filters, ["bucket"])
    shown = {row["bucket"]: _zero() for row in per_bucket}
    for row in rows:
        _add(shown.setdefault(row["bucket"], _zero()), row)
    for total in per_bucket:
        other = _zero(bucket=total["bucket"], gateway_key=OTHER_KEYS)
        for name in BASE_MEASURES:
            other[name] = total[name] - shown[total["bucket"]][name]
        if other["requests"]:
            rows.append(other)
    return rows, per_bucket, names + [OTHER_KEYS]


def build_overview(filters, now):
    today = as_utc_date(now)
    overall_budget = Budget.objects.filter(active=True, scope="overall").order_by("id").first()

    def build(reader):
        top_keys, key_count = reader.key_totals(filters, TOP)
        series, per_bucket, names = _series(reader, filters, top_keys)
        totals = _zero()
        for row in per_bucket:
            _add(totals, row)
        model_rows = reader.sums(filters, comparison.GROUP)
        latency_rows = reader.sums(filters, ["bucket", "provider_name"], fine=False, histograms=True)
        month_days = budgets.daily_spend(reader, overall_budget, today)
        checks = None
        if filters.purpose == "":  # the default view leaves checks out: say how much, beside it
            checks = _zero()
            for row in reader.sums(dataclasses.replace(filters, purpose="checks"), []):
                _add(checks, row)
        return {"series": series, "names": names, "totals": totals, "model_rows": model_rows,
                "top_keys": top_keys, "key_count": key_count, "latency_rows": latency_rows,
                "month_days": month_days, "behind": reader.behind, "tail": reader.tail, "checks": checks}

    data = read_consistently(build, tail_max=TAIL_MAX_PAGE)
    rolled_at = last_rollup_at()
    totals = data["totals"]
    priced = totals["requests"] - totals["unpriced"]
    by_model = grouped(data["model_rows"], "base_model")
    spent, projected = budgets.projection(data["month_days"], today)
    latency_html, latency_summary = charts.latency(data["latency_rows"], filters)
    price_day = min(filters.end, today)
    book = price_book()
    return {
        "totals": totals,
        "tokens_total": charts.tokens_of(totals),
        "cache_write_tokens": totals["cache_write_5m_tokens"] + totals["cache_write_1h_tokens"],
        "prompt_cache_hit_rate": prompt_cache_hit_rate(totals),
        "avg_cost": (totals["cost_total"] / priced) if priced else None,
        "failed_share": (100 * totals["failed"] / totals["requests"]) if totals["requests"] else 0,
        "unpriced_models": [row["base_model"] for row in by_model if row["unpriced"]],
        "estimated_models": estimated_models(data["model_rows"], book, price_day),
        "chart_over_time": charts.over_time(data["series"], DIMENSIONS[filters.by], filters, data["names"]),
        "chart_cost_by_kind": charts.cost_by_kind(totals),
        "chart_latency": latency_html,
        "latency_summary": latency_summary,
        "chart_month": charts.month_vs_budget(data["month_days"], today, overall_budget and overall_budget.amount_usd,
                                              projected),
        "month": {"spent": spent, "projected": projected, "budget": overall_budget,
                  "percent": (100 * spent / overall_budget.amount_usd) if overall_budget else None},
        "top_models": by_model[:TOP],
        "top_keys": data["top_keys"],
        "key_count": data["key_count"],
        "comparison": comparison.compare(data["model_rows"], book, price_day),
        "lifecycle": lifecycle.lifecycle_warnings(by_model, today, detail_rows=data["model_rows"], book=book,
                                                  when=price_day),
        "behind": data["behind"],
        "lagging": data["behind"] and not data["tail"],
        "last_rollup_at": rolled_at,
        "rollup_stale": _stale(rolled_at, now) and data["behind"],
        "recommendations": recommendations_for(filters),
        "has_demo": ProviderDaily.objects.filter(is_demo=True, bucket__gte=filters.start_at, bucket__lt=filters.end_at,
                                                 **filters.lookups(skip=("key", "agent"))).exists(),
        "checks": data["checks"],
        "price_table_changed": price_table_changed(),
    }


def recommendations_for(filters):
    """The recommendations that concern the filtered traffic (they cover the application's traffic of the
    last 30 days, per provider kind and model; those spanning several models only without a model filter)."""
    if filters.purpose in ("checks", "test", "health", "wizard", "demo"):
        return []
    found = Recommendation.objects.all()
    if filters.model:
        found = found.filter(base_model=filters.model)
    if filters.provider:
        kinds = set(ProviderDaily.objects.filter(provider_name=filters.provider).values_list("provider_kind", flat=True))
        found = found.filter(provider_kind__in=kinds | {""})
    return list(found[:10])


def estimated_models(model_rows, book, day):
    """Base models whose costs in these rows come from a price marked estimated (in force on `day`)."""
    found = set()
    for row in model_rows:
        if row["requests"] - row["unpriced"] <= 0:
            continue
        price = book.price_for(row["provider_kind"], row["base_model"], row["scope"], day)
        if price is not None and price.estimated:
            found.add(row["base_model"])
    return sorted(found)


def _stale(moment, now):
    return moment is None or (now - moment) > datetime.timedelta(minutes=5)


def price_table_changed():
    from usage.models import ModelPrice

    return ModelPrice.objects.aggregate(latest=Max("created_at"))["latest"]


def filter_options():
    """Providers and models seen in the rollups, for the filter selects (a small table)."""
    rows = ProviderDaily.objects.values_list("provider_name", "base_model").distinct()
    providers = sorted({provider for provider, _ in rows})
    models = sorted({model for _, model in rows})
    return providers, models


def quick_ranges(today):
    month_start = today.replace(day=1)
    return [("Today", today, today), ("7 days", today - datetime.timedelta(days=6), today),
            ("30 days", today - datetime.timedelta(days=29), today),
            ("90 days", today - datetime.timedelta(days=89), today), ("This month", month_start, today)]


def money(value):
    return Decimal(value or 0).quantize(Decimal("0.01"))


def prompt_cache_hit_rate(totals):
    """Share of all input tokens (uncached, cache writes, cache reads) read from the prompt cache, in %."""
    input_total = (totals["input_tokens"] + totals["cache_write_5m_tokens"] + totals["cache_write_1h_tokens"]
                   + totals["cache_read_tokens"])
    return 100 * totals["cache_read_tokens"] / input_total if input_total else None
