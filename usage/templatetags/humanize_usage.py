from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def usd(value, places=None):
    """$1,234.56; small amounts keep enough decimals to be seen (down to $0.000001)."""
    if value is None or value == "":
        return "—"
    value = Decimal(value)
    if places is None:
        places = 2 if abs(value) >= 1 or value == 0 else (4 if abs(value) >= Decimal("0.01") else 6)
    return f"{'-' if value < 0 else ''}${abs(value):,.{int(places)}f}"


@register.filter
def usd_signed(value):
    if value is None:
        return "—"
    return ("+" if Decimal(value) > 0 else "") + usd(value)


@register.filter
def intcomma_plain(value):
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return value


@register.filter
def ms(value):
    if value is None:
        return "—"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


@register.filter
def mtok(value):
    """A per-million-token price without trailing zeros: $3, $3.75, $0.3, $4.125."""
    if value is None:
        return "—"
    text = format(Decimal(value).normalize(), "f")
    return f"${text}"
