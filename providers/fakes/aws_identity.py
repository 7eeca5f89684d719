"""Who is calling the fake AWS endpoints: static keys, STS session credentials, Bedrock API keys.

Also answers "may this identity perform that action?" from the ``denied_actions`` setting.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_UPPER = string.ascii_uppercase + string.digits


def _stable_id(prefix: str, seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return prefix + "".join(_UPPER[b % len(_UPPER)] for b in digest[:17])


@dataclass
class Identity:
    kind: str  # "user" | "assumed_role" | "bearer"
    key: str  # access key id or bearer token: what denied_actions may be keyed by
    arn: str
    user_id: str
    account: str
    secret: str | None = None
    session_token: str | None = None
    expires_at: float | None = None  # epoch seconds; None = never
    role_arn: str | None = None

    def expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at


class IdentityStore:
    def __init__(
        self,
        credentials: Mapping[str, str | tuple[str, str]],
        bearer_tokens: Iterable[str],
        account_id: str,
        denied_actions: Iterable[str] | Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.account_id = account_id
        self._lock = threading.Lock()
        self._keys: dict[str, Identity] = {}
        for akid, value in credentials.items():
            secret, token = (value, None) if isinstance(value, str) else value
            self._keys[akid] = Identity(
                "user",
                akid,
                f"arn:aws:iam::{account_id}:user/fake",
                _stable_id("AIDA", akid),
                account_id,
                secret=secret,
                session_token=token,
            )
        self._bearer = {
            t: Identity(
                "bearer", t, f"arn:aws:iam::{account_id}:user/BedrockAPIKey-fake", _stable_id("AIDA", t), account_id
            )
            for t in bearer_tokens
        }
        if denied_actions is None:
            self._denied_all: frozenset[str] = frozenset()
            self._denied_by: dict[str, frozenset[str]] = {}
        elif isinstance(denied_actions, Mapping):
            self._denied_all = frozenset()
            self._denied_by = {k: frozenset(v) for k, v in denied_actions.items()}
        else:
            self._denied_all = frozenset(denied_actions)
            self._denied_by = {}

    def by_access_key(self, akid: str) -> Identity | None:
        with self._lock:
            return self._keys.get(akid)

    def by_bearer(self, token: str) -> Identity | None:
        return self._bearer.get(token)

    def register_session(self, role_arn: str, session_name: str, duration: int) -> Identity:
        """Mint temporary ASIA... credentials the server will accept until they expire."""
        akid = "ASIA" + "".join(secrets.choice(_UPPER) for _ in range(16))
        role_name = role_arn.rsplit("/", 1)[-1]
        identity = Identity(
            "assumed_role",
            akid,
            f"arn:aws:sts::{self.account_id}:assumed-role/{role_name}/{session_name}",
            f"{_stable_id('AROA', role_arn)}:{session_name}",
            self.account_id,
            secret=secrets.token_urlsafe(30)[:40],
            session_token="FwoGZXIvYXdzE" + secrets.token_urlsafe(180),
            expires_at=time.time() + duration,
            role_arn=role_arn,
        )
        with self._lock:
            self._keys[akid] = identity
        return identity

    def is_denied(self, identity: Identity, action: str) -> bool:
        if action in self._denied_all:
            return True
        for key in (identity.key, identity.role_arn):
            if key is not None and action in self._denied_by.get(key, ()):
                return True
        return False
