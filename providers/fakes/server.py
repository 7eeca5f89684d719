"""HTTP plumbing shared by the fakes: a threaded stdlib server, request records, faults, TLS.

Protocol logic lives in the subclasses; they get an ``Exchange`` per request and answer through it.
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import tls as tls_mod
from .exchange import Aborted, Exchange, RecordedRequest
from .faults import Fault, FaultQueue

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real endpoints; SDK pools connections

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to some responses, which real endpoints do not.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server_version = "FakeProvider/1.0"
    aborted = False

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s " + format, self.address_string(), *args)

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        fake: FakeServer = self.server.fake  # type: ignore[attr-defined]
        ex = Exchange(self, self._read_body(), tls=fake.tls)
        fake._record(ex.record)
        try:
            fake.handle(ex)
        except Aborted:
            pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True  # the client went away mid-response
        except Exception:
            log.exception("fake server handler crashed")
            if not ex.responded:
                ex.send(500, traceback.format_exc().encode(), "text/plain", fake.error_headers(ex))
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def finish(self) -> None:
        if not self.aborted:
            super().finish()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once; the default backlog is 5
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], fake: FakeServer, ssl_ctx: ssl.SSLContext | None) -> None:
        self.fake = fake
        self.ssl_ctx = ssl_ctx
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(addr, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake here (the per-connection thread), not in the accept loop.
        if self.ssl_ctx is not None:
            try:
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        with self.sockets_lock:
            self.open_sockets.add(request)
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            with self.sockets_lock:
                self.open_sockets.discard(request)
            if self.ssl_ctx is not None:
                try:
                    request.close()
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)


class FakeServer:
    """Base: lifecycle, fault queue, request log. Subclasses implement ``handle``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, tls: bool = False) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.ca_bundle: str | None = None
        self._tls_material: tls_mod.TlsMaterial | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._faults = FaultQueue()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.RLock()

    # -- lifecycle ---------------------------------------------------------
    def start(self):
        if self._httpd is not None:
            return self
        ctx = None
        if self.tls:
            self._tls_material = tls_mod.generate()
            self.ca_bundle = self._tls_material.ca_bundle
            ctx = self._tls_material.server_context()
        self._httpd = _HTTPServer((self.host, self.port), self, ctx)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        # Unblock keep-alive connection threads still waiting for a next request.
        with httpd.sockets_lock:
            for sock in list(httpd.open_sockets):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tls_material is not None:
            shutil.rmtree(self._tls_material.directory, ignore_errors=True)
            self._tls_material = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started; call .start() first")
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def client_ssl_context(self) -> ssl.SSLContext:
        """An SSL context trusting the throw-away CA (httpx2 deprecates ``verify=<path>``)."""
        if self.ca_bundle is None:
            raise RuntimeError("TLS is off; start the fake with tls=True")
        return ssl.create_default_context(cafile=self.ca_bundle)

    # -- faults and records ------------------------------------------------
    def inject(self, fault: Fault) -> None:
        self._check_fault(fault)
        self._faults.add(fault)

    def _check_fault(self, fault: Fault) -> None:
        """Subclasses reject kinds that have no meaning for their protocol."""

    def take_fault(self, path: str, streaming: bool) -> Fault | None:
        return self._faults.take(path, streaming)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def _record(self, rec: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(rec)

    def reset(self) -> None:
        """Forget injected faults and recorded requests (server state such as caches is kept)."""
        self._faults.clear()
        with self._lock:
            self._requests.clear()

    def error_headers(self, ex: Exchange) -> dict[str, str]:
        """Headers every response carries (e.g. the request id), used on an unexpected crash."""
        return {}

    def handle(self, ex: Exchange) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
