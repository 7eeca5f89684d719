"""One XADD, its reply awaited, over a lean connection of the calling thread.

redis-py spent about 160 µs of CPU per XADD here around the round trip itself (connection pool,
retry wrapper, command and reply handling), more than the round trip. This writes the command in
RESP and reads the one reply with hiredis on a socket of the calling thread (per process: a forked
child opens its own). The reply is still awaited, so a row is in Redis before the call returns and
a killed process loses none; an error reply, a timeout or a closed connection raises, the socket is
dropped, and the caller writes the row itself. Plain TCP URLs only (redis://); TLS and Unix socket
URLs keep redis-py (`supports`).
"""
import os
import socket
import threading

import hiredis
from redis.connection import parse_url


def supports(url):
    return "connection_class" not in parse_url(url)


def command(*parts):
    """One command in RESP, the protocol Redis reads."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class RedisRefused(ConnectionError):
    """Redis answered with an error (WRONGTYPE, OOM, NOAUTH...)."""


class LeanWriter:
    def __init__(self, url, *, connect_timeout=0.5, timeout=2.0):
        self.params = parse_url(url)
        self.connect_timeout, self.timeout = connect_timeout, timeout
        self._local = threading.local()

    def execute(self, data):
        """Send one command and return its reply; raises OSError (ConnectionError, TimeoutError,
        RedisRefused) when it was not confirmed."""
        reply = self.execute_many([data])[0]
        if isinstance(reply, hiredis.ReplyError):
            raise RedisRefused(f"Redis refused the command: {str(reply)[:200]}")
        return reply

    def execute_many(self, commands):
        """Send commands in one write (a pipeline: one round trip) and return their replies in order;
        an error reply is returned as a hiredis.ReplyError, not raised. Raises OSError (ConnectionError,
        TimeoutError) when the replies did not all arrive."""
        sock = self._socket()
        try:
            sock.sendall(b"".join(commands))
            return [_read_reply(sock, self._local.reader) for _ in commands]
        except BaseException:  # a timeout, a closed connection, even SystemExit mid-write: never reuse it
            self.close()
            raise

    def close(self):
        sock = getattr(self._local, "sock", None)
        self._local.sock = None
        if sock is not None:
            sock.close()

    def _socket(self):
        local = self._local
        if getattr(local, "sock", None) is not None and local.pid == os.getpid():
            return local.sock
        params = self.params
        sock = socket.create_connection((params.get("host", "localhost"), params.get("port", 6379)),
                                        timeout=self.connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.timeout)
            reader = hiredis.Reader()
            handshake = []
            if params.get("password"):
                handshake.append(("AUTH", *filter(None, (params.get("username"), params["password"]))))
            if params.get("db"):
                handshake.append(("SELECT", params["db"]))
            for parts in handshake:
                sock.sendall(command(*parts))
                reply = _read_reply(sock, reader)
                if isinstance(reply, hiredis.ReplyError):
                    raise RedisRefused(f"Redis refused {parts[0]}: {str(reply)[:200]}")
        except BaseException:
            sock.close()
            raise
        local.sock, local.reader, local.pid = sock, reader, os.getpid()
        return sock


def _read_reply(sock, reader):
    while (reply := reader.gets()) is False:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("Redis closed the connection")
        reader.feed(data)
    return reply
