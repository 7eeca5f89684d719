"""A failed certificate check explained: which server, whose certificate, and the field that fixes it.

When verification fails, one more handshake without verification (to the same host the failing
request went to, nothing sent over it) reads the certificate the server presents, so the message
can name its subject and issuer: usually a corporate proxy or a private CA that the CA bundle
field should trust.
"""
import re
import socket
import ssl
from urllib.parse import urlparse

from cryptography import x509

_URL = re.compile(r"https://[^\s'\"]+")
_MARKERS = ("certificate_verify_failed", "certificate verify failed", "self-signed certificate",
            "unable to get local issuer certificate", "hostname mismatch")


def is_certificate_error(error):
    text = f"{error.message} {error.raw_message or ''} {error.__cause__ or ''}".lower()
    return any(marker in text for marker in _MARKERS)


def first_https_url(text):
    match = _URL.search(text or "")
    return match.group(0) if match else ""


def peer_certificate(url, timeout=5.0):
    """(subject, issuer) of the certificate the server at `url` presents, or None if none could be read."""
    parsed = urlparse(url)
    if parsed.scheme != "https" or not parsed.hostname:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only to read what the server presents; nothing is sent
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 443), timeout=timeout) as sock:
            with context.wrap_socket(sock, server_hostname=parsed.hostname) as tls:
                der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError, ValueError):
        return None
    if not der:
        return None
    certificate = x509.load_der_x509_certificate(der)
    return certificate.subject.rfc4514_string(), certificate.issuer.rfc4514_string()


def explain(url, ca_bundle):
    """The sentence that replaces a bare "certificate verify failed"."""
    host = urlparse(url).netloc if url else "the server"
    found = peer_certificate(url) if url else None
    presented = (f"{host} presented a certificate for \"{found[0]}\" issued by \"{found[1]}\""
                 if found else f"The certificate of {host} could not be verified")
    if ca_bundle:
        return (f"{presented}, which the CA bundle {ca_bundle} does not trust. Put the issuing CA's certificate "
                "in the file named in \"CA bundle path\" (TLS section).")
    return (f"{presented}, which no trusted CA signed. If a proxy or private CA issues it, save that CA's "
            "certificate as a PEM file on this server and enter its path in \"CA bundle path\" (TLS section).")
