"""The response cache page's chart: hits and misses per hour, with the hit rate.

Built in Python and handed to the page as JSON data (json_script); static/js/plotly-figures.js
draws it, so the page needs no inline script.
"""
import json

import plotly.graph_objects as go

LAYOUT = {"template": "none", "height": 300, "margin": {"l": 60, "r": 60, "t": 10, "b": 40},
          "legend": {"orientation": "h", "y": -0.18}, "hovermode": "x unified", "font": {"size": 12},
          "barmode": "stack", "yaxis": {"title": {"text": "lookups"}},
          "yaxis2": {"title": {"text": "hit rate %"}, "overlaying": "y", "side": "right", "range": [0, 100]}}


def hits_over_time(stats):
    """A plotly figure as plain JSON data: {"data": [...], "layout": {...}}."""
    hours = [start.strftime("%Y-%m-%d %H:00") for start, _row in stats]
    hits = [row["hits"] for _start, row in stats]
    misses = [row["misses"] for _start, row in stats]
    rate = [round(100 * h / (h + m), 1) if h + m else None for h, m in zip(hits, misses, strict=True)]
    figure = go.Figure(data=[
        {"type": "bar", "name": "Hits", "x": hours, "y": hits, "marker": {"color": "#1a7f37"}},
        {"type": "bar", "name": "Misses", "x": hours, "y": misses, "marker": {"color": "#e8710a"}},
        {"type": "scatter", "mode": "lines+markers", "name": "Hit rate", "x": hours, "y": rate, "yaxis": "y2",
         "line": {"color": "#3451d1"}, "connectgaps": False},
    ], layout=LAYOUT)
    return json.loads(figure.to_json())
