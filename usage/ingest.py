"""Optional write-behind buffer for record_usage, for gateways above a few thousand calls a second.

With USAGE_WRITE_BUFFER = True, record_usage prices the call, appends the row to
a per-process buffer and returns at once (an unsaved UsageRecord, pk None). A
background thread writes the buffer every USAGE_WRITE_BUFFER_SECONDS (0.2 s) or
every 500 rows, with one COPY (PostgreSQL) or one multi-row INSERT, on its own
connection. The trade: a process killed hard loses up to that much of its usage
(a clean exit flushes), and rows are written outside the caller's transaction.
Without the setting every call is one INSERT in the caller's transaction.
"""
import atexit
import logging
import os
import threading

from django.db import DEFAULT_DB_ALIAS, connections, transaction

log = logging.getLogger(__name__)


class UsageBuffer:
    def __init__(self, columns, table, *, max_rows=500, max_delay=0.2, max_pending=100_000, autostart=True):
        self.columns, self.table = list(columns), table
        self.max_rows, self.max_delay, self.max_pending = max_rows, max_delay, max_pending
        self.autostart = autostart
        self._rows, self._lock, self._wake = [], threading.Lock(), threading.Event()
        self._writing = threading.Lock()  # one write at a time, so a flush waits for the one in flight
        self._thread, self._pid = None, os.getpid()

    def add(self, values):
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent writes what it had buffered
                self._rows, self._thread, self._pid = [], None, os.getpid()
            if self.autostart and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="usage-write-buffer", daemon=True)
                self._thread.start()
            self._rows.append([values[name] for name in self.columns])
            if len(self._rows) >= self.max_rows:
                self._wake.set()

    def pending(self):
        with self._lock:
            return len(self._rows)

    def _run(self):
        while True:
            self._wake.wait(self.max_delay)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # logged and retried on the next tick; the rows stay buffered
                log.exception("Writing buffered usage records failed; retrying")

    def flush(self):
        """Write everything buffered so far (after any write in flight); returns the rows written."""
        with self._writing:
            with self._lock:
                rows, self._rows = self._rows, []
            if not rows:
                return 0
            try:
                self._write(rows)
            except Exception:
                with self._lock:
                    kept = (rows + self._rows)[-self.max_pending:]
                    if len(kept) < len(rows) + len(self._rows):
                        log.error("Usage buffer full: dropped %s records", len(rows) + len(self._rows) - len(kept))
                    self._rows = kept
                raise
            return len(rows)

    def _write(self, rows):
        db = connections[DEFAULT_DB_ALIAS]
        if not db.in_atomic_block:  # the flusher thread's own connection: renew it when broken or old
            db.close_if_unusable_or_obsolete()
        quote = db.ops.quote_name
        columns = ", ".join(quote(name) for name in self.columns)
        with transaction.atomic(using=db.alias):
            if db.vendor == "postgresql":
                db.ensure_connection()
                with db.wrap_database_errors, db.connection.cursor() as cursor:
                    with cursor.copy(f"COPY {quote(self.table)} ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            else:
                position = self.columns.index("occurred_at")
                for row in rows:
                    row[position] = db.ops.adapt_datetimefield_value(row[position])
                with db.cursor() as cursor:
                    cursor.executemany(f"INSERT INTO {quote(self.table)} ({columns}) VALUES "
                                       f"({', '.join(['%s'] * len(self.columns))})", rows)


_buffer = None
_buffer_lock = threading.Lock()


def usage_buffer(columns, table, settings):
    global _buffer
    with _buffer_lock:
        if _buffer is None:
            _buffer = UsageBuffer(columns, table, max_delay=settings.USAGE_WRITE_BUFFER_SECONDS)
            atexit.register(flush_usage_buffer)
        return _buffer


def flush_usage_buffer():
    """Write whatever this process has buffered (called at exit; call it in shutdown hooks)."""
    if _buffer is not None:
        return _buffer.flush()
    return 0
