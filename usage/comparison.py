"""What the recorded tokens would have cost elsewhere: the other provider, another
Bedrock profile scope, and with batch. Reprices the summed tokens per model with
the prices in force on the last day of the period."""
from decimal import Decimal

from providers.clients.usage import Usage
from usage.pricing import compute_cost

GROUP = ["provider_kind", "base_model", "scope", "batch", "long_context"]
TARGETS = (
    ("anthropic", "standard", "Anthropic API"),
    ("bedrock", "global", "Bedrock, global. profile"),
    ("bedrock", "geo", "Bedrock, geo profile (us./eu./apac./jp.)"),
)


def usage_of(row):
    return Usage(row["input_tokens"], row["output_tokens"], row["cache_write_5m_tokens"],
                 row["cache_write_1h_tokens"], row["cache_read_tokens"])


def compare(rows, book, when):
    """rows: sums grouped by GROUP. Returns the recorded cost and one line per target."""
    recorded = sum((row["cost_total"] for row in rows), Decimal(0))
    unpriced = sum(row["unpriced"] for row in rows)
    lines = []
    for kind, scope, label in TARGETS:
        on_demand = batched = Decimal(0)
        missing = set()
        for row in rows:
            if not row["requests"]:
                continue
            price = book.price_for(kind, row["base_model"], scope, when)
            if price is None:
                missing.add(row["base_model"])
                continue
            usage = usage_of(row)
            on_demand += compute_cost(price, usage, batch=row["batch"], long_context=row["long_context"]).total
            batched += compute_cost(price, usage, batch=True, long_context=row["long_context"]).total
        current = any(row["provider_kind"] == kind and row["scope"] == scope for row in rows)
        only = all(row["provider_kind"] == kind and row["scope"] == scope for row in rows if row["requests"])
        # All traffic already ran here: repricing it differs from the recorded cost only by the
        # micro-dollar rounding of each record, which is no difference at all.
        difference = Decimal(0) if current and only and not missing else on_demand - recorded
        lines.append({"label": label, "kind": kind, "scope": scope, "on_demand": on_demand, "batch": batched,
                      "missing": sorted(missing), "current": current, "difference": difference})
    return {"recorded": recorded, "unpriced": unpriced, "lines": lines}
