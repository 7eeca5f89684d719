"""Step 5, first half: latency, time to first token, output speed and errors over N requests each.

Streaming requests, alternating source and target so both see the same moment; each goes
through the call path (purpose "wizard") and is recorded as usage.
"""
import statistics

from providers.call_records import CallContext
from providers.calls import invoke
from providers.clients.errors import ProviderError

DEFAULT_REQUESTS = 5
MAX_REQUESTS = 50
REQUEST = {"max_tokens": 128, "messages": [{"role": "user", "content": "Write two sentences about lighthouses."}]}


def sample(settings, model):
    context = CallContext(purpose="wizard", provider=settings.name)
    try:
        stream = invoke([settings], {"model": model, **REQUEST}, context, stream=True)
        with stream:
            for _event in stream:
                pass
    except ProviderError as error:
        return {"ok": False, "error": f"{error.kind.value}: {error.message}"[:300]}
    record = stream.record
    latency = record.latency_ms if record else None
    output = stream.usage.output_tokens
    generating = (latency - stream.ttft_ms) if latency and stream.ttft_ms is not None else None
    speed = output / (generating / 1000) if generating and generating > 0 else None
    return {"ok": record is not None and record.status == "ok", "latency_ms": latency, "ttft_ms": stream.ttft_ms,
            "output_tokens": output, "tokens_per_second": speed, "error": ""}


def run_benchmark(source, target, model, requests=DEFAULT_REQUESTS, progress=None):
    samples = {"source": [], "target": []}
    done = 0
    for _ in range(requests):
        for side, settings in (("source", source), ("target", target)):
            samples[side].append(sample(settings, model))
            done += 1
            if progress:
                progress(done, f"request {len(samples[side])} of {requests} on {settings.name}")
    return {"model": model, "requests": requests,
            "source": {"name": source.name, **stats(samples["source"])},
            "target": {"name": target.name, **stats(samples["target"])}}


def stats(samples):
    ok = [s for s in samples if s.get("ok")]
    latencies = [s["latency_ms"] for s in ok if s.get("latency_ms") is not None]
    ttfts = [s["ttft_ms"] for s in ok if s.get("ttft_ms") is not None]
    speeds = [s["tokens_per_second"] for s in ok if s.get("tokens_per_second")]
    return {"count": len(samples), "errors": len(samples) - len(ok),
            "error_messages": sorted({s["error"] for s in samples if s.get("error")})[:5],
            "latency_p50": quantile(latencies, 50), "latency_p95": quantile(latencies, 95),
            "ttft_p50": quantile(ttfts, 50), "ttft_p95": quantile(ttfts, 95),
            "tokens_per_second": round(statistics.median(speeds), 1) if speeds else None,
            "latencies": [round(v, 1) for v in latencies]}


def quantile(values, q):
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)
