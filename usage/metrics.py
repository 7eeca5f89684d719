"""Prometheus metrics of the usage write path: rows buffered, written and dead-lettered.

Counters are updated where rows move (prometheus_client; with PROMETHEUS_MULTIPROC_DIR each
process writes its own files and a scrape merges them). The Redis queue's depth is read at
scrape time (`usage.status.UsageQueueCollector`), so every process reports the same value. /metrics
(providers.health.metrics) serves them.
"""
from prometheus_client import Counter, Gauge

ROWS_BUFFERED = Counter("moments_usage_rows_buffered", "Usage rows handed to the write-behind buffer, by buffer "
                        "(queue: the Redis stream; memory: the in-process buffer).", ["buffer"])
ROWS_WRITTEN = Counter("moments_usage_rows_written", "Usage rows written to the database, by path "
                       "(direct, memory, queue).", ["path"])
ROWS_DEAD_LETTERED = Counter("moments_usage_rows_dead_lettered", "Usage rows the database refused, kept as dead "
                             "letters.")
BUFFER_ROWS = Gauge("moments_usage_buffer_rows", "Usage rows waiting in in-process buffers (summed over live "
                    "processes).", multiprocess_mode="livesum")
for _name in ("queue", "memory"):
    ROWS_BUFFERED.labels(_name)
for _name in ("direct", "memory", "queue"):
    ROWS_WRITTEN.labels(_name)

