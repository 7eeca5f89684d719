"""Token counts across tokenizer generations: one rule for the end-of-life panel and the migration wizard."""
from decimal import Decimal

from providers.clients.catalog import load_catalog
from providers.clients.usage import Usage
from usage.tokenizer import counted_on_target, token_factor


def test_the_factor_follows_the_direction_across_the_4x_5x_line():
    model = load_catalog().model
    assert token_factor(model("claude-sonnet-4-6"), model("global.anthropic.claude-sonnet-5-5")) == Decimal("1.3")
    assert token_factor(model("claude-sonnet-5-5"), model("claude-haiku-4-5")) == 1 / Decimal("1.3")
    assert token_factor(model("claude-opus-4-8"), model("claude-opus-4-6")) == 1  # one generation, one tokenizer
    assert token_factor(model("claude-sonnet-5"), model("anthropic.claude-fable-5-2")) == 1
    assert token_factor(None, model("claude-sonnet-5-5")) == 1  # a model the catalog does not know: as recorded


def test_every_token_kind_is_counted_again():
    grown = counted_on_target(Usage(1000, 100, 10, 20, 500), Decimal("1.3"))
    assert grown == Usage(1300, 130, 13, 26, 650)
    usage = Usage(1000, 100)
    assert counted_on_target(usage, Decimal(1)) is usage
