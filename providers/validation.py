"""Field rules shared by the provider forms and the config.yml importer, so both accept the same values.

Each validator returns the cleaned value or raises ValueError with a plain message.
"""
import os
import re
from urllib.parse import urlparse

from cryptography import x509

from providers import secret_env
from providers.clients.base import BEDROCK_AUTH_MODES
from providers.clients.registry import provider_kinds

KINDS = provider_kinds()  # the layer registry is the one list of kinds
AUTH_MODE_LABELS = {
    "default_chain": "Default AWS credential chain",
    "profile": "Named profile (~/.aws/config)",
    "env": "Environment variables (AWS_ACCESS_KEY_ID, …)",
    "static_keys": "Access keys stored encrypted",
    "api_key": "Bedrock API key (bearer token)",
}
GEO_CHOICES = ("us", "eu", "apac", "jp", "au", "global", "us-gov")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
# AWS documents an access key ID only as 16 to 128 word characters (IAM AccessKeyIdType, pattern
# [\w]+): no prefix rule, so keys of compatible endpoints and proxies are accepted too.
_ACCESS_KEY_ID = re.compile(r"^\w{16,128}$", re.ASCII)
_MODEL_ID = re.compile(r"^[\w.:/@-]{1,300}$")
_LOGICAL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_WORKSPACE_ID = re.compile(r"^wrkspc_[A-Za-z0-9_]{1,90}$")
_BETA = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
MAX_BETA_FLAGS = 20
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
MAX_CA_BUNDLE_BYTES = 5_000_000


def changed_destination(fields, new, saved):
    """Names of the destination `fields` (name -> what a blank value means; each kind's form declares
    them) whose value in `new` differs from `saved`. A stored secret is kept only while none does."""
    return [name for name, blank in fields.items()
            if str(new.get(name) or blank) != str(saved.get(name) or blank)]


def kinds():
    return KINDS


def bedrock_regions():
    from providers.clients.catalog import bedrock_regions as regions

    return regions()


def provider_name(value, kind=None):
    value = (value or "").strip()
    if not _NAME.match(value):
        raise ValueError("Use lowercase letters, digits, - and _ (at most 50), starting with a letter or digit.")
    if value in KINDS and kind and value != kind:
        raise ValueError(f"The name {value!r} is reserved for a provider of kind {value}.")
    return value


def kind(value):
    if value not in kinds():
        raise ValueError(f"Unknown provider kind {value!r}: use one of {', '.join(kinds())}.")
    return value


def env_name(value, *, required=False):
    value = (value or "").strip()
    if not value:
        if required:
            raise ValueError("Enter the name of an environment variable.")
        return ""
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name (letters, digits and _).")
    refused = secret_env.refusal(value)
    if refused:
        raise ValueError(refused)
    return value


def url(value):
    value = (value or "").strip()
    if not value:
        return ""
    if _CONTROL.search(value):
        raise ValueError("Remove the line break or control character from the URL.")
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or " " in value:
        raise ValueError(f"{value!r} is not an http(s) URL.")
    return value.rstrip("/")


def region(value):
    value = (value or "").strip()
    if value not in bedrock_regions() and not re.match(r"^us-gov-(east|west)-1$", value):
        raise ValueError(f"{value!r} is not a region where Bedrock serves Claude.")
    return value


def auth_mode(value):
    if value not in BEDROCK_AUTH_MODES:
        raise ValueError(f"Unknown auth mode {value!r}: use one of {', '.join(BEDROCK_AUTH_MODES)}.")
    return value


def role_arn(value):
    value = (value or "").strip()
    if value and not _ROLE_ARN.match(value):
        raise ValueError("A role ARN looks like arn:aws:iam::123456789012:role/name.")
    return value


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_GUARDRAIL_ID = re.compile(r"^(([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))$")
_GUARDRAIL_VERSION = re.compile(r"^(([1-9][0-9]{0,7})|(DRAFT))$")
GUARDRAIL_STREAM_MODES = ("sync", "async")


def s3_bucket(value):
    value = (value or "").strip()
    if value.startswith("s3://"):
        raise ValueError("Give the bucket name alone (no s3://); put the folder in the prefix.")
    if value and not _BUCKET.match(value):
        raise ValueError(f"{value!r} is not an S3 bucket name (3 to 63 lowercase letters, digits, dots, hyphens).")
    return value


def s3_prefix(value):
    value = (value or "").strip().strip("/")
    if _CONTROL.search(value) or " " in value:
        raise ValueError("An S3 prefix has no spaces or control characters.")
    return value


