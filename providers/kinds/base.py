"""What every provider kind plugin offers, and the helpers they share.

A kind is one module here (its form, how stored configuration becomes ProviderSettings, which
form fields a failure blames, its curl command, its Claude Code block, its config.yml keys)
plus one client in providers/clients (registered in providers.clients.registry).
"""
from dataclasses import dataclass, field

from moments_admin import dotenv
from providers import crypto, secret_env
from providers.environment import env_secret


@dataclass
class ClaudeCodeBlock:
    env: list = field(default_factory=list)  # [(name, value, comment)], never a secret value
    notes: list = field(default_factory=list)
    max_output_tokens: int | None = None  # what to recommend when the environment caps nothing
    max_thinking_tokens: int | None = None


class KindPlugin:
    name = ""
    label = ""
    form_class = None  # the kind's providers.forms.ProviderForm subclass
    config_fields = frozenset()  # ProviderConfig fields this kind reads, beside the common ones
    config_keys = ()  # config.yml keys of a provider block of this kind, beside the common ones
    export_keys = ()  # ProviderConfig fields config.yml export writes, beside the common ones
    export_always = ()  # exported even when equal to the default
    text_checks = {}  # config.yml key -> validator (value -> cleaned value or ValueError) for the kind's own keys

    def summary(self, config):
        """One line for the provider list: where it calls and how it authenticates."""
        return ""

    def secret_urls(self, config):
        """{URL field: the secret sent there} in this configuration (providers.plain_http refuses http://)."""
        return self.form_class.secret_urls(config)

    def iam_policy(self, actions, resources, settings):
        """An IAM policy (dict) granting `actions` on `resources`, or None where IAM does not apply."""
        return None

    def credentials_summary(self, identity, key_shown):
        """Test connection's one line about who the credentials are."""
        if identity.account:
            return f"Account {identity.account}, {identity.arn}"
        return f"Key {key_shown} accepted".replace("  ", " ")

    key_source_field = "api_key"  # the sources entry naming where the kind's key came from

    def check_config(self, v, values, flags, block, path):
        """Rules of a config.yml block of this kind that span keys; issues go to `v` (v.issue(path, message))."""

    def settings_values(self, config, env, sources, problems):
        """The kind's own ProviderSettings values from stored `config`; notes sources and problems."""
        raise NotImplementedError

    def connection_fields(self, step, settings):
        """Form fields to blame when the provider cannot be reached (or times out) at `step`."""
        raise NotImplementedError

    def credential_fields(self, error, resolved):
        """Form fields to blame for an authentication or configuration error."""
        raise NotImplementedError

    def permission_fields(self, error, resolved):
        """Form fields to blame when the provider refuses a permission."""
        return ["permissions", "role_arn" if resolved.settings.role_arn else "auth_mode"]

    def model_fields(self, mapping_field):
        """Form fields to blame when a model is not available."""
        return [mapping_field]

    def curl(self, step, settings, model_id=None):
        """The request `step` sends, as curl, with $PLACEHOLDERS for every secret."""
        raise NotImplementedError

    def claude_code(self, resolved, environment):
        raise NotImplementedError

    def claude_code_model_id(self, settings, model_id):
        """The model ID Claude Code must send for `model_id` (as this provider resolves it)."""
        return model_id

    def effective_rows(self, resolved, *, staff=False):
        """(setting, value, source) rows for the kind's own settings; secrets as set/unset (see secret_shown)."""
        raise NotImplementedError

    def skip_export(self, key, config):
        """Whether config.yml leaves `key` out for this configuration (unused by its auth mode)."""
        return False

    def exported(self, config):
        """Extra config.yml values beyond export_keys (flags derived from the stored configuration)."""
        return {}


def resolve_secret(config, env_field, token_field, label, sources, problems, *, legacy=None):
    """A secret from the env var the configuration names, else the stored encrypted value."""
    env_name = getattr(config, env_field, "") if env_field else ""
    if env_name:
        refused = secret_env.refusal(env_name)  # a name stored before the rule existed is never read
        if refused:
            sources[label] = f"env {env_name} refused"
            problems.append((env_field, refused))
            return None
        value = env_secret(env_name)
        if value:
            sources[label] = f"env {env_name} (set)"  # never any character of an env var's value
            return value
        if legacy and legacy[1]:
            sources[label] = f"env {legacy[0]} (legacy name; {env_name} is unset)"
            return legacy[1]
        sources[label] = f"env {env_name} is not set"
        problems.append((env_field, f"The environment variable {env_name} is not set in this process. "
                                    + dotenv.where_to_set(env_name)))
        return None
    token = getattr(config, token_field)
    if token:
        try:
            value = crypto.decrypt(token)
        except crypto.SecretUnreadable as exc:
            problems.append((token_field.removesuffix("_encrypted"), str(exc)))
            sources[label] = "stored, but unreadable with the current key"
            return None
        sources[label] = "stored encrypted"  # the value column shows its last four, to staff only
        return value
    if legacy and legacy[1]:
        sources[label] = f"env {legacy[0]} (legacy name)"
        return legacy[1]
    sources[label] = "not set"
    return None


def secret_shown(value, source, staff):
    """Whether a secret is set; staff also see the last four characters of a stored one, never of an env var."""
    if not value:
        return "not set"
    if source.startswith("env") or not staff:
        return "set"
    hint = crypto.hint(value)
    return f"set, ends {hint}" if hint else "set"


def access_key_shown(value, *, staff):
    """An AWS access key ID identifies the account: staff see its last four characters, others that it is set."""
    if not value:
        return "not set"
    return f"set, ends {value[-4:]}" if staff else "set"
