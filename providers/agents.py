"""Named sub-agents: a system prompt, a logical model, a turn limit and tools, run on sessions.

    agents = AgentManager()
    agents.define(Agent("summarizer", system="Summarize in one sentence.", model="haiku", max_turns=3))
    reply = agents.run("summarizer", "Long text ...")                   # one answer, tools run for you
    session = agents.session("summarizer")                              # or drive the session yourself
    session = agents.resume(session_id)                                 # a persisted one, with its agent's settings

Every call of an agent is recorded in usage under the agent's name (CallContext(agent=...)),
so the usage dashboard groups it. An agent may pin a provider and may opt into the response
cache (a policy: its calls send `x-moments-cache: use`). Definitions are code, plain data
(`define_from(mapping)`, e.g. read from a settings file) validated with messages that name
the agent and the field to fix, or configuration: the `agents:` section of config.yml
(AgentDefinition rows, with revisions), which every manager also finds by name. An agent
defined in code wins over a configured one of the same name.
"""
from dataclasses import dataclass, field

from providers.client import Anthropic
from providers.models import AgentDefinition, ConversationSession
from providers.sessions import Session, SessionError

AGENT_FIELDS = ("system", "model", "max_turns", "max_tokens", "tools", "provider", "response_cache", "guardrail")


@dataclass(frozen=True)
class Agent:
    name: str
    system: str | list | None = None
    model: str = "sonnet"  # a logical name (or a pinned model ID)
    max_turns: int | None = 10
    max_tokens: int = 1024
    tools: tuple = field(default_factory=tuple)  # tool definitions (dicts), as the Messages API takes them
    provider: str | None = None  # pin one configured provider
    response_cache: bool = False  # serve repeated identical requests from the response cache
    # A Bedrock guardrail "ID:VERSION" for this agent's calls, in place of the provider's (docs/guardrails.md)
    guardrail: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > 128:
            raise SessionError("An agent needs a name of 1 to 128 characters.")
        if self.max_turns is not None and (not isinstance(self.max_turns, int) or self.max_turns < 1):
            raise SessionError(f"Agent {self.name}: max_turns must be a whole number of at least 1.")
        if not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise SessionError(f"Agent {self.name}: max_tokens must be a whole number of at least 1.")
        if not isinstance(self.model, str) or not self.model.strip():
            raise SessionError(f"Agent {self.name}: model must be a logical name such as sonnet, or a model ID.")
        if self.guardrail is not None and (not isinstance(self.guardrail, str) or ":" not in self.guardrail):
            raise SessionError(f"Agent {self.name}: guardrail must be 'ID:VERSION', e.g. 'gr7abc:3' or 'gr7abc:DRAFT'.")
        object.__setattr__(self, "tools", tuple(self.tools))
        for tool in self.tools:
            if not isinstance(tool, dict) or not tool.get("name"):
                raise SessionError(f"Agent {self.name}: each tool must be a Messages API tool definition with a name.")


class AgentManager:
    def __init__(self, agents=(), client_factory=Anthropic):
        self._agents = {}
        self._client_factory = client_factory  # Anthropic-like: takes agent=, provider=, response_cache_mode=
        for agent in agents:
            self.define(agent)

    def define(self, agent):
        self._agents[agent.name] = agent
        return agent

    def define_from(self, mapping):
        """Define agents from plain data: {name: {system, model, max_turns, max_tokens, tools, ...}}.
        All or nothing: one bad definition defines none."""
        if not isinstance(mapping, dict):
            raise SessionError("Agents must be a mapping of agent name to its settings.")
        built = []
        for name, values in mapping.items():
            if not isinstance(values, dict):
                raise SessionError(f"Agent {name}: its settings must be a mapping.")
            unknown = sorted(set(values) - set(AGENT_FIELDS))
            if unknown:
                raise SessionError(f"Agent {name}: unknown setting(s) {', '.join(unknown)}; "
                                   f"known: {', '.join(AGENT_FIELDS)}.")
            built.append(Agent(name=name, **values))
        for agent in built:
            self.define(agent)
        return built

    def get(self, name):
        agent = self._agents.get(name)
        if agent is not None:
            return agent
        agent = configured_agent(name) if isinstance(name, str) else None
        if agent is None:
            raise SessionError(f"No agent is named {name!r}; defined: {', '.join(self.names) or 'none'}.")
        return agent

    @property
    def names(self):
        """Agents defined in code and in configuration."""
        return sorted({*self._agents, *AgentDefinition.objects.values_list("name", flat=True)})

    def client(self, name):
        agent = self.get(name)
        options = {"guardrail": agent.guardrail} if agent.guardrail else {}
        return self._client_factory(agent=agent.name, provider=agent.provider,
                                    response_cache_mode="use" if agent.response_cache else "skip", **options)

    def session(self, name, *, persist=False, history=()):
        agent = self.get(name)
        return Session(self.client(name), model=agent.model, system=agent.system, max_turns=agent.max_turns,
                       max_tokens=agent.max_tokens, tools=agent.tools, history=history, name=agent.name,
                       persist=persist)

    def resume(self, session_id):
        """Continue a persisted session of an agent with the agent's settings: its client (name, pinned
        provider, response cache policy, guardrail), tools and max_tokens, which Session.resume alone
        cannot know (they are code or configuration, not stored with the session)."""
        stored = ConversationSession.objects.filter(pk=session_id).values_list("agent", flat=True).first()
        if not stored:
            raise SessionError(f"No saved session of an agent has id {session_id}; Session.resume(id) continues "
                               "a session without an agent.")
        agent = self.get(stored)
        return Session.resume(session_id, self.client(agent.name), tools=agent.tools, max_tokens=agent.max_tokens)

    def run(self, name, prompt, *, tool_handlers=None, persist=False):
        """Run the agent on `prompt` until it answers without a tool call; tool calls are run
        with `tool_handlers` ({tool name: callable(input dict) -> str}). Returns (reply, session)."""
        session = self.session(name, persist=persist)
        reply = session.send(prompt)
        while reply.stop_reason == "tool_use":
            if not tool_handlers:
                raise SessionError(f"Agent {name} asked for a tool but no tool_handlers were given.")
            results = []
            for use in session.pending_tool_uses:
                handler = tool_handlers.get(use.name)
                if handler is None:
                    results.append(session.tool_result(use.id, f"No handler for tool {use.name}.", is_error=True))
                    continue
                try:
                    results.append(session.tool_result(use.id, str(handler(use.input))))
                except Exception as exc:  # the model sees the tool failed and may recover
                    results.append(session.tool_result(use.id, f"{type(exc).__name__}: {exc}", is_error=True))
            reply = session.send(results)
        return reply, session


def configured_agent(name):
    """The Agent the configuration (config.yml `agents:`) defines under `name`, or None."""
    row = AgentDefinition.objects.filter(name=name).first()
    if row is None:
        return None
    return Agent(name=row.name, system=row.system, model=row.model, max_turns=row.max_turns,
                 max_tokens=row.max_tokens, tools=tuple(row.tools or ()), provider=row.provider or None,
                 response_cache=row.response_cache)