def guardrail_identifier(value):
    value = (value or "").strip()
    if value and not _GUARDRAIL_ID.match(value):
        raise ValueError("A guardrail identifier is its ID (lowercase letters and digits) or its ARN "
                         "(arn:aws:bedrock:REGION:ACCOUNT:guardrail/ID).")
    return value


def guardrail_version(value):
    value = (value or "").strip()
    if value and not _GUARDRAIL_VERSION.match(value):
        raise ValueError("A guardrail version is a number (1, 2, ...) or DRAFT.")
    return value


def guardrail_stream_mode(value):
    value = (value or "").strip() or "sync"
    if value not in GUARDRAIL_STREAM_MODES:
        raise ValueError("The stream processing mode is sync or async.")
    return value


def role_session_name(value):
    value = (value or "").strip() or "moments-admin"
    if not _SESSION_NAME.match(value):
        raise ValueError("A session name has 2 to 64 letters, digits or +=,.@- characters.")
    return value


def role_duration(value):
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        raise ValueError("Enter a whole number of seconds.") from None
    if not 900 <= number <= 43200:
        raise ValueError("AWS allows 900 to 43200 seconds (15 minutes to 12 hours).")
    return number


def access_key_id(value):
    value = (value or "").strip()
    if value and not _ACCESS_KEY_ID.match(value):
        raise ValueError("An access key ID has 16 to 128 letters, digits or underscores, with no spaces "
                         "(e.g. AKIAIOSFODNN7EXAMPLE).")
    return value


def model_id(value):
    value = (value or "").strip()
    if value and not _MODEL_ID.match(value):
        raise ValueError(f"{value!r} is not a model ID, inference profile ID or ARN.")
    return value


def logical_name(value):
    if not isinstance(value, str) or not _LOGICAL.match(value):
        raise ValueError(f"{value!r} is not a logical model name (lowercase letters, digits, - and _).")
    return value


def geo(value):
    value = (value or "").strip()
    if value and value not in GEO_CHOICES:
        raise ValueError(f"Unknown geography {value!r}: use one of {', '.join(GEO_CHOICES)}.")
    return value


def ca_bundle(value):
    """A readable PEM file of CA certificates (nothing else: it is read by the server and trusted)."""
    value = (value or "").strip()
    if not value:
        return ""
    if _CONTROL.search(value):
        raise ValueError("Remove the line break or control character from the path.")
    if not os.path.isfile(value):
        raise ValueError(f"No CA bundle file at {value}.")
    try:
        if os.path.getsize(value) > MAX_CA_BUNDLE_BYTES:
            raise ValueError(f"{value} is larger than {MAX_CA_BUNDLE_BYTES // 1_000_000} MB: not a CA bundle.")
        with open(value, "rb") as handle:
            data = handle.read(MAX_CA_BUNDLE_BYTES + 1)
    except OSError:
        raise ValueError(f"The CA bundle {value} cannot be read by the server.") from None
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ValueError(f"{value} is not a PEM file of certificates (-----BEGIN CERTIFICATE----- blocks).") from None
    return value


def timeout(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("Enter a number of seconds.") from None
    if not 1 <= number <= 600:
        raise ValueError("Use 1 to 600 seconds.")
    return number


def workspace_id(value):
    value = (value or "").strip()
    if value and not _WORKSPACE_ID.match(value):
        raise ValueError("A workspace ID looks like wrkspc_01AbCd… (copy it from the workspace in the Claude Console).")
    return value


def beta_flags(value):
    """A list of Anthropic beta flag names, from a list or text separated by commas or whitespace."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list | tuple) or not all(isinstance(flag, str) for flag in value):
        raise ValueError("Give beta flags as a list of names such as context-1m-2025-08-07.")
    flags = list(dict.fromkeys(flag.strip() for flag in value if flag.strip()))
    if len(flags) > MAX_BETA_FLAGS:
        raise ValueError(f"At most {MAX_BETA_FLAGS} beta flags.")
    for flag in flags:
        if not _BETA.match(flag):
            raise ValueError(f"{flag[:100]!r} is not a beta flag name (lowercase letters, digits, ., _ and -).")
    return flags


def prompt_caching_ttl(value):
    """The prompt cache lifetime: 5m or 1h; blank follows the PROMPT_CACHING_TTL setting."""
    value = (value or "").strip()
    if value and value not in ("5m", "1h"):
        raise ValueError(f"Unknown prompt cache lifetime {value!r}: use 5m or 1h (or leave it out for the default).")
    return value
