"""Usage rows buffered in a Redis stream, so that a killed web process loses none.

With USAGE_WRITE_BUFFER on and a Redis URL (USAGE_QUEUE_URL, by default CACHE_URL when that is
Redis), record_usage appends each row to a stream with one XADD instead of a per-process memory
buffer. The XADD goes over a lean connection of the calling thread (usage.queue_writer: RESP
written and the reply read with hiredis, about half redis-py's CPU per call); its reply is awaited. The worker drains it (usage.tasks.drain_usage_queue, every
USAGE_QUEUE_DRAIN_SECONDS): XREADGROUP in batches of 500 through a consumer group, one write by
ingest.write_rows (bisection and dead letters included), then XACK + XDEL. Rows that a consumer
read but never acknowledged (it died) are taken over with XAUTOCLAIM after
USAGE_QUEUE_CLAIM_SECONDS. Delivery is at least once: a worker killed between its COMMIT and its
XACK makes those rows be written twice (documented in docs/usage.md).

When Redis cannot be reached at record time, record_usage writes the row directly (and logs);
it retries Redis after RETRY_AFTER_SECONDS.
"""
import contextlib
import json
import logging
import os
import socket
import threading
import time

import redis

from usage import metrics as usage_metrics
from usage import queue_writer
from usage.ingest import WriteInterrupted, dead_letter, encode_row, write_rows
from usage.sanitize import TEXT_LIMITS, sanitize_row

log = logging.getLogger(__name__)
GROUP = "usage-writers"
FIELD = "row"
RETRY_AFTER_SECONDS = 5.0


