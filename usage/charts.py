"""Plotly figures built in Python and rendered as HTML fragments (plotly.js is vendored
and loaded once by the page). Each fragment is an empty div and the figure as a JSON data
block, which static/js/app.js draws with Plotly.newPlot: no inline script (Content-Security-Policy).

Each figure is made in one go from plain trace dicts (go.Figure(data=..., layout=...)):
plotly validates it once, which is half the cost of add_trace/update_layout calls.
"""
import datetime
import json
from decimal import Decimal

import plotly.graph_objects as go
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from moments_admin.chart_tables import figure_table
from usage.histogram import percentile
from usage.queries import HISTOGRAM_MEASURES
from usage.rollups import TOKEN_FIELDS

PALETTE = ["#3451d1", "#e8710a", "#1a7f37", "#cf222e", "#8250df", "#0598bc", "#bf3989", "#9a6700", "#57606a"]
MAX_SERIES = 8
LAYOUT = {"template": "none", "height": 300, "margin": {"l": 60, "r": 10, "t": 10, "b": 40},
          "legend": {"orientation": "h", "y": -0.18}, "hovermode": "x unified", "font": {"size": 12}}
CONFIG = {"displayModeBar": False, "responsive": True}
KIND_LABELS = {"cost_input": "Input", "cost_output": "Output", "cost_cache_write": "Cache write",
               "cost_cache_read": "Cache read"}
# JSON inside <script type="application/json">: these must not end the element or open a comment.
_JSON_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def bucket_axis(filters):
    """Every bucket of the period, so gaps show as zero rather than disappearing."""
    step = datetime.timedelta(hours=1) if filters.hourly else datetime.timedelta(days=1)
    moment, buckets = filters.start_at, []
    while moment < filters.end_at:
        buckets.append(moment)
        moment += step
    return buckets


def _label(moment, hourly):
    return moment.strftime("%Y-%m-%d %H:00") if hourly else moment.strftime("%Y-%m-%d")


def _html(traces, layout, div_id, caption, drill=False):
    """The chart's div, its figure as JSON and its data as a table (the text equivalent);
    drill: clicking a day opens that day by hour (app.js)."""
    table = figure_table(traces, caption)
    if not table:  # nothing to draw: say so rather than show empty axes with no text equivalent
        return format_html('<p class="muted chart-empty" id="{}">{}: no data in this period.</p>', div_id, caption)
    fig = go.Figure(data=traces, layout={**LAYOUT, **layout})
    figure = fig.to_json(validate=False).translate(_JSON_ESCAPES)
    config = json.dumps(CONFIG)
    return format_html('<div id="{}" class="plotly-graph-div" role="img" aria-label="{} (chart; its data follows as a table)">'
                       '</div><script type="application/json" class="plotly-figure" data-target="{}" data-config="{}"{}>'
                       "{}</script>{}", div_id, caption, div_id, config,
                       mark_safe(" data-drill" if drill else ""),  # noqa: S308
                       mark_safe(figure), table)  # noqa: S308 - escaped above


def tokens_of(row):
    return sum(row[name] for name in TOKEN_FIELDS)


def over_time(rows, dimension, filters, names=None):
    """Stacked bars of cost (or tokens) per bucket, one series per provider, model or key."""
    buckets = bucket_axis(filters)
    index = {moment: position for position, moment in enumerate(buckets)}
    value = (lambda row: float(row["cost_total"])) if filters.metric == "cost" else tokens_of
    totals = {}
    for row in rows:
        totals[row[dimension]] = totals.get(row[dimension], 0) + value(row)
    names = names or sorted(totals, key=lambda name: -totals[name])[:MAX_SERIES]
    series = {name: [[0, 0, 0, 0] for _ in buckets] for name in names}
    other = [[0, 0, 0, 0] for _ in buckets]
    for row in rows:
        position = index.get(row["bucket"])
        if position is None:
            continue
        cell = (series[row[dimension]] if row[dimension] in series else other)[position]
        cell[0] += value(row)
        cell[1] += row["requests"]
        cell[2] += row["failed"]
        cell[3] += tokens_of(row)
    x = [_label(moment, filters.hourly) for moment in buckets]
    unit = "$%{y:,.4f}" if filters.metric == "cost" else "%{y:,.0f} tokens"
    traces = []
    for position, (name, cells) in enumerate(list(series.items()) + [("other", other)]):
        if name == "other" and not any(cell[1] for cell in cells):
            continue
        traces.append({"type": "bar", "x": x, "y": [round(cell[0], 6) for cell in cells], "name": name or "(none)",
                       "marker": {"color": PALETTE[position % len(PALETTE)]},
                       "customdata": [cell[1:] for cell in cells],
                       "hovertemplate": f"{unit} · %{{customdata[0]:,}} requests, %{{customdata[1]:,}} failed, "
                                        "%{customdata[2]:,} tokens<extra>%{fullData.name}</extra>"})
    layout = {"barmode": "stack", "showlegend": True,
              "yaxis": {"tickprefix": "$" if filters.metric == "cost" else ""}}
    caption = f"{'Cost' if filters.metric == 'cost' else 'Tokens'} by {dimension.replace('_', ' ')}"
    return _html(traces, layout, "chart-over-time", caption, drill=not filters.hourly)


