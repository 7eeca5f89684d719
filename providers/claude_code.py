"""The environment block that makes Claude Code use the same provider and models as the active configuration."""
import json

from providers.display import mapping_rows
from providers.kinds import plugin_for


def claude_code_env(resolved, environment):
    """(variables, notes): ordered [(name, value, comment)] without any secret value."""
    config, settings = resolved.config, resolved.settings
    # The same resolved settings as the exported region: model IDs and AWS_REGION always agree.
    plugin = plugin_for(config.kind)
    models = {row.logical: plugin.claude_code_model_id(settings, row.model_id)
              for row in mapping_rows(config, settings=settings) if row.model_id}
    block = plugin.claude_code(resolved, environment)
    env, notes = block.env, block.notes
    max_output = environment.max_output_tokens or block.max_output_tokens
    max_thinking = environment.max_thinking_tokens or block.max_thinking_tokens
    if models.get("sonnet"):
        env.append(("ANTHROPIC_MODEL", models["sonnet"], "main model (logical sonnet)"))
        env.append(("ANTHROPIC_DEFAULT_SONNET_MODEL", models["sonnet"], "logical sonnet"))
    if models.get("opus"):
        env.append(("ANTHROPIC_DEFAULT_OPUS_MODEL", models["opus"], "logical opus"))
    if models.get("haiku"):
        env.append(("ANTHROPIC_DEFAULT_HAIKU_MODEL", models["haiku"], "small, fast model (logical haiku)"))
    if max_output:
        source = ("CLAUDE_CODE_MAX_OUTPUT_TOKENS here" if environment.max_output_tokens
                  else f"recommended on {plugin_for(config.kind).label}")
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
