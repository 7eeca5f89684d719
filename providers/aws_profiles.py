"""AWS named profiles from ~/.aws/config and ~/.aws/credentials, SSO login state included.

Honours AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE (read at call time), as
botocore does. Never returns key material: only names and what kind each is.
"""
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from botocore.configloader import load_config, raw_config_parse
from botocore.exceptions import ConfigParseError


@dataclass(frozen=True)
class AwsProfile:
    name: str
    sources: tuple  # "config", "credentials"
    region: str = ""
    sso: bool = False
    sso_session: str = ""
    sso_start_url: str = ""
    role_arn: str = ""
    has_keys: bool = False

    @property
    def description(self):
        parts = []
        if self.sso:
            parts.append("SSO")
        if self.role_arn:
            parts.append("assumes a role")
        if self.has_keys:
            parts.append("access keys")
        if self.region:
            parts.append(self.region)
        return ", ".join(parts) or "settings only"

    @property
    def login_command(self):
        return f"aws sso login --profile {self.name}"


@dataclass(frozen=True)
class SsoState:
    status: str  # "valid", "expired", "missing"
    expires_at: dt.datetime | None = None


def config_paths(environ=None):
    environ = os.environ if environ is None else environ
    config = Path(os.path.expanduser(environ.get("AWS_CONFIG_FILE") or "~/.aws/config"))
    credentials = Path(os.path.expanduser(environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"))
    return config, credentials


def list_profiles(environ=None):
    """Profiles found in both files, by name; unreadable files give no profiles, not an error."""
    config_path, credentials_path = config_paths(environ)
    config = _load(load_config, config_path).get("profiles", {})
    credentials = _load(raw_config_parse, credentials_path)
    names = sorted(set(config) | set(credentials))
    profiles = []
    for name in names:
        settings = {**credentials.get(name, {}), **config.get(name, {})}
        sources = tuple(s for s, found in (("config", name in config), ("credentials", name in credentials)) if found)
        profiles.append(AwsProfile(
            name=name, sources=sources, region=settings.get("region", ""),
            sso=bool(settings.get("sso_session") or settings.get("sso_start_url")),
            sso_session=settings.get("sso_session", ""), sso_start_url=settings.get("sso_start_url", ""),
            role_arn=settings.get("role_arn", ""),
            has_keys=bool(settings.get("aws_access_key_id")),
        ))
    return profiles


def find_profile(name, environ=None):
    return next((p for p in list_profiles(environ) if p.name == name), None)


def _load(loader, path):
    if not path.is_file():
        return {}
    try:
        return loader(str(path)) or {}
    except (ConfigParseError, OSError, UnicodeDecodeError):
        return {}


def sso_state(profile, now=None):
    """Whether the cached SSO token of `profile` can still be used (botocore's cache layout)."""
    if not profile.sso:
        return None
    cache_key = profile.sso_session or profile.sso_start_url
    path = Path(os.path.expanduser("~/.aws/sso/cache")) / (hashlib.sha1(cache_key.encode()).hexdigest() + ".json")
    try:
        token = json.loads(path.read_text())
    except (OSError, ValueError):
        return SsoState("missing")
    expires = _parse_time(token.get("expiresAt"))
    now = now or dt.datetime.now(dt.UTC)
    if expires and expires > now:
        return SsoState("valid", expires)
    # An sso-session token with a refresh token and a live client registration renews itself.
    registration_expires = _parse_time(token.get("registrationExpiresAt"))
    if token.get("refreshToken") and registration_expires and registration_expires > now:
        return SsoState("valid", expires)
    return SsoState("expired", expires)


def _parse_time(value):
    if not value:
        return None
    text = str(value).replace("UTC", "+00:00").replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def sso_message(profile, state):
    if state is None or state.status == "valid":
        return ""
    if state.status == "missing":
        return (f"Profile {profile.name} uses AWS SSO and has no SSO login yet. "
                f"Run: {profile.login_command}")
    return (f"The SSO session of profile {profile.name} expired"
            f"{' at ' + state.expires_at.strftime('%Y-%m-%d %H:%M UTC') if state.expires_at else ''}. "
            f"Run: {profile.login_command}")
