"""Test connection: five checks run one at a time (each an htmx request), on saved or unsaved values.

credentials -> permissions -> models -> live -> streaming. Each returns a
StepResult: plain summary, time taken, the form fields at fault, raw details, and
the failing request as curl with secrets replaced by placeholders. Nothing here
shows or logs a secret: every text passes through `scrub`.
"""
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass, field

from django.template.defaultfilters import pluralize

from providers import tls_diagnosis
from providers.aws_profiles import config_paths, find_profile, list_profiles, sso_message, sso_state
from providers.call_records import CallContext
from providers.calls import invoke
from providers.client_pool import client_for
from providers.clients.catalog import load_catalog
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.registry import kind_info
from providers.clients.resolution import resolve
from providers.curl import PING
from providers.kinds import plugin_for

logger = logging.getLogger("providers.test_connection")
TEST_CONTEXT = CallContext(purpose="test")

STEPS = ("credentials", "permissions", "models", "live", "streaming")
STEP_LABELS = {
    "credentials": "Credentials resolve",
    "permissions": "Permissions",
    "models": "Models available",
    "live": "One-token live request",
    "streaming": "Streaming request",
}


@dataclass
class StepResult:
    step: str
    ok: bool
    summary: str
    elapsed_ms: float = 0.0
    lines: list = field(default_factory=list)  # further plain facts, one per line
    fields: list = field(default_factory=list)  # [field name, message] for the form
    raw: dict | None = None  # the provider error, scrubbed
    curl: str = ""
    policy: str = ""  # IAM policy JSON that grants what was denied

    @property
    def label(self):
        return STEP_LABELS[self.step]

    def as_dict(self):
        return asdict(self)


def new_run_id():
    return uuid.uuid4().hex


def next_step(step):
    index = STEPS.index(step)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None


def scrub(value, secrets):
    """`value` (text, list or dict) with every secret replaced by a placeholder."""
    if isinstance(value, str):
        for secret in secrets:
            if secret and len(secret) >= 4:
                value = value.replace(secret, "[redacted]")
        return value
    if isinstance(value, dict):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, secrets) for v in value]
    return value


def _where(settings):
    return f" in {settings.aws_region}" if kind_info(settings.kind).regional else ""


def covers(settings):
    where = _where(settings)
    return (f"credentials, permissions for each mapped model, model access{where}, "
            "one live request (1 output token) and one streaming request with time to first token")


def run_step(step, resolved):
    """Run one check on `resolved` (providers.resolve.ResolvedProvider). Never raises."""
    started = time.monotonic()
    settings = resolved.settings
    try:
        result = _STEP_FUNCTIONS[step](resolved)
    except ProviderError as error:
        result = _failure(step, error, resolved)
    except Exception as exc:  # a bug or an unmapped SDK error must still end in a readable step
        logger.error("test connection %s step %s: unexpected %s: %s", settings.name or "(unsaved)", step,
                     type(exc).__name__, scrub(str(exc), resolved.secrets))
        result = StepResult(step, False, f"Unexpected error ({type(exc).__name__}). See the details.",
                            raw={"error": type(exc).__name__, "message": str(exc)[:2000]},
                            curl=plugin_for(settings.kind).curl(step, settings))
    result.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    result = _scrubbed(result, resolved.secrets)
    logger.info("test connection %s (%s) step %s %s in %.0f ms: %s", settings.name or "(unsaved)", settings.kind,
                step, "passed" if result.ok else "failed", result.elapsed_ms, result.summary)
    return result


def _scrubbed(result, secrets):
    return StepResult(**scrub(result.as_dict(), secrets) | {"elapsed_ms": result.elapsed_ms, "ok": result.ok})


def _client(resolved):
    return client_for(resolved.settings)


# --- the five steps ------------------------------------------------------------------------------