def cost_by_kind(totals):
    """Cost split by token kind, with tokens of each kind in the hover."""
    kinds = list(KIND_LABELS)
    tokens = [totals["input_tokens"], totals["output_tokens"],
              totals["cache_write_5m_tokens"] + totals["cache_write_1h_tokens"], totals["cache_read_tokens"]]
    trace = {"type": "bar", "orientation": "h", "x": [float(totals[kind]) for kind in kinds],
             "y": [KIND_LABELS[kind] for kind in kinds], "marker": {"color": PALETTE[:4]}, "customdata": tokens,
             "hovertemplate": "$%{x:,.4f} for %{customdata:,} tokens<extra></extra>"}
    layout = {"xaxis": {"tickprefix": "$"}, "yaxis": {"autorange": "reversed", "automargin": True}, "hovermode": "closest",
              "showlegend": False, "height": 220, "margin": {"l": 90, "r": 10, "t": 10, "b": 30}}
    return _html([trace], layout, "chart-cost-by-kind", "Cost by token kind")


def latency(rows, filters):
    """p50 and p95 latency and p50 time to first token per provider, from histogram bins."""
    buckets = bucket_axis(filters)
    x = [_label(moment, filters.hourly) for moment in buckets]
    lat_names = [name for name in HISTOGRAM_MEASURES if name.startswith("lat_")]
    ttft_names = [name for name in HISTOGRAM_MEASURES if name.startswith("ttft_")]
    by_provider = {}
    for row in rows:
        by_provider.setdefault(row["provider_name"], {})[row["bucket"]] = row
    traces, summary = [], []
    for position, (provider, cells) in enumerate(sorted(by_provider.items())):
        color = PALETTE[position % len(PALETTE)]
        for label, names, fraction, dash in (("p50", lat_names, 0.5, "solid"), ("p95", lat_names, 0.95, "dot"),
                                             ("TTFT p50", ttft_names, 0.5, "dash")):
            y = []
            for moment in buckets:
                row = cells.get(moment)
                value = percentile([row[name] for name in names], fraction) if row else None
                y.append(round(value) if value is not None else None)
            traces.append({"type": "scatter", "x": x, "y": y, "name": f"{provider} {label}", "mode": "lines+markers",
                           "connectgaps": False, "line": {"color": color, "dash": dash},
                           "hovertemplate": "%{y:,} ms<extra>%{fullData.name}</extra>"})
        overall = {name: sum(row[name] for row in cells.values()) for name in lat_names + ttft_names}
        summary.append({"provider": provider,
                        "p50": percentile([overall[name] for name in lat_names], 0.5),
                        "p95": percentile([overall[name] for name in lat_names], 0.95),
                        "ttft_p50": percentile([overall[name] for name in ttft_names], 0.5),
                        "ttft_p95": percentile([overall[name] for name in ttft_names], 0.95)})
    layout = {"yaxis": {"ticksuffix": " ms", "rangemode": "tozero"}}
    return _html(traces, layout, "chart-latency", "Latency by provider, in ms"), summary


def month_vs_budget(days, today, budget_amount, projected):
    """Cumulative spend this month, the budget line and the projection to month end."""
    first = today.replace(day=1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    x, y, running = [], [], Decimal(0)
    day = first
    while day <= today:
        running += days.get(day, Decimal(0))
        x.append(day.isoformat())
        y.append(float(running))
        day += datetime.timedelta(days=1)
    traces = [
        {"type": "scatter", "x": x, "y": y, "name": "Spent", "mode": "lines+markers",
         "line": {"color": PALETTE[0]}, "hovertemplate": "$%{y:,.2f}<extra>Spent so far</extra>"},
        {"type": "scatter", "x": [today.isoformat(), last.isoformat()], "y": [float(running), float(projected)],
         "name": "Projection", "mode": "lines", "line": {"color": PALETTE[1], "dash": "dot"},
         "hovertemplate": "$%{y:,.2f}<extra>Projected</extra>"},
    ]
    if budget_amount:
        traces.append({"type": "scatter", "x": [first.isoformat(), last.isoformat()],
                       "y": [float(budget_amount)] * 2, "name": "Budget", "mode": "lines",
                       "line": {"color": PALETTE[3]}, "hovertemplate": "$%{y:,.2f}<extra>Budget</extra>"})
    layout = {"yaxis": {"tickprefix": "$", "rangemode": "tozero"},
              "xaxis": {"range": [first.isoformat(), last.isoformat()]}, "height": 260}
    return _html(traces, layout, "chart-month", "Spend this month, projection and budget")
