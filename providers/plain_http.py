"""Secrets never cross the network over plain http:// unless the operator allowed it for that provider.

An Anthropic API key travels in every request to base_url; a Bedrock API key (bearer token) to the
runtime and control-plane endpoints. Over http:// to another machine anyone on the path reads it.
Loopback (127.0.0.0/8, ::1, localhost) never leaves the machine, so it is allowed. Elsewhere the
provider's "Allow secrets over plain HTTP (insecure)" option (ProviderConfig.allow_insecure_http)
must be ticked; SigV4 modes send signatures, not secrets, and are not refused.
"""
import ipaddress
from urllib.parse import urlparse

OPTION_LABEL = "Allow secrets over plain HTTP (insecure)"


def is_loopback(host):
    host = (host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refusals(config, secret_urls):
    """[(field, message)] for each plain-http URL to another machine that would carry a secret;
    `secret_urls` is {URL field: the secret sent there} (the kind plugin's secret_urls)."""
    if getattr(config, "allow_insecure_http", False):
        return []
    found = []
    for field, secret in secret_urls.items():
        url = (getattr(config, field, "") or "").strip()
        parsed = urlparse(url)
        if parsed.scheme == "http" and not is_loopback(parsed.hostname):
            found.append((field, f"{url} is plain http:// to another machine: the {secret} would cross the "
                                 f"network unencrypted, so it is not sent. Use https://, or tick \"{OPTION_LABEL}\" "
                                 "(TLS section) if this network is trusted."))
    return found
