"""Plotly figures for step 5, as JSON-ready dicts (drawn by static/migration/wizard.js)."""
import json

import plotly.graph_objects as go

LAYOUT = {"template": "none", "height": 280, "margin": {"l": 60, "r": 10, "t": 30, "b": 40},
          "legend": {"orientation": "h", "y": -0.2}, "font": {"size": 12}, "barmode": "group"}
COLORS = {"source": "#3451d1", "target": "#e8710a"}


def latency(result):
    fig = go.Figure()
    labels = ["latency p50", "latency p95", "first token p50", "first token p95"]
    for side in ("source", "target"):
        stats = result.get(side) or {}
        values = [stats.get("latency_p50"), stats.get("latency_p95"), stats.get("ttft_p50"), stats.get("ttft_p95")]
        fig.add_bar(name=f"{side}: {stats.get('name', '')}", x=labels, y=values, marker_color=COLORS[side])
    fig.update_layout(**LAYOUT, yaxis_title="ms")
    return json.loads(fig.to_json())


def cost(comparison):
    if not comparison:
        return None
    fig = go.Figure()
    fig.add_bar(x=[f"source: {comparison['source']}", f"target: {comparison['target']}"],
                y=[float(comparison["source_cost"]), float(comparison["target_cost"])],
                marker_color=[COLORS["source"], COLORS["target"]])
    fig.update_layout(**LAYOUT, yaxis_title=f"USD, last {comparison['days']} days", showlegend=False)
    return json.loads(fig.to_json())
