"""Writing usage rows in batches, without ever losing the good rows to a bad one.

write_rows() is the one batch writer: one COPY (PostgreSQL) or one multi-row INSERT in a
transaction; when the batch fails for a reason other than a lost connection it is split in two
and each half written again (bisection), so a row the database refuses ends up alone, in the
dead-letter table (UsageDeadLetter) with its error, and every other row is written. A lost
connection raises WriteInterrupted with the rows not yet written, so nothing is written twice.

Two write-behind modes use it (settings USAGE_WRITE_BUFFER, docs/usage.md "Durability"):
- in-process: UsageBuffer below, one per process, written by a background thread every
  USAGE_WRITE_BUFFER_SECONDS (0.2 s) or 500 rows, and flushed at exit, on SIGTERM / SIGINT,
  on ASGI lifespan shutdown and on Celery worker shutdown. A kill -9 loses the last ~0.2 s.
- Redis: usage/queue.py (a stream drained by the worker), which loses nothing on a kill -9.
"""
import atexit
import datetime
import decimal
import json
import logging
import os
import signal
import threading

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections, transaction

from usage import metrics as usage_metrics
from usage.models import UsageDeadLetter
from usage.sanitize import clean_text, sanitize_row

log = logging.getLogger(__name__)
ERROR_LIMIT = 2000


class WriteInterrupted(Exception):
    """The database went away mid-way; `remaining` rows were not written (the others were)."""

    def __init__(self, remaining, cause):
        super().__init__(f"{len(remaining)} usage rows not written: {cause}")
        self.remaining, self.cause = remaining, cause


def _connection_lost(error):
    # A bad value raises DataError / IntegrityError / ValueError: bisect. These mean "try later".
    return isinstance(error, (OperationalError, InterfaceError))


def write_rows(columns, table, rows):
    """Write `rows` (lists in `columns` order); returns (written, dead_lettered).

    Raises WriteInterrupted when the database cannot be reached, with the rows still to write.
    """
    written = dead = 0
    pending = [rows]  # a stack of batches still to write, first batch on top
    while pending:
        batch = pending.pop()
        try:
            _write_batch(columns, table, batch)
            written += len(batch)
        except Exception as error:
            if _connection_lost(error):
                raise WriteInterrupted([row for part in reversed(pending) for row in part] + batch, error) from error
            if len(batch) > 1:
                middle = len(batch) // 2
                pending += [batch[middle:], batch[:middle]]
                continue
            try:
                dead_letter(dict(zip(columns, batch[0], strict=True)), error)
            except Exception as letter_error:
                raise WriteInterrupted([row for part in reversed(pending) for row in part] + batch,
                                       letter_error) from letter_error
            dead += 1
    return written, dead


def _write_batch(columns, table, rows):
    db = connections[DEFAULT_DB_ALIAS]
    if not db.in_atomic_block:  # the flusher thread's own connection: renew it when broken or old
        db.close_if_unusable_or_obsolete()
    quote = db.ops.quote_name
    names = ", ".join(quote(name) for name in columns)
    with transaction.atomic(using=db.alias):
        if db.vendor == "postgresql":
            db.ensure_connection()
            with db.wrap_database_errors, db.connection.cursor() as cursor:
                with cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            position = columns.index("occurred_at")
            adapted = []
            for row in rows:
                row = list(row)
                row[position] = db.ops.adapt_datetimefield_value(row[position])
                adapted.append(row)
            with db.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES "
                                   f"({', '.join(['%s'] * len(columns))})", adapted)


