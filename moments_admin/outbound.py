"""The one gate for URLs an admin types and the server then calls (budget webhooks; not provider endpoints).

check_url() resolves the host once and refuses it unless every address is public;
post_json() connects to an address that check_url() approved (no second DNS
lookup, so a name cannot be re-pointed at an internal host between check and
connect), keeps the name for SNI, certificate checks and the Host header, never
follows a redirect, and retries a bounded number of times with backoff.

Rules (docs/security.md): https only (http when OUTBOUND_ALLOW_HTTP), and no
loopback, private, link-local, unique-local, unspecified, multicast, reserved or
otherwise non-public address, IPv4-mapped / 6to4 / NAT64 / Teredo IPv6 forms
judged by the IPv4 address they carry, unless OUTBOUND_ALLOWED_NETWORKS names it.
"""
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
import urllib.parse
from dataclasses import dataclass

from django.conf import settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5.0
NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CONTROL = {chr(code) for code in range(32)} | {"\x7f"}


class OutboundRefused(OSError):
    """The URL may not be called (scheme, address class, unresolvable). Never retried."""


class OutboundFailed(OSError):
    """The call was made but did not succeed (connection, timeout, redirect, HTTP error)."""

    def __init__(self, message, *, retryable=True):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str  # the name as typed (for SNI, certificate and Host)
    port: int
    path: str  # path and query
    addresses: tuple  # approved IP addresses, as strings, in resolver order


def allowed_networks():
    return [ipaddress.ip_network(cidr, strict=False) for cidr in getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ())]


def embedded_ipv4(ip):
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64, Teredo client), or None."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_class(ip):
    """Why `ip` is not a public address ("loopback", "private"…), or None when it is public."""
    carried = embedded_ipv4(ip)
    if carried is not None:
        reason = address_class(carried)
        return f"{reason} (IPv4 {carried} written as IPv6)" if reason else None
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata)"
    if ip.is_multicast:
        return "multicast"
    if ip.version == 6 and ip in ipaddress.ip_network("fc00::/7"):
        return "unique-local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "not publicly routable"
    return None


def _is_allowed(ip, networks):
    candidates = [ip] + ([embedded_ipv4(ip)] if embedded_ipv4(ip) else [])
    return any(candidate in network for candidate in candidates for network in networks
               if candidate.version == network.version)


def check_url(url):
    """A Target whose every resolved address is allowed, or OutboundRefused saying what to fix."""
    url = url or ""
    if any(char in _CONTROL for char in url):
        raise OutboundRefused("The URL contains a line break or another control character.")
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"The URL is not valid ({exc}).") from None
    allow_http = getattr(settings, "OUTBOUND_ALLOW_HTTP", False)
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        extra = "" if allow_http else " (http only when the operator sets OUTBOUND_ALLOW_HTTP=1)"
        raise OutboundRefused(f"Use an https:// URL{extra}, not {parts.scheme or 'no scheme'}://.")
    host = parts.hostname
    if not host:
        raise OutboundRefused("The URL has no host.")
    if parts.username or parts.password:
        raise OutboundRefused("Put no user name or password in the URL; use a token in the path instead.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)  # the only lookup of this name
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise OutboundRefused(f"{host} cannot be resolved ({getattr(exc, 'strerror', None) or exc}).") from None
    addresses = list(dict.fromkeys(info[4][0].split("%", 1)[0] for info in infos))
    if not addresses:
        raise OutboundRefused(f"{host} resolves to no address.")
    networks = allowed_networks()
    for address in addresses:
        ip = ipaddress.ip_address(address)
        reason = address_class(ip)
        if reason and not _is_allowed(ip, networks):
            shown = host if host == address else f"{host} resolves to {address}, which"
            raise OutboundRefused(f"{shown} is a {reason} address: the server does not call internal hosts. "
                                  "Use a public host (or ask the operator to list the network in "
                                  "OUTBOUND_ALLOWED_NETWORKS).")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url=url, scheme=parts.scheme, host=host, port=port, path=path, addresses=tuple(addresses))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to an approved address; Host stays the name."""

    def __init__(self, target, address, timeout):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an approved address; SNI, certificate and Host checked against the name."""

    def __init__(self, target, address, timeout):
        self._tls = ssl.create_default_context()  # certificate and host name verified
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self):
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def _post_once(target, body, headers, timeout):
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    last_error = None
    for address in target.addresses:
        connection = connection_class(target, address, timeout)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(65536)
        except ssl.SSLCertVerificationError as exc:
            raise OutboundFailed(f"TLS certificate of {target.host} not accepted: {exc.verify_message}.",
                                 retryable=False) from None
        except (OSError, http.client.HTTPException) as exc:
            last_error = exc
            continue
        finally:
            connection.close()
        if 300 <= response.status < 400:
            raise OutboundFailed(f"{target.host} answered a redirect (HTTP {response.status} to "
                                 f"{response.getheader('Location') or 'nowhere'}); redirects are not followed: "
                                 "use the final URL.", retryable=False)
        if response.status >= 400:
            raise OutboundFailed(f"{target.host} answered HTTP {response.status}.",
                                 retryable=response.status >= 500 or response.status in (408, 429))
        return response.status
    raise OutboundFailed(f"Could not reach {target.host}: {type(last_error).__name__}: {last_error}.")


def post_json(url, payload, *, headers=None, timeout=CONNECT_TIMEOUT_SECONDS, attempts=1, backoff=0.5):
    """POST `payload` as JSON to `url` through the guard; the HTTP status, or OutboundRefused/OutboundFailed.

    The URL is checked (and resolved) again on every call: a stored URL may now resolve elsewhere.
    """
    target = check_url(url)
    body = json.dumps(payload).encode()
    sent_headers = {"Content-Type": "application/json", "User-Agent": "moments-admin", **(headers or {})}
    for attempt in range(1, max(1, attempts) + 1):
        try:
            return _post_once(target, body, sent_headers, timeout)
        except OutboundFailed as exc:
            if not exc.retryable or attempt >= attempts:
                raise
            log.info("POST to %s failed (%s); retry %d of %d", target.host, exc, attempt, attempts - 1)
            time.sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