def _credentials(resolved):
    settings = resolved.settings
    if resolved.problems:
        field_name, message = resolved.problems[0]
        return StepResult("credentials", False, message, fields=[[f, m] for f, m in resolved.problems])
    if settings.auth_mode == "profile":
        profile = find_profile(settings.aws_profile)
        if profile is None:
            found = ", ".join(p.name for p in list_profiles()) or "none"
            paths = " and ".join(str(p) for p in config_paths())
            message = f"No profile named {settings.aws_profile} in {paths} (profiles found: {found})."
            return StepResult("credentials", False, message, fields=[["aws_profile", message]])
        message = sso_message(profile, sso_state(profile))
        if message:
            return StepResult("credentials", False, message, fields=[["aws_profile", message]],
                              lines=[f"Then run the test again. Command: {profile.login_command}"])
    identity = _client(resolved).identity()
    plugin = plugin_for(settings.kind)
    key_source = resolved.sources.get(plugin.key_source_field, "")
    # Nothing of an env var's value is shown, not even in part: say which variable instead.
    shown = key_source.split(" (")[0] if key_source.startswith("env") else (identity.key_hint or "")
    summary = plugin.credentials_summary(identity, shown)
    lines = [f"Auth mode: {identity.auth_mode}"] if identity.auth_mode else []
    if identity.note:
        lines.append(identity.note)
    if identity.expires_at:
        lines.append(f"Credentials expire at {identity.expires_at}; they are refreshed before then.")
    for name, source in resolved.sources.items():
        lines.append(f"{name}: {source}")
    fields = [["sts_endpoint_url", identity.note]] if identity.note else []  # passed, but STS needs a look
    return StepResult("credentials", True, summary, lines=lines, fields=fields)


def mapped_models(resolved, client=None):
    """[(logical, Resolution or ProviderError)] for every logical model of this provider: through
    `client` (live availability and custom profile lookups, as calls resolve) or the catalog alone."""
    s = resolved.settings
    names = list(dict.fromkeys([*load_catalog().logical_names(), *s.model_mapping]))
    out = []
    for logical in names:
        try:
            out.append((logical, client.resolution(logical) if client is not None else resolve(s, logical)))
        except ProviderError as error:
            out.append((logical, error))
    return out


def _permissions(resolved):
    settings = resolved.settings
    client = _client(resolved)
    # Models the provider does not serve here are the next step's finding, not a permission problem.
    models = {r.model_id: logical for logical, r in mapped_models(resolved, client)
              if not isinstance(r, ProviderError) and r.available is not False}
    checks = client.check_permissions(list(models))
    lines = [f"{'allowed' if c.allowed else 'DENIED'}: {c.action} on {c.resource}" for c in checks]
    denied = [c for c in checks if not c.allowed]
    if not denied:
        return StepResult("permissions", True, f"{len(checks)} check{pluralize(len(checks))} allowed", lines=lines)
    actions = sorted({c.action for c in denied})
    resources = sorted({c.resource for c in denied})
    summary = f"Missing permission {', '.join(actions)} on {', '.join(resources)}."
    policy = ""
    fields = [["permissions", summary]]
    # The policy covers everything the provider uses (every mapped model's integration actions, batch when
    # set up), not only what was denied: granting it once must not lead to the next denial.
    iam = plugin_for(settings.kind).iam_policy(sorted({c.action for c in checks}), list(models), settings)
    if iam is not None:
        policy = json.dumps(iam, indent=2)
        # The summary is also shown on the provider list, where no policy is: it names none.
        summary += " Grant it to the identity in use."
        lines.append(f"Denied: {', '.join(actions)}. The IAM policy shown with this step grants them and "
                     "everything else this provider uses.")
        fields.append(["role_arn" if settings.role_arn else "auth_mode", summary])
    first = denied[0]
    return StepResult("permissions", False, summary, lines=lines, fields=fields, policy=policy,
                      raw={"action": first.action, "resource": first.resource, "message": first.message},
                      curl=plugin_for(settings.kind).curl("permissions", settings, first.resource if first.resource != "*" else None))


def _models(resolved):
    settings = resolved.settings
    lines, fields = [], []
    for logical, resolution in mapped_models(resolved, _client(resolved)):
        if isinstance(resolution, ProviderError):
            message = f"{logical}: {resolution.message} {resolution.hint or ''}".strip()
            fields.append([f"map_{logical}", message])
            lines.append(message)
            continue
        if resolution.available is False:
            where = _where(settings)
            message = f"{logical}: {resolution.model_id} is not available{where}. {resolution.note}".strip()
            fields.append([f"map_{logical}", message])
            lines.append(message)
            continue
        note = " ".join(x for x in (resolution.note if resolution.fallback_used else "",
                                    resolution.lifecycle_message) if x)
        lines.append(f"{logical} → {resolution.model_id} ({resolution.scope}){' — ' + note if note else ''}")
    if fields:
        if kind_info(settings.kind).regional:
            fields.append(["aws_region", f"Not every mapped model is served in {settings.aws_region}."])
        return StepResult("models", False, fields[0][1], lines=lines, fields=fields)
    return StepResult("models", True, f"{len(lines)} model{pluralize(len(lines))} available", lines=lines)


