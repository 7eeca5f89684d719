"""Work handed off the request path to one daemon thread per purpose, run in the order it was queued.

    bookkeeping.submit(function, *args)     # the gateway's usage records and breaker updates
    bookkeeping.wait()                      # until everything queued has run (tests, shutdown)

The gateway's event loop must not touch the database (the usage sink and, on the embedded
default, the shared cache are the database), and its answers never wait for bookkeeping. A job
is queued before the answer's last byte is sent, so `wait()` after a response has arrived covers
its record. The server's shutdown waits (moments_admin.asgi); so does the interpreter's exit.
"""
import atexit
import logging
import queue
import threading
import time

from django.db import close_old_connections

log = logging.getLogger(__name__)
EXIT_WAIT_SECONDS = 10.0  # at interpreter exit: a stalled sink must not hang the process forever


class Worker:
    def __init__(self, name):
        self.name = name
        self._queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()
        atexit.register(self.wait, EXIT_WAIT_SECONDS)

    def submit(self, function, *args):
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                    self._thread.start()
        self._queue.put((function, args))

    def _run(self):
        while True:
            function, args = self._queue.get()
            try:
                if self._queue.empty():  # between bursts, as Django between requests: drop a stale connection
                    close_old_connections()
                function(*args)
            except Exception:
                log.exception("%s: %s failed", self.name, getattr(function, "__qualname__", function))
            finally:
                self._queue.task_done()

    def wait(self, timeout=None):
        """Block until every job handed over has run, or `timeout` seconds passed; True when none is left."""
        if self._thread is None or not self._thread.is_alive():
            return not self._queue.unfinished_tasks
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


bookkeeping = Worker("gateway-bookkeeping")
