"""What a batch's tokens would have cost on demand, for the saving shown next to its batch cost."""
from usage.pricing import compute_cost, price_book


def on_demand_cost(provider_kind, model_id, usage, profile_target=None):
    book = price_book()
    parsed = book.parse(provider_kind, model_id, profile_target=profile_target)
    price = book.price_for(provider_kind, parsed.base_model, parsed.scope) if parsed else None
    return compute_cost(price, usage).total if price else None
