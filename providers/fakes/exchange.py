"""One HTTP request as the fakes see it (``Exchange``) and as tests see it afterwards (``RecordedRequest``)."""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from http.server import BaseHTTPRequestHandler

REDACTED = "<redacted>"
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "x-amz-security-token"})


@dataclass
class RecordedRequest:
    method: str
    path: str  # raw path, without the query string
    headers: dict[str, str]  # credentials replaced by "<redacted>"
    json: Any  # parsed JSON body, or None
    query: dict[str, list[str]] = field(default_factory=dict)
    form: dict[str, str] | None = None  # parsed form body (STS query protocol)
    body: bytes = b""
    status: int | None = None  # status sent back; None if the connection was reset


class Aborted(Exception):
    """Raised after the connection was torn down on purpose; nothing more can be sent."""


class Exchange:
    """One request and the means to answer it (plain body, chunked stream, or a TCP reset)."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes, tls: bool) -> None:
        self._h = handler
        self.method = handler.command
        split = urlsplit(handler.path)
        self.raw_path, self.raw_query = split.path, split.query
        self.query = parse_qs(split.query, keep_blank_values=True)
        self.headers = handler.headers
        self.body = body
        self.tls = tls
        self.request_id = ""
        self.responded = False
        self.json: Any = None
        if body:
            try:
                self.json = json.loads(body)
            except ValueError:
                self.json = None
        self.form: dict[str, str] | None = None
        if "application/x-www-form-urlencoded" in (self.header("content-type") or ""):
            self.form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        headers = {k: (REDACTED if k.lower() in _SECRET_HEADERS else v) for k, v in handler.headers.items()}
        self.record = RecordedRequest(self.method, self.raw_path, headers, self.json, self.query, self.form, body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def query_one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.responded = True
        self.record.status = status
        self._h.send_response(status)
        for k, v in headers.items():
            self._h.send_header(k, v)
        self._h.end_headers()

    def send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self._head(status, {**(headers or {}), "Content-Type": content_type, "Content-Length": str(len(body))})
        self._h.wfile.write(body)

    def send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(obj).encode(), "application/json", headers)

    def begin_stream(self, status: int, content_type: str, headers: dict[str, str] | None = None) -> None:
        self._head(status, {**(headers or {}), "Content-Type": content_type, "Transfer-Encoding": "chunked"})

    def write_chunk(self, data: bytes) -> None:
        if data:
            self._h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self._h.wfile.flush()

    def end_stream(self) -> None:
        self._h.wfile.write(b"0\r\n\r\n")
        self._h.wfile.flush()

    def abort(self) -> None:
        """Reset the TCP connection (RST, no response): SO_LINGER 0 then close."""
        sock = self._h.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass
        self._h.aborted = True
        self._h.close_connection = True
        raise Aborted()
