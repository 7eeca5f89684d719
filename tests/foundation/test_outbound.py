"""The outbound URL guard: internal addresses refused in every spelling, nothing delivered to them,
one DNS lookup, no redirects followed, certificates checked against the name, bounded retries."""
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from moments_admin import outbound
from providers.fakes import tls
from tests.listener import Listener

REFUSED = [
    ("http://[::ffff:169.254.169.254]/latest/meta-data/", "link-local"),
    ("https://169.254.169.254/", "link-local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://10.1.2.3/hook", "private"),
    ("https://192.168.0.10/hook", "private"),
    ("https://172.16.5.4/hook", "private"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://[::]/hook", "unspecified"),
    ("https://[fd00::1]/hook", "unique-local"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://240.0.0.1/hook", "reserved"),
    ("https://100.64.0.1/hook", "not publicly routable"),
    ("https://[2002:7f00:1::]/hook", "loopback"),  # 6to4 carrying 127.0.0.1
    ("https://[64:ff9b::a9fe:a9fe]/hook", "link-local"),  # NAT64 carrying 169.254.169.254
    ("https://localhost/hook", "loopback"),  # a name that resolves to loopback
    ("ftp://example.com/hook", "https://"),
    ("http://example.com/hook", "OUTBOUND_ALLOW_HTTP"),
    ("https://nowhere.invalid/hook", "cannot be resolved"),
    ("https://hooks.example.com/a\r\nX-Injected: 1", "line break"),
    ("https://user:pw@hooks.example.com/", "no user name"),
    ("https:///nohost", "no host"),
]


@pytest.fixture
def http_allowed(settings):
    settings.OUTBOUND_ALLOW_HTTP = True
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    return settings


@pytest.mark.parametrize("url, reason", REFUSED)
def test_refused_urls_name_the_reason(url, reason, settings):
    settings.OUTBOUND_ALLOW_HTTP = url.startswith("http://[::ffff")  # the mapped form must fail on its address
    with pytest.raises(outbound.OutboundRefused, match=reason.replace("(", r"\(")):
        outbound.check_url(url)


@pytest.mark.parametrize("spelling", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "0.0.0.0", "[::1]"])
def test_nothing_is_delivered_to_a_refused_address(spelling, http_allowed):
    listener = Listener()
    try:
        with pytest.raises(outbound.OutboundRefused):
            outbound.post_json(f"http://{spelling}:{listener.port}/hook", {"x": 1})
    finally:
        listener.close()
    assert listener.connections == 0 and listener.received == b""


def test_allowed_networks_open_a_range(http_allowed):
    http_allowed.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert outbound.check_url("http://127.0.0.1:9/hook").addresses == ("127.0.0.1",)
    with pytest.raises(outbound.OutboundRefused, match="private"):
        outbound.check_url("http://10.0.0.1/hook")


class _Redirect(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server API)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.hits.append(self.headers.get("Host"))
        self.send_response(self.server.status)
        if self.server.location:
            self.send_header("Location", self.server.location)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = HTTPServer(("127.0.0.1", 0), _Redirect)
    server.hits, server.status, server.location = [], 200, ""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_redirect_to_a_refused_host_is_not_followed(http_allowed, local_server):
    http_allowed.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    refused = Listener("127.0.0.2")  # loopback too, but outside the allowed network
    local_server.status, local_server.location = 302, f"{refused.url}/steal"
    try:
        with pytest.raises(outbound.OutboundFailed, match="redirects are not followed"):
            outbound.post_json(f"http://127.0.0.1:{local_server.server_port}/hook", {"x": 1}, attempts=3)
    finally:
        refused.close()
    assert len(local_server.hits) == 1  # a redirect is a failure, not retried
    assert refused.connections == 0


def test_the_name_is_resolved_once_and_the_checked_address_is_called(http_allowed, local_server, monkeypatch):
    """DNS rebinding: the second answer for the name would be refused, and is never asked for."""
    http_allowed.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "10.0.0.1"])
    lookups = []

    def resolver(host, port, *args, **kwargs):
        if host == "hooks.example.test":
            lookups.append(host)
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    assert outbound.post_json(f"http://hooks.example.test:{local_server.server_port}/hook", {"x": 1}) == 200
    assert lookups == ["hooks.example.test"]
    assert local_server.hits == [f"hooks.example.test:{local_server.server_port}"]  # Host is the name


def test_http_errors_are_retried_a_bounded_number_of_times(http_allowed, local_server):
    http_allowed.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    local_server.status = 503
    with pytest.raises(outbound.OutboundFailed, match="HTTP 503"):
        outbound.post_json(f"http://127.0.0.1:{local_server.server_port}/hook", {}, attempts=3, backoff=0.01)
    assert len(local_server.hits) == 3
    local_server.hits.clear()
    local_server.status = 404
    with pytest.raises(outbound.OutboundFailed, match="HTTP 404"):
        outbound.post_json(f"http://127.0.0.1:{local_server.server_port}/hook", {}, attempts=3, backoff=0.01)
    assert len(local_server.hits) == 1  # a client error is not retried


@pytest.fixture
def tls_server(tmp_path):
    material = tls.generate(str(tmp_path))
    server = HTTPServer(("127.0.0.1", 0), _Redirect)
    server.hits, server.status, server.location = [], 200, ""
    server.socket = material.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.ca_bundle = material.ca_bundle
    yield server
    server.shutdown()
    server.server_close()


def test_https_checks_the_certificate_against_the_name_not_the_address(settings, tls_server, monkeypatch):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    monkeypatch.setenv("SSL_CERT_FILE", tls_server.ca_bundle)
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: real(
        "127.0.0.1" if host in ("localhost", "impostor.example.test") else host, port, *a, **k))
    port = tls_server.server_port
    assert outbound.post_json(f"https://localhost:{port}/hook", {"x": 1}) == 200  # the certificate names localhost
    with pytest.raises(outbound.OutboundFailed, match="certificate"):
        outbound.post_json(f"https://impostor.example.test:{port}/hook", {"x": 1})  # same address, wrong name
    assert len(tls_server.hits) == 1


def test_allowed_networks_setting_refuses_a_bad_cidr_at_start_up(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from moments_admin.env import env_networks

    monkeypatch.setenv("OUTBOUND_ALLOWED_NETWORKS", "10.0.0.0/8, fd00::/8")
    assert env_networks("OUTBOUND_ALLOWED_NETWORKS") == ["10.0.0.0/8", "fd00::/8"]
    monkeypatch.setenv("OUTBOUND_ALLOWED_NETWORKS", "10.0.0.0/8,intranet")
    with pytest.raises(ImproperlyConfigured, match="intranet"):
        env_networks("OUTBOUND_ALLOWED_NETWORKS")