def _test_model(resolved):
    names = [logical for logical, r in mapped_models(resolved) if not isinstance(r, ProviderError)]
    return "haiku" if "haiku" in names else (names[0] if names else "haiku")


def _live(resolved):
    model = _test_model(resolved)
    result = invoke([resolved.settings], {"model": model, **PING}, TEST_CONTEXT)
    usage = result.usage
    return StepResult("live", True, f"{model} → {result.model_id} answered in {result.latency_ms:.0f} ms",
                      lines=[f"Tokens: {usage.total_input_tokens} in, {usage.output_tokens} out",
                             f"Request ID: {result.request_id or 'none'}"])


def _streaming(resolved):
    model = _test_model(resolved)
    stream = invoke([resolved.settings], {"model": model, **PING}, TEST_CONTEXT, stream=True)
    events = 0
    try:
        for _event in stream:
            events += 1
    finally:
        stream.close()
    ttft = stream.ttft_ms
    summary = f"First token after {ttft:.0f} ms" if ttft is not None else "Stream finished without a token"
    return StepResult("streaming", events > 0, f"{summary} ({events} event{'' if events == 1 else 's'} from {stream.model_id or model})",
                      lines=[f"Request ID: {stream.request_id or 'none'}"])


_STEP_FUNCTIONS = {"credentials": _credentials, "permissions": _permissions, "models": _models,
                   "live": _live, "streaming": _streaming}


# --- failures: the field at fault, raw details, curl -----------------------------------------------

def _failure(step, error, resolved):
    settings = resolved.settings
    message = error.message
    hint = error.hint or error.what_to_do
    summary = f"{message} {hint}".strip() if hint and hint not in message else message
    curl = plugin_for(settings.kind).curl(step, settings)
    if error.kind is ErrorKind.CONNECTION and tls_diagnosis.is_certificate_error(error):
        summary = f"{tls_diagnosis.explain(tls_diagnosis.first_https_url(curl), resolved.config.ca_bundle)} " \
                  f"({message})"
        fields = [["ca_bundle", summary]] + [[name, summary] for name in fields_at_fault(step, error, resolved)]
    else:
        fields = [[name, summary] for name in fields_at_fault(step, error, resolved)]
    policy = ""
    if error.kind is ErrorKind.PERMISSION and settings.role_arn and error.missing_action == "sts:AssumeRole":
        # The base identity may not assume the role: its policy must allow that, and the role's
        # trust policy must name the base identity. Bedrock model ARNs have nothing to do with it.
        policy = json.dumps(assume_role_policy(settings.role_arn), indent=2)
        summary += (" Also check the role's trust policy: it must allow the base identity to assume it"
                    + (" with this external ID." if settings.external_id else "."))
    elif error.kind is ErrorKind.PERMISSION and error.missing_action:
        models = [r.model_id for _, r in mapped_models(resolved) if not isinstance(r, ProviderError)]
        iam = plugin_for(settings.kind).iam_policy([error.missing_action], models, settings)
        policy = json.dumps(iam, indent=2) if iam is not None else ""
    raw = error.as_dict() | {"raw_message": error.raw_message}
    model_id = None
    if step in ("live", "streaming"):
        try:
            model_id = dict((k, v) for k, v in mapped_models(resolved)).get(_test_model(resolved)).model_id
        except AttributeError:
            model_id = None
    return StepResult(step, False, summary, fields=fields, raw=raw, policy=policy,
                      curl=plugin_for(settings.kind).curl(step, settings, model_id))


def assume_role_policy(role_arn):
    """The identity policy the base credentials need to assume `role_arn`."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AssumeBedrockRole", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": role_arn or "*"}]}


def fields_at_fault(step, error, resolved):
    settings = resolved.settings
    plugin = plugin_for(settings.kind)
    kind = error.kind
    if kind in (ErrorKind.CONNECTION, ErrorKind.TIMEOUT):
        return plugin.connection_fields(step, settings)
    if kind is ErrorKind.MODEL_NOT_AVAILABLE:
        return plugin.model_fields(f"map_{_test_model(resolved)}")  # the model the failing step asked for
    if kind is ErrorKind.PERMISSION:
        return plugin.permission_fields(error, resolved)
    if kind in (ErrorKind.AUTHENTICATION, ErrorKind.CONFIGURATION):
        return plugin.credential_fields(error, resolved)
    if step == "credentials":  # an answer that is no verdict on the credentials: the wrong endpoint answered
        return plugin.connection_fields(step, settings)
    return []
