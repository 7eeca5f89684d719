"""Authenticate an AWS request (SigV4 or a Bedrock API key) and map failures to each protocol's codes."""

from __future__ import annotations

from .aws_identity import Identity, IdentityStore
from .exchange import Exchange
from .sigv4 import SigV4Error, check_scope, parse_authorization, verify

INVALID_TOKEN = "The security token included in the request is invalid."

# reason -> (HTTP status, error code) for the rest-json services (Bedrock runtime / control plane) ...
REST_JSON_CODES = {
    "missing": (403, "MissingAuthenticationTokenException"),
    "incomplete": (403, "IncompleteSignatureException"),
    "scope": (403, "InvalidSignatureException"),
    "expired": (403, "InvalidSignatureException"),
    "bad_signature": (403, "InvalidSignatureException"),
    "unknown_key": (403, "UnrecognizedClientException"),
    "expired_token": (403, "ExpiredTokenException"),
    "bearer_invalid": (403, "AccessDeniedException"),
}
# ... and for STS (query protocol), whose codes have no "Exception" suffix.
QUERY_CODES = {
    "missing": (403, "MissingAuthenticationToken"),
    "incomplete": (400, "IncompleteSignature"),
    "scope": (403, "SignatureDoesNotMatch"),
    "expired": (403, "SignatureDoesNotMatch"),
    "bad_signature": (403, "SignatureDoesNotMatch"),
    "unknown_key": (403, "InvalidClientTokenId"),
    "expired_token": (400, "ExpiredToken"),
    "bearer_invalid": (403, "InvalidClientTokenId"),
}


def authenticate(
    ex: Exchange,
    store: IdentityStore,
    *,
    service: str,
    regions: frozenset[str],
    default_region: str,
    allow_bearer: bool,
) -> tuple[Identity, str]:
    """Return (identity, region) or raise SigV4Error with a protocol-neutral reason."""
    header = ex.header("authorization")
    if not header:
        raise SigV4Error("missing", "Missing Authentication Token")
    if header[:7].lower() == "bearer ":
        identity = store.by_bearer(header[7:].strip()) if allow_bearer else None
        if identity is None:
            raise SigV4Error("bearer_invalid", "Authentication failed: Please make sure your API Key is valid.")
        return identity, default_region

    auth = parse_authorization(header)
    amz_date = ex.header("x-amz-date") or ""
    check_scope(auth, amz_date, service=service, regions=regions)
    identity = store.by_access_key(auth.access_key)
    if identity is None:
        raise SigV4Error("unknown_key", INVALID_TOKEN)
    # A session credential must come with its own token; a long-term key with none.
    if (ex.header("x-amz-security-token") or None) != identity.session_token:
        raise SigV4Error("unknown_key", INVALID_TOKEN)
    if identity.expired():
        raise SigV4Error("expired_token", "The security token included in the request is expired")
    verify(
        method=ex.method,
        raw_path=ex.raw_path,
        raw_query=ex.raw_query,
        headers=ex.headers,
        body=ex.body,
        secret=identity.secret or "",
        auth=auth,
        tls=ex.tls,
    )
    return identity, auth.region
