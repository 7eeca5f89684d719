"""Every chart's text equivalent: its plotly traces as a table, under a <details> beside the chart.

Screen readers and keyboards cannot read plotly's SVG; the table carries the same numbers. Plain
functions over trace dicts (plotly's JSON), so the usage charts (built in Python) and the templates
that hand figures to plotly.js (the figure_table filter, providers/templatetags) share them.
"""
import base64
import datetime
import struct

from django.utils.html import format_html, format_html_join

_BDATA = {"f8": "d", "f4": "f", "i4": "i", "u4": "I", "i2": "h", "u2": "H", "i1": "b", "u1": "B"}


def _values(data):
    """A trace array as a list; plotly's JSON may pack numbers as {"dtype", "bdata"} (base64)."""
    if isinstance(data, dict) and "bdata" in data:
        code = _BDATA.get(str(data.get("dtype", "")).lstrip("<|"))
        if code is None:
            return []
        raw = base64.b64decode(data["bdata"])
        return list(struct.unpack(f"<{len(raw) // struct.calcsize(code)}{code}", raw))
    return list(data or [])


def _cell(value):
    if value is None or value != value:  # None or NaN: no value in that bucket
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() else f"{value:,.4f}".rstrip("0")
    text = str(value)
    try:  # ISO timestamps from plotly's JSON: minutes are enough
        return datetime.datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text


def figure_columns(traces):
    """(series names, [(axis value, [one value per series])]) in the order the axis first shows them."""
    horizontal = bool(traces) and all(trace.get("orientation") == "h" for trace in traces)
    axis, measure = ("y", "x") if horizontal else ("x", "y")
    names = [trace.get("name") or "Value" for trace in traces]
    rows = {}
    for position, trace in enumerate(traces):
        for key, value in zip(_values(trace.get(axis)), _values(trace.get(measure)), strict=False):
            rows.setdefault(key, [None] * len(traces))[position] = value
    return names, list(rows.items())


def figure_table(traces, caption):
    """<details> holding the traces as a table (the chart's text equivalent); '' without traces."""
    names, rows = figure_columns(traces or [])
    if not rows:
        return ""
    head = format_html_join("", '<th scope="col" class="num">{}</th>', ((name,) for name in names))
    body = format_html_join("", "<tr><th scope=\"row\">{}</th>{}</tr>", (
        (_cell(key), format_html_join("", '<td class="num">{}</td>', ((_cell(value),) for value in values)))
        for key, values in rows))
    return format_html(
        '<details class="chart-data"><summary>{} as a table</summary>'
        '<div class="table-scroll" tabindex="0" role="region" aria-label="{}">'
        '<table class="compact"><thead><tr><th scope="col"></th>{}</tr></thead><tbody>{}</tbody></table></div>'
        "</details>", caption, caption, head, body)