class UsageQueue:
    def __init__(self, url, stream, *, claim_idle_seconds=60.0):
        self.url, self.stream, self.claim_idle_ms = url, stream, int(claim_idle_seconds * 1000)
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2.0)
        self.writer = queue_writer.LeanWriter(url) if queue_writer.supports(url) else None
        self._down_until = 0.0
        self._batch = threading.local()  # rows held by a thread's batch() block
        self._group_ready = False

    def add(self, values):
        """Append one row; False when Redis is unreachable or refuses it (the caller writes the row itself).
        Inside this thread's `batch()` block the row is held and sent when the block ends."""
        if time.monotonic() < self._down_until:
            return False
        if self.holding():
            self._batch.rows.append((values, encode_row(values)))  # encoded now, in the caller's time slice
            return True
        try:
            if self.writer is None:
                self.client.xadd(self.stream, {FIELD: encode_row(values)})
            else:
                self.writer.execute(queue_writer.command("XADD", self.stream, "*", FIELD, encode_row(values)))
            return True
        except (redis.RedisError, OSError) as error:
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            log.warning("Usage queue (Redis) unreachable, writing usage directly for %.0f s: %s",
                        RETRY_AFTER_SECONDS, error)
            return False

    def holding(self):
        """True inside this thread's batch() block (rows are held for its end)."""
        return getattr(self._batch, "rows", None) is not None

    @contextlib.contextmanager
    def batch(self, write_unsent):
        """Hold this thread's rows until the block ends, then send them in one pipeline (one round trip
        for a burst of rows, not one each). Rows Redis did not confirm go to `write_unsent(rows)`,
        which writes them to the database, as `add` returning False makes its caller do."""
        if self.holding():  # nested: the outer block sends
            yield
            return
        self._batch.rows = rows = []
        try:
            yield
        finally:
            self._batch.rows = None
            unsent = self._send(rows) if rows else []
            if unsent:
                write_unsent(unsent)

    def _send(self, rows):
        """The values of the (values, encoded) `rows` that Redis did not confirm."""
        try:
            if self.writer is None:
                with self.client.pipeline(transaction=False) as pipe:
                    for _values, encoded in rows:
                        pipe.xadd(self.stream, {FIELD: encoded})
                    replies = pipe.execute(raise_on_error=False)
            else:
                replies = self.writer.execute_many(
                    [queue_writer.command("XADD", self.stream, "*", FIELD, encoded) for _values, encoded in rows])
        except (redis.RedisError, OSError) as error:
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            log.warning("Usage queue (Redis) unreachable, writing %d usage rows directly: %s", len(rows), error)
            return [values for values, _encoded in rows]
        refusals = [reply for reply in replies if isinstance(reply, Exception)]  # an error reply per row
        if refusals:
            log.warning("Usage queue (Redis) refused %d of %d rows; writing them directly: %s", len(refusals),
                        len(rows), refusals[0])
        return [values for (values, _encoded), reply in zip(rows, replies, strict=True) if isinstance(reply, Exception)]

    def length(self):
        return self.client.xlen(self.stream)

    def _ensure_group(self):
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    def drain(self, columns, table, *, batch=500, max_seconds=30.0):
        """Write what the stream holds, in batches, for at most max_seconds; returns a summary."""
        try:
            return self._drain(columns, table, batch, max_seconds)
        except redis.ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            # The stream was deleted or Redis restarted empty: make the group again, from the start.
            self._group_ready = False
            return self._drain(columns, table, batch, max_seconds)

    def _drain(self, columns, table, batch, max_seconds):
        self._ensure_group()
        consumer = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        written = dead = 0
        started = time.monotonic()
        # Rows another consumer read and never acknowledged (it died), then our own leftovers.
        _, claimed, *_ = self.client.xautoclaim(self.stream, GROUP, consumer, self.claim_idle_ms,
                                                start_id="0-0", count=batch)
        messages = claimed
        self._forget_idle_consumers(consumer)
        while True:
            if not messages:
                found = self.client.xreadgroup(GROUP, consumer, {self.stream: ">"}, count=batch)
                messages = found[0][1] if found else []
            if not messages:
                break
            ids = [message_id for message_id, _ in messages]
            rows = []
            for _, fields in messages:
                try:
                    rows.append(_row(columns, fields))
                except (KeyError, ValueError, TypeError, AttributeError) as error:  # not a row we wrote
                    dead_letter({"raw_message": {key.decode(errors="replace"): value.decode(errors="replace")
                                                 for key, value in (fields or {}).items()}}, error)
                    dead += 1
            try:
                batch_written, batch_dead = write_rows(columns, table, rows)
            except WriteInterrupted:
                # Not acknowledged: this consumer (or another, after the claim delay) takes them again.
                log.exception("Writing usage from the Redis queue failed; the rows stay queued")
                break
            written, dead = written + batch_written, dead + batch_dead
            usage_metrics.ROWS_WRITTEN.labels("queue").inc(batch_written)
            self.client.xack(self.stream, GROUP, *ids)
            self.client.xdel(self.stream, *ids)
            messages = []
            if time.monotonic() - started > max_seconds:
                break
        return {"written": written, "dead_lettered": dead}


    def _forget_idle_consumers(self, current):
        """Consumers of exited processes that hold nothing: without this the group lists them forever."""
        for entry in self.client.xinfo_consumers(self.stream, GROUP):
            name = entry["name"].decode() if isinstance(entry["name"], bytes) else entry["name"]
            if name != current and not entry["pending"] and entry["idle"] > 10 * self.claim_idle_ms:
                self.client.xgroup_delconsumer(self.stream, GROUP, name)


def _row(columns, fields):
    payload = json.loads(fields[FIELD.encode()])
    if not isinstance(payload, dict):
        raise ValueError("not a usage row")
    values = sanitize_row(payload)
    # A row queued by an older release lacks the newer text columns: "" (their default), not NULL.
    return [values.get(name, "" if name in TEXT_LIMITS else None) for name in columns]


_queue = None
_queue_lock = threading.Lock()


def usage_queue(settings):
    """The process's queue client when a queue URL is configured, else None."""
    global _queue
    url = settings.USAGE_QUEUE_URL
    if not url:
        return None
    with _queue_lock:
        if _queue is None or (_queue.url, _queue.stream) != (url, settings.USAGE_QUEUE_STREAM):
            _queue = UsageQueue(url, settings.USAGE_QUEUE_STREAM,
                                claim_idle_seconds=settings.USAGE_QUEUE_CLAIM_SECONDS)
        return _queue
