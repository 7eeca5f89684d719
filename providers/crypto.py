"""Secrets at rest: Fernet tokens under the keys in settings.FIELD_ENCRYPTION_KEYS.

The first key encrypts; every key decrypts (MultiFernet), so a key is rotated by
putting a new one in front, re-encrypting (manage.py reencrypt_secrets), then
dropping the old one. See docs/providers/secrets.md.
"""
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored token that none of the configured keys can decrypt."""


def _fernet():
    keys = list(getattr(settings, "FIELD_ENCRYPTION_KEYS", []) or [])
    if not keys:
        raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEY to a Fernet key to store secrets.")
    try:
        return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes), comma separated."
        ) from None


def encrypt(plaintext):
    """A token for `plaintext`; an empty string stays empty (no secret stored)."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token):
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with the configured FIELD_ENCRYPTION_KEY. "
            "Add the key it was encrypted with to the list, or enter the secret again."
        ) from None


def rotate(token):
    """The same secret encrypted under the first key (None if unreadable)."""
    if not token:
        return token
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        return None


def hint(plaintext):
    """What may be shown of a secret: its last four characters, and only when long enough."""
    if not plaintext:
        return ""
    return f"…{plaintext[-4:]}" if len(plaintext) >= 16 else ""


def token_hint(token):
    """`hint` of a stored token, or "" when it cannot be read."""
    try:
        return hint(decrypt(token))
    except (SecretUnreadable, ImproperlyConfigured):
        return ""
