"""Environment variables that steer provider selection, read at call time.

Strict: a value that cannot be parsed raises EnvironmentError_ naming the
variable, never a silent default. Each read value keeps its variable name so the
UI can say where an effective value came from.
"""
import os
import re
from dataclasses import dataclass, field

from providers import secret_env

MOMENTS_ENVS = ("development", "staging", "production")
# What each environment prefers when the configuration names no primary.
PREFERRED_KIND = {"development": "anthropic", "staging": "bedrock", "production": "bedrock"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
VARIABLES = ("MOMENTS_ENV", "MOMENTS_PROVIDER_OVERRIDE", "CLAUDE_CODE_USE_BEDROCK", "AWS_REGION",
             "CLAUDE_CODE_MAX_OUTPUT_TOKENS", "MAX_THINKING_TOKENS", "NEXT_PUBLIC_ANTHROPIC_API_KEY")


class EnvironmentError_(ValueError):
    def __init__(self, variable, message):
        super().__init__(message)
        self.variable = variable
        self.message = message


@dataclass(frozen=True)
class Environment:
    moments_env: str = "development"
    moments_env_from_env: bool = False
    provider_override: str | None = None
    use_bedrock: bool | None = None
    aws_region: str | None = None
    max_output_tokens: int | None = None
    max_thinking_tokens: int | None = None
    legacy_anthropic_key: str | None = None  # NEXT_PUBLIC_ANTHROPIC_API_KEY, never shown
    set_variables: tuple = field(default_factory=tuple)  # names present in os.environ

    def describe(self):
        """(variable, shown value, effect) rows for the UI; secrets shown as set/unset only."""
        rows = [
            ("MOMENTS_ENV", self.moments_env if self.moments_env_from_env else f"{self.moments_env} (default)",
             f"prefers {PREFERRED_KIND[self.moments_env]} when no primary is configured for this environment"),
            ("MOMENTS_PROVIDER_OVERRIDE", self.provider_override or "", "forces this provider as primary"),
            ("CLAUDE_CODE_USE_BEDROCK", "" if self.use_bedrock is None else ("1" if self.use_bedrock else "0"),
             "1 selects a Bedrock provider as primary"),
            ("AWS_REGION", self.aws_region or "", "region of Bedrock providers whose configuration names none"),
            ("CLAUDE_CODE_MAX_OUTPUT_TOKENS", self.max_output_tokens or "", "caps max_tokens of every request"),
            ("MAX_THINKING_TOKENS", self.max_thinking_tokens or "", "caps the thinking budget of every request"),
            ("NEXT_PUBLIC_ANTHROPIC_API_KEY", "set" if self.legacy_anthropic_key else "",
             "Anthropic key when the configured key variable is unset (legacy name)"),
        ]
        return [(name, value, effect, name in self.set_variables) for name, value, effect in rows]


def _get(environ, name):
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _bool(environ, name):
    value = _get(environ, name)
    if value is None:
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise EnvironmentError_(name, f"{name} must be 1 or 0 (true/false), not {value!r}.")


def _positive_int(environ, name):
    value = _get(environ, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise EnvironmentError_(name, f"{name} must be a whole number of tokens, not {value!r}.") from None
    if number < 1:
        raise EnvironmentError_(name, f"{name} must be at least 1, not {number}.")
    return number


def read_environment(environ=None):
    """The selection variables from `environ` (os.environ by default), parsed strictly."""
    environ = os.environ if environ is None else environ
    moments_env = _get(environ, "MOMENTS_ENV")
    if moments_env is not None and moments_env not in MOMENTS_ENVS:
        raise EnvironmentError_("MOMENTS_ENV", f"MOMENTS_ENV must be one of {', '.join(MOMENTS_ENVS)}, "
                                               f"not {moments_env!r}.")
    region = _get(environ, "AWS_REGION")
    if region is not None and not _REGION.match(region):
        raise EnvironmentError_("AWS_REGION", f"AWS_REGION must be a region code such as us-east-1, not {region!r}.")
    override = _get(environ, "MOMENTS_PROVIDER_OVERRIDE")
    if override is not None and not re.match(r"^[-a-zA-Z0-9_]+$", override):
        raise EnvironmentError_("MOMENTS_PROVIDER_OVERRIDE",
                                f"MOMENTS_PROVIDER_OVERRIDE must be a provider name or kind, not {override!r}.")
    return Environment(
        moments_env=moments_env or "development",
        moments_env_from_env=moments_env is not None,
        provider_override=override,
        use_bedrock=_bool(environ, "CLAUDE_CODE_USE_BEDROCK"),
        aws_region=region,
        max_output_tokens=_positive_int(environ, "CLAUDE_CODE_MAX_OUTPUT_TOKENS"),
        max_thinking_tokens=_positive_int(environ, "MAX_THINKING_TOKENS"),
        legacy_anthropic_key=_get(environ, "NEXT_PUBLIC_ANTHROPIC_API_KEY"),
        set_variables=tuple(name for name in VARIABLES if _get(environ, name) is not None),
    )


def env_secret(name, environ=None):
    """The value of the env var `name` (blank names, unset vars and the app's own settings give None)."""
    if not name or secret_env.is_app_setting(name):
        return None
    environ = os.environ if environ is None else environ
    return _get(environ, name)
