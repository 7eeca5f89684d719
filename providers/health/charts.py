"""Latency and error-rate figures for the Status page, built in Python as plain dicts.

The page puts each figure's JSON in a <script type="application/json"> block that
static/health/status.js hands to the vendored plotly.js: no inline script.
Latency p50/p95 per provider and hour, for health checks and for real traffic; error rate per
provider and hour, for checks and for real traffic. Real traffic comes from the usage rollups
(usage.ProviderHourly: counts and latency histograms, so no query per call; test connections and
health checks left out); its percentiles are read from the histogram bins (usage.histogram).
"""
import datetime as dt
import json
import statistics

import plotly.graph_objects as go
from django.db.models import Sum
from django.utils import timezone

from providers.health.models import CheckResult
from usage.histogram import BIN_COUNT, percentile
from usage.models import ProviderHourly

LATENCY_BINS = [f"lat_{index:02d}" for index in range(BIN_COUNT)]
TRAFFIC_EXCLUDED_PURPOSES = ("test", "health")

PALETTE = ["#3451d1", "#e8710a", "#1a7f37", "#cf222e", "#8250df", "#0598bc"]
LAYOUT = {"template": "none", "height": 260, "margin": {"l": 50, "r": 10, "t": 10, "b": 40},
          "legend": {"orientation": "h", "y": -0.25}, "hovermode": "x unified", "font": {"size": 12}}
WINDOW_HOURS = 24


def _hour(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def _hours(now):
    start = _hour(now) - dt.timedelta(hours=WINDOW_HOURS - 1)
    return [start + dt.timedelta(hours=i) for i in range(WINDOW_HOURS)]


def _quantile(values, q):
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def _as_json(fig):
    return json.loads(fig.to_json())


def latency_and_errors(now=None):
    """(latency figure, error-rate figure) as JSON-ready dicts, or (None, None) without data."""
    now = now or timezone.now()
    hours = _hours(now)
    rows = CheckResult.objects.filter(checked_at__gte=hours[0]).exclude(model="").values_list(
        "provider_name", "checked_at", "ok", "latency_ms")
    by_provider = {}
    for name, checked_at, ok, latency in rows:
        bucket = by_provider.setdefault(name, {}).setdefault(_hour(checked_at), [[], 0, 0])
        if ok and latency is not None:
            bucket[0].append(latency)
        bucket[1] += 1
        bucket[2] += 0 if ok else 1
    traffic = _traffic_error_rates(hours[0])
    if not by_provider and not traffic:
        return None, None
    x = [h.isoformat() for h in hours]
    latency_traces, error_traces = [], []
    for index, (name, buckets) in enumerate(sorted(by_provider.items())):
        color = PALETTE[index % len(PALETTE)]
        latency_traces += [
            {"type": "scatter", "mode": "lines", "name": f"{name} p50", "x": x, "line": {"color": color},
             "y": [_quantile(buckets.get(h, [[]])[0], 50) for h in hours]},
            {"type": "scatter", "mode": "lines", "name": f"{name} p95", "x": x,
             "line": {"color": color, "dash": "dot"},
             "y": [_quantile(buckets.get(h, [[]])[0], 95) for h in hours]}]
        error_traces.append({"type": "scatter", "mode": "lines", "name": f"{name} checks", "x": x,
                             "line": {"color": color},
                             "y": [_rate(buckets[h][2], buckets[h][1]) if h in buckets else None for h in hours]})
    for index, (name, per_hour) in enumerate(sorted(traffic.items())):
        color = PALETTE[(index + 3) % len(PALETTE)]
        error_traces.append({"type": "scatter", "mode": "lines", "name": f"{name} traffic", "x": x,
                             "line": {"color": color, "dash": "dash"},
                             "y": [_rate(*per_hour[h][:2]) if h in per_hour else None for h in hours]})
        for q, dash in ((50, "dash"), (95, "dashdot")):
            latency_traces.append({"type": "scatter", "mode": "lines", "name": f"{name} traffic p{q}", "x": x,
                                   "line": {"color": color, "dash": dash},
                                   "y": [_rounded(percentile(per_hour[h][2], q / 100)) if h in per_hour else None
                                         for h in hours]})
    latency = go.Figure(data=latency_traces, layout={**LAYOUT, "yaxis": {"title": {"text": "latency (ms)"},
                                                                       "rangemode": "tozero"}})
    errors = go.Figure(data=error_traces, layout={**LAYOUT, "yaxis": {"title": {"text": "error rate (%)"},
                                                                     "range": [0, 100]}})
    return _as_json(latency), _as_json(errors)


def _rate(failed, total):
    return round(100.0 * failed / total, 1) if total else None


def _rounded(value):
    return None if value is None else round(value, 1)


def _traffic_error_rates(since):
    """{provider: {hour: (failed, requests, latency bin counts)}} of real traffic."""
    rows = (ProviderHourly.objects.filter(bucket__gte=since).exclude(purpose__in=TRAFFIC_EXCLUDED_PURPOSES)
            .values("provider_name", "bucket")
            .annotate(requests=Sum("requests"), failed=Sum("failed"), **{b: Sum(b) for b in LATENCY_BINS}))
    out = {}
    for row in rows:
        bins = [row[b] or 0 for b in LATENCY_BINS]
        out.setdefault(row["provider_name"], {})[_hour(row["bucket"])] = (row["failed"], row["requests"], bins)
    return out
