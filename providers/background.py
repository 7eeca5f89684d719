"""Work handed off the request path to one daemon thread per purpose, run in the order it was queued.

    bookkeeping.submit(function, *args)     # the gateway's usage records and breaker updates
    bookkeeping.wait()                      # until everything queued has run (tests, shutdown)

The gateway's event loop must not touch the database (the usage sink and, on the embedded
default, the shared cache are the database), and its answers never wait for bookkeeping. A job
is queued before the answer's last byte is sent, so `wait()` after a response has arrived covers
its record. The server's shutdown waits (moments_admin.asgi); so does the interpreter's exit.
"""
import atexit
import contextlib
import logging
import os
import queue
import threading
import time

from django.db import close_old_connections

from providers.call_records import recording_batch

log = logging.getLogger(__name__)
YIELD_EVERY_SECONDS = 0.0003  # a burst's longest hold on the GIL before the event loop may take it
EXIT_WAIT_SECONDS = 10.0  # at interpreter exit: a stalled sink must not hang the process forever


class Worker:
    """One daemon thread running jobs in order. With `linger`, a job's arrival wakes the thread once
    per burst: it waits `linger` seconds for the rest, then runs them all inside `around()` (the usage
    sink's batch: one round trip for the burst's records), yielding the GIL every YIELD_EVERY_SECONDS
    so the event loop is never held up for a whole burst. `wait()` cuts the linger short."""

    def __init__(self, name, *, linger=0.0, around=contextlib.nullcontext):
        self.name, self.linger, self.around = name, linger, around
        self._start_afresh()
        atexit.register(self.wait, EXIT_WAIT_SECONDS)

    def _start_afresh(self):
        self._queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()
        self._hurry = threading.Event()
        self._pid = os.getpid()

    def submit(self, function, *args):
        if self._pid != os.getpid():  # a forked child (a Celery pool process): the parent's queue and locks
            self._start_afresh()      # may have been mid-use by a thread the child does not have
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                    self._thread.start()
        self._queue.put((function, args))

    def _run(self):
        while True:
            jobs = [self._queue.get()]
            if self.linger and not self._hurry.is_set():
                self._hurry.wait(self.linger)
            while True:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                close_old_connections()  # between bursts, as Django between requests: drop a stale connection
                with self.around():
                    slice_started = time.perf_counter()
                    for function, args in jobs:
                        self._call(function, args)
                        if self.linger and time.perf_counter() - slice_started > YIELD_EVERY_SECONDS:
                            time.sleep(0)  # the GIL to the event loop, if it is waiting
                            slice_started = time.perf_counter()
            except Exception:
                log.exception("%s: ending a burst of %d jobs failed", self.name, len(jobs))
            finally:
                for _ in jobs:
                    self._queue.task_done()

    def _call(self, function, args):
        try:
            function(*args)
        except Exception:
            log.exception("%s: %s failed", self.name, getattr(function, "__qualname__", function))

    def wait(self, timeout=None):
        """Block until every job handed over has run, or `timeout` seconds passed; True when none is left."""
        if self._thread is None or not self._thread.is_alive():
            return not self._queue.unfinished_tasks
        self._hurry.set()
        try:
            if timeout is None:
                self._queue.join()
                return True
            deadline = time.monotonic() + timeout
            while self._queue.unfinished_tasks:
                if time.monotonic() >= deadline:
                    log.error("%s: %d jobs not run after %.0f s", self.name, self._queue.unfinished_tasks, timeout)
                    return False
                time.sleep(0.005)
            return True
        finally:
            self._hurry.clear()


# Records of a burst of hits reach the usage queue in one round trip; a hard kill loses at most the
# last LINGER_SECONDS of them on top of what was queued (a clean shutdown waits for all).
LINGER_SECONDS = 0.02
bookkeeping = Worker("gateway-bookkeeping", linger=LINGER_SECONDS, around=recording_batch)
