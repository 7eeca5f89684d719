"""Shared pieces of the copyable curl commands each kind plugin builds ($PLACEHOLDERS for every secret)."""
import shlex

PING = {"max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}


def quoted(value):
    return shlex.quote(value)


def cacert_option(settings):
    """curl's TLS option matching the provider's: a CA bundle, no verification, or nothing."""
    if isinstance(settings.verify, str):
        return f" --cacert {quoted(settings.verify)}"
    return " --insecure" if settings.verify is False else ""