def _json_default(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return repr(value)


def encode_row(values):
    """JSON text for a row (ASCII only, so NUL and lone surrogates survive as escapes)."""
    return json.dumps(values, default=_json_default, ensure_ascii=True, separators=(",", ":"))


def dead_letter(values, error):
    usage_metrics.ROWS_DEAD_LETTERED.inc()
    log.error("A usage row was refused by the database and kept in the dead-letter table: %s", error)
    UsageDeadLetter.objects.create(payload=encode_row(values),
                                   error=clean_text(f"{type(error).__name__}: {error}", ERROR_LIMIT))


class UsageBuffer:
    def __init__(self, columns, table, *, max_rows=500, max_delay=0.2, max_pending=100_000, autostart=True):
        self.columns, self.table = list(columns), table
        self.max_rows, self.max_delay, self.max_pending = max_rows, max_delay, max_pending
        self.autostart = autostart
        # Re-entrant: a signal handler may flush in the main thread while it is inside add() or flush().
        self._rows, self._lock, self._wake = [], threading.RLock(), threading.Event()
        self._writing = threading.RLock()  # one write at a time, so a flush waits for the one in flight
        self._thread, self._pid = None, os.getpid()

    def add(self, values):
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent writes what it had buffered
                self._rows, self._thread, self._pid = [], None, os.getpid()
            if self.autostart and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="usage-write-buffer", daemon=True)
                self._thread.start()
            self._rows.append([values[name] for name in self.columns])
            usage_metrics.ROWS_BUFFERED.labels("memory").inc()
            usage_metrics.BUFFER_ROWS.inc()
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
                written, dead = write_rows(self.columns, self.table, rows)
                usage_metrics.ROWS_WRITTEN.labels("memory").inc(written)
                usage_metrics.BUFFER_ROWS.dec(written + dead)
            except WriteInterrupted as interrupted:
                done = len(rows) - len(interrupted.remaining)  # written (or dead-lettered) before it broke
                usage_metrics.ROWS_WRITTEN.labels("memory").inc(done)
                with self._lock:
                    waiting = interrupted.remaining + self._rows
                    kept = waiting[-self.max_pending:]
                    usage_metrics.BUFFER_ROWS.dec(done + len(waiting) - len(kept))
                    if len(kept) < len(waiting):
                        log.error("Usage buffer full: dropped %s records", len(waiting) - len(kept))
                    self._rows = kept
                raise interrupted.cause from None  # the error as it came, without a cause cycle
            return written


_buffer = None
_buffer_lock = threading.Lock()


def usage_buffer(columns, table, settings):
    global _buffer
    with _buffer_lock:
        if _buffer is None:
            _buffer = UsageBuffer(columns, table, max_delay=settings.USAGE_WRITE_BUFFER_SECONDS)
            atexit.register(flush_usage_buffer)
            install_flush_on_signals()
        return _buffer


def flush_usage_buffer():
    """Write whatever this process has buffered (called at exit; call it in shutdown hooks)."""
    if _buffer is not None:
        return _buffer.flush()
    return 0


# --- Flush on SIGTERM / SIGINT ------------------------------------------------------------------
FLUSH_SIGNALS = (signal.SIGTERM, signal.SIGINT)
SIGNAL_FLUSH_TIMEOUT = 20.0
_previous_handlers = {}


def install_flush_on_signals():
    """Flush the buffer on SIGTERM and SIGINT, then do what was there before (chained).

    Only the main thread may set handlers; elsewhere this does nothing (the ASGI lifespan
    shutdown, Celery's shutdown signals and atexit still flush). Idempotent.
    """
    if threading.current_thread() is not threading.main_thread():
        return False
    for signum in FLUSH_SIGNALS:
        current = signal.getsignal(signum)
        if current is _flush_then_chain:
            continue
        _previous_handlers[signum] = current
        signal.signal(signum, _flush_then_chain)
    return True


def _flush_then_chain(signum, frame):
    # In a thread of its own: its own database connection, outside any transaction the
    # interrupted main thread may have open (which is about to die with the process).
    flusher = threading.Thread(target=_flush_logged, args=(signum,), name="usage-flush-on-signal")
    flusher.start()
    flusher.join(SIGNAL_FLUSH_TIMEOUT)
    previous = _previous_handlers.get(signum)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_IGN:
        return
    else:  # the default action (terminate), as if we had never been here
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def replay_dead_letters(columns, table, *, limit=None):
    """Write dead-lettered rows again, sanitized by today's rules; returns (replayed, still_failing).

    A row written is deleted from the dead-letter table in the same transaction; one still refused
    keeps its place with the new error.
    """
    replayed = failing = 0
    letters = UsageDeadLetter.objects.order_by("id")
    for letter in letters[:limit] if limit else letters:
        try:
            values = sanitize_row(json.loads(letter.payload))
            with transaction.atomic():
                _write_batch(columns, table, [[values.get(name) for name in columns]])
                letter.delete()
            replayed += 1
        except (OperationalError, InterfaceError):
            raise
        except Exception as error:
            UsageDeadLetter.objects.filter(pk=letter.pk).update(
                error=clean_text(f"{type(error).__name__}: {error}", ERROR_LIMIT))
            failing += 1
    return replayed, failing


def _flush_logged(signum):
    try:
        flush_usage_buffer()
    except Exception:
        log.exception("Flushing usage records on signal %s failed", signum)
    finally:
        connections.close_all()  # this thread's own connection
