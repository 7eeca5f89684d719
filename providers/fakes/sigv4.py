"""Server-side AWS Signature Version 4 verification, written from the spec (not by re-signing).

The canonical request is rebuilt from what arrived on the wire: method, the raw path
(URI-encoded once more, as every AWS service except S3 expects), the sorted query, the
headers listed in SignedHeaders, and the payload hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_SKEW = dt.timedelta(minutes=5)


class SigV4Error(Exception):
    """``reason`` is protocol-neutral; each fake maps it to its own error code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass
class Authorization:
    access_key: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


_PARAM = re.compile(r"(\w+)=([^,\s]*)")


def parse_authorization(value: str) -> Authorization:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SigV4Error("incomplete", f"Unsupported authorization type: {algorithm}")
    params = dict(_PARAM.findall(rest))
    missing = [p for p in ("Credential", "SignedHeaders", "Signature") if p not in params]
    if missing:
        raise SigV4Error(
            "incomplete",
            " ".join(f"Authorization header requires '{p}' parameter." for p in missing)
            + f" Authorization={value.split(' ')[0]}",
        )
    parts = params["Credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SigV4Error("incomplete", f"Credential should be scoped to a valid region. {params['Credential']}")
    return Authorization(
        parts[0], parts[1], parts[2], parts[3], params["SignedHeaders"].split(";"), params["Signature"]
    )


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4 plus collapsing empty segments, as AWS normalizes before signing.
    out: list[str] = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
        else:
            out.append(seg)
    result = "/" + "/".join(out)
    if path.endswith("/") and out:
        result += "/"
    return result


def canonical_query(raw_query: str) -> str:
    pairs = []
    for item in raw_query.split("&") if raw_query else []:
        key, _, value = item.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_request(
    method: str, raw_path: str, raw_query: str, headers: Message, signed_headers: list[str], payload_hash: str
) -> str:
    lines = []
    for name in signed_headers:
        values = headers.get_all(name) or []
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}")
    return "\n".join(
        [
            method.upper(),
            quote(_remove_dot_segments(raw_path or "/"), safe="/~"),
            canonical_query(raw_query),
            "\n".join(lines) + "\n",
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def signature(secret: str, amz_date: str, auth: Authorization, creq: str) -> str:
    string_to_sign = "\n".join([ALGORITHM, amz_date, auth.scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (auth.date, auth.region, auth.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def check_scope(
    auth: Authorization,
    amz_date: str,
    *,
    service: str,
    regions: set[str] | frozenset[str],
    now: Callable[[], dt.datetime] | None = None,
) -> None:
    """Scope and freshness checks that AWS applies before comparing signatures."""
    if auth.service != service:
        raise SigV4Error("scope", f"Credential should be scoped to correct service: '{service}'. ")
    if auth.region not in regions:
        raise SigV4Error("scope", "Credential should be scoped to a valid region. ")
    if not amz_date.startswith(auth.date):
        raise SigV4Error(
            "scope",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{auth.date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    try:
        signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise SigV4Error("incomplete", f"Invalid X-Amz-Date: {amz_date}") from None
    current = (now or (lambda: dt.datetime.now(dt.UTC)))()
    fmt = "%Y%m%dT%H%M%SZ"
    if signed_at < current - MAX_SKEW:
        raise SigV4Error(
            "expired",
            f"Signature expired: {amz_date} is now earlier than "
            f"{(current - MAX_SKEW).strftime(fmt)} ({current.strftime(fmt)} - 5 min.)",
        )
    if signed_at > current + MAX_SKEW:
        raise SigV4Error(
            "expired",
            f"Signature not yet current: {amz_date} is still later than "
            f"{(current + MAX_SKEW).strftime(fmt)} ({current.strftime(fmt)} + 5 min.)",
        )


def verify(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Message,
    body: bytes,
    secret: str,
    auth: Authorization,
    tls: bool,
) -> None:
    amz_date = headers.get("x-amz-date") or ""
    if "host" not in auth.signed_headers:
        raise SigV4Error("bad_signature", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    body_hash = hashlib.sha256(body).hexdigest()
    declared = headers.get("x-amz-content-sha256")
    if declared and declared not in (body_hash, UNSIGNED_PAYLOAD):
        raise SigV4Error(
            "bad_signature", "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    # Clients may skip payload signing over TLS; then the literal UNSIGNED-PAYLOAD is what was signed.
    candidates = [declared] if declared else [body_hash] + ([UNSIGNED_PAYLOAD] if tls else [])
    for payload_hash in candidates:
        creq = canonical_request(method, raw_path, raw_query, headers, auth.signed_headers, payload_hash)
        if hmac.compare_digest(signature(secret, amz_date, auth, creq), auth.signature):
            return
    raise SigV4Error(
        "bad_signature",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details.",
    )
