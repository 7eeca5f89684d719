"""The `agents:` section of config.yml: sub-agents defined in configuration (AgentDefinition rows).

    agents:
      summarizer:
        system: "Summarize in one sentence."
        model: haiku             # a logical name or a model ID (default sonnet)
        max_turns: 3             # null: no limit (default 10)
        max_tokens: 512          # default 1024
        tools: []                # Messages API tool definitions
        provider: bedrock        # optional: pin a provider of this file
        response_cache: true     # its calls use the response cache (default false)

Validated with the rest of the file (each problem with its key path and line); an import with an
`agents:` section replaces the stored agents, one without it leaves them as they are.
"""
import re

from providers import validation
from providers.models import AgentDefinition

AGENT_KEYS = ("system", "model", "max_turns", "max_tokens", "tools", "provider", "response_cache")
AGENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_SYSTEM_CHARS = 200_000
MAX_TOKENS_LIMIT = 1_000_000
DEFAULTS = {"system": None, "model": "sonnet", "max_turns": 10, "max_tokens": 1024, "tools": [], "provider": "",
            "response_cache": False}


def parse_agents(v, raw, path, provider_names):
    """Validate the agents mapping into snapshot values ([{name, system, ...}]); issues go to `v`."""
    agents = []
    for name, block in v.mapping(raw, path, required=False).items():
        apath = (*path, name)
        if not isinstance(name, str) or not AGENT_NAME.fullmatch(name):
            v.issue(apath, "An agent name is 1 to 128 letters, digits, '.', '-' or '_', starting with a letter "
                           "or digit.")
            continue
        block = v.mapping(block, apath, required=False)
        values = {"name": name, **DEFAULTS}
        for key, value in block.items():
            kpath = (*apath, key)
            if key not in AGENT_KEYS:
                v.unknown(apath, key, AGENT_KEYS)
            elif key == "system":
                values[key] = _system(v, value, kpath)
            elif key == "model":
                values[key] = v.text(value, kpath, _model, allow_null=False)
            elif key in ("max_turns", "max_tokens"):
                values[key] = _count(v, value, kpath, allow_null=key == "max_turns")
            elif key == "tools":
                values[key] = _tools(v, value, kpath)
            elif key == "provider":
                values[key] = v.text(value, kpath) or ""
                if values[key] and values[key] not in provider_names:
                    v.issue(kpath, f"{values[key]!r} is not a provider configured in this file "
                                   f"(providers: {', '.join(provider_names) or 'none'}).")
            else:
                values[key] = v.boolean(value, kpath)
        agents.append(values)
    return agents


def _model(value):
    value = value.strip()
    if not value:
        raise ValueError("Name a model: a logical name such as sonnet, or a model ID.")
    return validation.model_id(value)


def _count(v, value, path, *, allow_null):
    if value is None and allow_null:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOKENS_LIMIT:
        v.issue(path, f"Expected a whole number from 1 to {MAX_TOKENS_LIMIT}"
                      + (" (or null for no limit)" if allow_null else "") + ".")
        return None
    return value


def _system(v, value, path):
    if value is None or isinstance(value, str):
        if value and len(value) > MAX_SYSTEM_CHARS:
            v.issue(path, f"At most {MAX_SYSTEM_CHARS} characters.")
        return value
    if isinstance(value, list) and all(isinstance(b, dict) and b.get("type") == "text"
                                       and isinstance(b.get("text"), str) for b in value):
        return value
    v.issue(path, "Expected text, or a list of text blocks ({type: text, text: ...}).")
    return None


def _tools(v, value, path):
    if value is None:
        return []
    if not isinstance(value, list):
        v.issue(path, "Expected a list of tool definitions.")
        return []
    for index, tool in enumerate(value):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"].strip():
            v.issue((*path, index), "Each tool is a Messages API tool definition with a name (and input_schema).")
        elif "input_schema" in tool and not isinstance(tool["input_schema"], dict):
            v.issue((*path, index, "input_schema"), "input_schema must be a mapping (a JSON Schema object).")
    return value


def stored_agents():
    """Snapshot values of the stored agents, by name."""
    return [{"name": a.name, **{key: getattr(a, key) for key in AGENT_KEYS}} for a in AgentDefinition.objects.all()]


def apply_agents(agents):
    """Make the stored agents equal to `agents` (inside the caller's transaction)."""
    AgentDefinition.objects.exclude(name__in=[a["name"] for a in agents]).delete()
    for values in agents:
        fields = {key: values.get(key, DEFAULTS[key]) for key in AGENT_KEYS}
        fields["provider"], fields["tools"] = fields["provider"] or "", fields["tools"] or []
        AgentDefinition.objects.update_or_create(name=values["name"], defaults=fields)


def exported_agents():
    """The agents: mapping for config.yml export (defaults left out)."""
    out = {}
    for agent in stored_agents():
        out[agent["name"]] = {key: agent[key] for key in AGENT_KEYS if agent[key] != DEFAULTS[key]}
    return out
