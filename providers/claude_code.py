"""The environment block that makes Claude Code use the same provider and models as the active configuration."""
import json

from providers.display import mapping_rows

RECOMMENDED_MAX_OUTPUT_TOKENS = 4096  # Bedrock throttling counts at least this per request
RECOMMENDED_MAX_THINKING_TOKENS = 1024


def claude_code_env(resolved, environment):
    """(variables, notes): ordered [(name, value, comment)] without any secret value."""
    config, settings = resolved.config, resolved.settings
    # The same resolved settings as the exported region: model IDs and AWS_REGION always agree.
    models = {row.logical: row.model_id for row in mapping_rows(config, settings=settings) if row.model_id}
    env, notes = [], []
    if config.kind == "bedrock":
        env.append(("CLAUDE_CODE_USE_BEDROCK", "1", "use Amazon Bedrock"))
        env.append(("AWS_REGION", settings.aws_region, "required: Claude Code does not read it from ~/.aws/config"))
        if settings.auth_mode == "profile":
            env.append(("AWS_PROFILE", settings.aws_profile, "the named profile"))
            if config.role_arn:
                notes.append("Claude Code does not assume roles itself: add role_arn to that profile in "
                             "~/.aws/config (source_profile) to get the same role.")
        elif settings.auth_mode == "api_key":
            env.append(("AWS_BEARER_TOKEN_BEDROCK", "<your Bedrock API key>", "a secret: paste it yourself"))
        elif settings.auth_mode in ("static_keys", "env"):
            env.append(("AWS_ACCESS_KEY_ID", "<your access key ID>", "a credential: paste it yourself"))
            env.append(("AWS_SECRET_ACCESS_KEY", "<your secret access key>", "a secret: paste it yourself"))
        if config.role_arn and settings.auth_mode != "profile":
            notes.append(f"This provider assumes {config.role_arn}; give Claude Code a profile that assumes it.")
        if settings.endpoint_url:
            env.append(("ANTHROPIC_BEDROCK_BASE_URL", settings.endpoint_url, "the runtime endpoint override"))
        max_output = environment.max_output_tokens or RECOMMENDED_MAX_OUTPUT_TOKENS
        max_thinking = environment.max_thinking_tokens or RECOMMENDED_MAX_THINKING_TOKENS
    else:
        env.append(("ANTHROPIC_API_KEY", "<your Anthropic API key>", "a secret: paste it yourself"))
        if settings.base_url and settings.base_url.rstrip("/") != "https://api.anthropic.com":
            env.append(("ANTHROPIC_BASE_URL", settings.base_url, "the configured base URL"))
        max_output, max_thinking = environment.max_output_tokens, environment.max_thinking_tokens
    if models.get("sonnet"):
        env.append(("ANTHROPIC_MODEL", models["sonnet"], "main model (logical sonnet)"))
        env.append(("ANTHROPIC_DEFAULT_SONNET_MODEL", models["sonnet"], "logical sonnet"))
    if models.get("opus"):
        env.append(("ANTHROPIC_DEFAULT_OPUS_MODEL", models["opus"], "logical opus"))
    if models.get("haiku"):
        env.append(("ANTHROPIC_DEFAULT_HAIKU_MODEL", models["haiku"], "small, fast model (logical haiku)"))
    if max_output:
        source = "CLAUDE_CODE_MAX_OUTPUT_TOKENS here" if environment.max_output_tokens else "recommended on Bedrock"
        env.append(("CLAUDE_CODE_MAX_OUTPUT_TOKENS", str(max_output), source))
    if max_thinking:
        source = "MAX_THINKING_TOKENS here" if environment.max_thinking_tokens else "recommended"
        env.append(("MAX_THINKING_TOKENS", str(max_thinking), source))
    return env, notes


def as_shell(env):
    lines = []
    for name, value, comment in env:
        quoted = f'"{value}"' if value.startswith("<") else _sh(value)
        lines.append(f"export {name}={quoted}  # {comment}")
    return "\n".join(lines)


def as_settings_json(env):
    """The same block for ~/.claude/settings.json ("env"), placeholders left for secrets."""
    return json.dumps({"env": {name: value for name, value, _ in env}}, indent=2)


def _sh(value):
    import shlex

    return shlex.quote(value)
