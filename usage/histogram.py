"""Latency histograms: fixed bins that rollups can add up, percentiles read back from them.

A p50 or p95 cannot be summed from hourly values, but bin counts can. Like a
Prometheus histogram, a percentile is interpolated inside its bin, so it is an
estimate whose error is at most the width of that bin (bins grow about 1.5x).
"""

# Upper bounds in milliseconds; one more bin catches everything above the last.
LATENCY_BOUNDS_MS = (50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 4000, 5000,
                     7500, 10000, 15000, 20000, 30000, 60000)
BIN_COUNT = len(LATENCY_BOUNDS_MS) + 1


def bin_index(value_ms):
    for index, bound in enumerate(LATENCY_BOUNDS_MS):
        if value_ms < bound:
            return index
    return len(LATENCY_BOUNDS_MS)


def bin_ranges():
    """(index, low, high) for each bin; high is None for the last, open-ended one."""
    low = 0
    for index, bound in enumerate(LATENCY_BOUNDS_MS):
        yield index, low, bound
        low = bound
    yield len(LATENCY_BOUNDS_MS), low, None


def percentile(counts, fraction):
    """The value below which `fraction` of the counted requests fall; None when empty."""
    total = sum(counts)
    if not total:
        return None
    target = fraction * total
    seen = 0
    for (_index, low, high), count in zip(bin_ranges(), counts, strict=True):
        if count and seen + count >= target:
            if high is None:
                return float(low)
            return low + (high - low) * (target - seen) / count
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])
