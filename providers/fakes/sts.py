"""STS on the fake Bedrock port (query protocol: form-encoded POST in, XML out).

GetCallerIdentity and AssumeRole; assumed credentials are registered so the server accepts them.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from .aws_auth import QUERY_CODES, authenticate
from .sigv4 import SigV4Error

if TYPE_CHECKING:
    from .aws_identity import Identity
    from .bedrock_fake import FakeBedrock
    from .exchange import Exchange

NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role/(?:[\w+=,.@/-]+/)?([\w+=,.@-]{1,64})$")
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_ROLE_CHAINING_MAX = 3600

_FAULTS = {  # fault kind -> (status, code, message) in STS terms
    "rate_limit": (400, "Throttling", "Rate exceeded"),
    "throttling": (400, "Throttling", "Rate exceeded"),
    "server_error": (500, "InternalFailure", "An internal error occurred."),
    "overloaded": (503, "ServiceUnavailable", "Service is unable to handle request."),
    "unavailable": (503, "ServiceUnavailable", "Service is unable to handle request."),
    "service_unavailable_400": (400, "ServiceUnavailable", "Service is unable to handle request."),
}


class StsError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _xml(ex: Exchange, status: int, body: str) -> None:
    ex.send(status, body.encode(), "text/xml", {"x-amzn-RequestId": ex.request_id})


def _error(ex: Exchange, err: StsError) -> None:
    kind = "Receiver" if err.status >= 500 else "Sender"
    _xml(
        ex,
        err.status,
        f'<ErrorResponse xmlns="{NS}"><Error><Type>{kind}</Type><Code>{escape(err.code)}</Code>'
        f"<Message>{escape(err.message)}</Message></Error><RequestId>{ex.request_id}</RequestId></ErrorResponse>",
    )


def _result(ex: Exchange, action: str, inner: str) -> None:
    _xml(
        ex,
        200,
        f'<{action}Response xmlns="{NS}"><{action}Result>{inner}</{action}Result>'
        f"<ResponseMetadata><RequestId>{ex.request_id}</RequestId></ResponseMetadata></{action}Response>",
    )


def _tag(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>"


def handle(fake: FakeBedrock, ex: Exchange) -> None:
    form = ex.form or {}
    action = form.get("Action", "")
    try:
        try:
            identity, _ = authenticate(
                ex,
                fake.identities,
                service="sts",
                regions=fake.catalog.regions,
                default_region=fake.region,
                allow_bearer=False,
            )
        except SigV4Error as err:
            status, code = QUERY_CODES[err.reason]
            raise StsError(status, code, err.message) from None
        fault = fake.take_fault(ex.raw_path or "/", False)
        if fault is not None:
            if fault.kind == "reset":
                ex.abort()
            if fault.kind == "slow":
                time.sleep(fault.sleep_seconds)
            elif fault.kind in _FAULTS:
                raise StsError(*_FAULTS[fault.kind])
            elif fault.kind == "access_denied":
                raise StsError(403, "AccessDenied", f"User: {identity.arn} is not authorized to perform: sts:{action}")
        if action == "GetCallerIdentity":
            return _result(
                ex,
                action,
                _tag("Arn", identity.arn) + _tag("UserId", identity.user_id) + _tag("Account", identity.account),
            )
        if action == "AssumeRole":
            return _assume_role(fake, ex, identity, form)
        raise StsError(400, "InvalidAction", f"Could not find operation {action} for version {form.get('Version')}")
    except StsError as err:
        _error(ex, err)


def _role_allowed(fake: FakeBedrock, role_arn: str, external_id: str | None) -> bool:
    roles = fake.allowed_roles
    required = fake.external_id
    if isinstance(roles, Mapping):
        if role_arn not in roles:
            return False
        required = roles[role_arn] if roles[role_arn] is not None else required
    elif roles is not None and role_arn not in set(roles):
        return False
    return required is None or external_id == required


def _assume_role(fake: FakeBedrock, ex: Exchange, caller: Identity, form: dict[str, str]) -> None:
    role_arn, session = form.get("RoleArn", ""), form.get("RoleSessionName", "")
    if not role_arn or not session:
        missing = "roleArn" if not role_arn else "roleSessionName"
        raise StsError(
            400,
            "ValidationError",
            f"1 validation error detected: Value null at '{missing}' failed to "
            "satisfy constraint: Member must not be null",
        )
    match = _ROLE_ARN.match(role_arn)
    if match is None:
        raise StsError(400, "ValidationError", f"{role_arn} is invalid")
    if not _SESSION_NAME.match(session):
        raise StsError(
            400,
            "ValidationError",
            f"1 validation error detected: Value '{session}' at 'roleSessionName' "
            "failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        )
    try:
        duration = int(form.get("DurationSeconds", "3600"))
    except ValueError:
        raise StsError(400, "ValidationError", "DurationSeconds must be an integer") from None
    if not 900 <= duration <= 43200:
        bound = "greater than or equal to 900" if duration < 900 else "less than or equal to 43200"
        raise StsError(
            400,
            "ValidationError",
            f"1 validation error detected: Value '{duration}' at "
            f"'durationSeconds' failed to satisfy constraint: Member must have value {bound}",
        )
    if caller.kind == "assumed_role" and duration > _ROLE_CHAINING_MAX:
        raise StsError(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        )
    if not _role_allowed(fake, role_arn, form.get("ExternalId")):
        raise StsError(
            403,
            "AccessDenied",
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        )

    creds = fake.identities.register_session(role_arn, session, duration)
    expiration = dt.datetime.fromtimestamp(creds.expires_at or time.time(), dt.UTC)
    inner = (
        "<Credentials>"
        + _tag("AccessKeyId", creds.key)
        + _tag("SecretAccessKey", creds.secret)
        + _tag("SessionToken", creds.session_token)
        + _tag("Expiration", expiration.strftime("%Y-%m-%dT%H:%M:%SZ"))
        + "</Credentials>"
        + "<AssumedRoleUser>"
        + _tag("AssumedRoleId", creds.user_id)
        + _tag("Arn", creds.arn)
        + "</AssumedRoleUser>"
    )
    _result(ex, "AssumeRole", inner)
