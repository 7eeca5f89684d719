from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def usd(value, places=None):
    """One money format everywhere: $1,234.56 and $0.84 (cents); amounts under a cent keep the digits
    that make them visible, without trailing zeros ($0.0042, $0.000001). `places` allows more digits
    than cents where they tell something (an average per request: $0.0123), never trailing zeros ($0.84)."""
    if value is None or value == "":
        return "—"
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    if value and abs(value) < Decimal("0.01"):
        return f"{sign}${abs(value):.6f}".rstrip("0")
    text = f"{abs(value):,.{int(places or 2)}f}"
    while len(text.rsplit(".", 1)[-1]) > 2 and text.endswith("0"):
        text = text[:-1]
    return f"{sign}${text}"


@register.filter
def usd_signed(value):
    """A difference: +$1.17, -$0.84, or $0.00 when it is nothing (or below a millionth of a dollar)."""
    if value is None:
        return "—"
    value = Decimal(value)
    if abs(value) < Decimal("0.000001"):
        return "$0.00"
    return ("+" if value > 0 else "") + usd(value)


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
