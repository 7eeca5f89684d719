"""Token counts on another model: the 5.x tokenizer counts about 30% more tokens than 4.x for the same
text (FACTS, the models overview), so a cost comparison across that line prices the target model's
counts, not the source's. One rule for the end-of-life panel (usage/lifecycle.py) and the migration
wizard's cost step (providers/migration/cost.py)."""
import re
from decimal import Decimal

from providers.clients.usage import Usage

TOKENIZER_GROWTH = Decimal("1.3")
NEW_TOKENIZER_FROM = 5  # the first generation that counts with the new tokenizer


def generation(model):
    """The major version of a catalog model (ModelInfo), from its display name; None when it has none."""
    match = re.search(r"(\d+)(?:\.\d+)?$", model.display_name)
    return int(match.group(1)) if match else None


def _new_tokenizer(model):
    gen = generation(model) if model is not None else None
    return None if gen is None else gen >= NEW_TOKENIZER_FROM


def token_factor(source, target):
    """What the target model counts for one token of the source model (catalog ModelInfo or None):
    1.3 from 4.x to 5.x, 1/1.3 back, 1 within a generation or when either model is unknown."""
    old, new = _new_tokenizer(source), _new_tokenizer(target)
    if old is None or new is None or old == new:
        return Decimal(1)
    return TOKENIZER_GROWTH if new else 1 / TOKENIZER_GROWTH


def counted_on_target(usage, factor):
    """`usage` (a Usage) with every token count as the target model would count it."""
    if factor == 1:
        return usage
    return Usage(*(int(Decimal(n) * factor) for n in (usage.input_tokens, usage.output_tokens,
                                                        usage.cache_write_5m_tokens, usage.cache_write_1h_tokens,
                                                        usage.cache_read_tokens)))
