"""XADD without waiting for Redis's reply: a usage row is the kernel's once `sendall` returns.

The synchronous XADD cost a web request one Redis round trip per call (about 0.3 ms of a 0.6 ms
response cache hit). Here each process keeps one socket: a call appends its row to the in-flight
queue and writes the XADD; a reader thread matches each reply to its row, in order (Redis answers
one connection's commands in order). Nothing is dropped silently: a reply that is an error, or a
connection lost before its replies came, hands the rows in question to the `direct` writer they
were sent with (at least once, like the drain). A killed process loses nothing it had sent: the
kernel still delivers bytes written to a socket. Plain TCP URLs only (redis://); TLS and Unix
socket URLs keep the synchronous XADD (`supports`).
"""
import atexit
import collections
import logging
import os
import socket
import threading
import weakref

import hiredis
from redis.connection import parse_url

log = logging.getLogger(__name__)
_writers = weakref.WeakSet()


def supports(url):
    return "connection_class" not in parse_url(url)


def command(*parts):
    """One command in RESP, the protocol Redis reads."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Connection:
    def __init__(self, sock):
        self.sock, self.inflight = sock, collections.deque()


class PipelinedWriter:
    def __init__(self, url, *, connect_timeout=0.5, send_timeout=2.0):
        self.params = parse_url(url)
        self.connect_timeout, self.send_timeout = connect_timeout, send_timeout
        self._start_over()
        _writers.add(self)

    def _start_over(self):
        """New state (and a forked child's: the parent's socket, rows and lock are not its own)."""
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._conn = None
        self._pending = 0  # rows sent and not yet confirmed or written directly

    def send(self, data, row, direct):
        """Write one command; `direct(row)` writes the row if Redis does not confirm it.
        Raises OSError when it cannot be sent (the caller writes the row itself)."""
        with self._lock:
            conn = self._conn
            if conn is None:
                conn = self._conn = self._connect()
            conn.inflight.append((row, direct))
            self._pending += 1
            try:
                conn.sock.sendall(data)
            except OSError:
                conn.inflight.pop()
                self._pending -= 1
                self._conn = None
                _shutdown(conn.sock)  # the reader hands what is still in flight to `direct`
                raise

    def settle(self, timeout=2.0):
        """Wait until Redis answered everything this process sent (for reads in the same process)."""
        with self._settled:
            return self._settled.wait_for(lambda: self._pending == 0, timeout)

    def _connect(self):
        params = self.params
        sock = socket.create_connection((params.get("host", "localhost"), params.get("port", 6379)),
                                        timeout=self.connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.send_timeout)
            handshake = []
            if params.get("password"):
                handshake.append(("AUTH", *filter(None, (params.get("username"), params["password"]))))
            if params.get("db"):
                handshake.append(("SELECT", params["db"]))
            if handshake:
                _confirm(sock, handshake)
        except Exception:
            sock.close()
            raise
        conn = _Connection(sock)
        threading.Thread(target=self._read, args=(conn,), name="usage-queue-replies", daemon=True).start()
        return conn

    def _read(self, conn):
        try:
            self._confirm_replies(conn)
        except Exception:  # a protocol surprise: treat it as a lost connection, never as lost rows
            log.exception("Usage queue (Redis): unreadable reply; reconnecting")
        with self._lock:
            if self._conn is conn:
                self._conn = None  # the next send connects again
            left = list(conn.inflight)
            conn.inflight.clear()
        _shutdown(conn.sock)
        conn.sock.close()
        if left:
            _write_directly(left, ConnectionError("the Redis connection closed before it confirmed them"))
            self._settle(len(left))

    def _confirm_replies(self, conn):
        reader = hiredis.Reader()
        while True:
            try:
                data = conn.sock.recv(65536)
            except TimeoutError:
                continue  # idle
            except OSError:
                return
            if not data:
                return
            reader.feed(data)
            replies = []
            while (reply := reader.gets()) is not False:
                replies.append(reply)
            with self._lock:  # one lock per read, however many replies it held
                if len(replies) > len(conn.inflight):
                    raise ConnectionError(f"{len(replies)} replies for {len(conn.inflight)} rows in flight")
                entries = [conn.inflight.popleft() for _ in replies]
            for reply, entry in zip(replies, entries, strict=True):
                if isinstance(reply, hiredis.ReplyError):
                    _write_directly([entry], reply)
            self._settle(len(replies))

    def _settle(self, count):
        with self._settled:
            self._pending -= count
            self._settled.notify_all()


def _confirm(sock, commands):
    sock.sendall(b"".join(command(*parts) for parts in commands))
    reader, replies = hiredis.Reader(), []
    while len(replies) < len(commands):
        data = sock.recv(4096)
        if not data:
            raise ConnectionError("Redis closed the connection during the handshake")
        reader.feed(data)
        while (reply := reader.gets()) is not False:
            replies.append(reply)
    errors = [str(reply) for reply in replies if isinstance(reply, hiredis.ReplyError)]
    if errors:
        raise ConnectionError(f"Redis refused the handshake: {errors[0][:200]}")


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _write_directly(entries, error):
    log.warning("Usage queue (Redis) did not confirm %d row(s) (%s); writing them directly",
                len(entries), str(error)[:200])
    for row, direct in entries:
        try:
            direct(row)
        except Exception:  # the row's last chance: say so loudly
            log.exception("A usage row Redis did not confirm could not be written directly either")


def _after_fork_in_child():
    for writer in list(_writers):
        writer._start_over()


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _settle_all():
    for writer in list(_writers):
        writer.settle(timeout=2.0)
