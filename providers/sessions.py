"""Multi-turn sessions over the in-process client.

    session = Session(model="sonnet", system="You are terse.", max_turns=10, tools=[weather])
    reply = session.send("What is the weather in Lyon?")
    while reply.stop_reason == "tool_use":                 # the caller runs the tools
        reply = session.send([session.tool_result(use.id, run(use)) for use in session.pending_tool_uses])
    with session.stream("And tomorrow?") as stream:        # the SDK's own MessageStream
        for text in stream.text_stream: ...
    session.input_tokens, session.output_tokens, session.cost_usd, session.turns

A turn is one model call. The history changes only when a call succeeds (a failed or
abandoned call leaves it as it was, so the same send can be tried again). With
`persist=True` the history and totals are saved after every turn (ConversationSession) and
`Session.resume(id)` continues it. Every call goes through the client, so through the one
call path, recorded under the client's agent name.
"""
from contextlib import contextmanager
from decimal import Decimal

import anthropic
from anthropic.lib.streaming import MessageStream

from providers.client import Anthropic, plain
from providers.models import ConversationSession


class SessionError(ValueError):
    """A session used in a way that cannot work; the message says what to do instead."""


class Session:
    def __init__(self, client=None, *, model="sonnet", system=None, max_turns=None, max_tokens=1024, tools=(),
                 params=None, history=(), name="", persist=False, agent=None):
        if max_turns is not None and max_turns < 1:
            raise SessionError("max_turns must be at least 1 (or None for no limit).")
        self.client = client or Anthropic(agent=agent)
        self.model, self.system, self.max_turns, self.max_tokens = model, system, max_turns, max_tokens
        self.tools = [plain(tool) for tool in tools]
        self.params = dict(params or {})  # more create() arguments for every turn (thinking, ...)
        self.messages = [plain(message) for message in history]
        self.name, self.persist = name, persist
        self.turns, self.input_tokens, self.output_tokens = 0, 0, 0
        self.cost_usd = Decimal(0)
        self.unpriced_turns = 0  # turns whose model has no price: not counted as zero silently
        self.stored = None

    @property
    def agent(self):
        return self.client.agent

    # --- Sending -------------------------------------------------------------------------
    def send(self, content, **params):
        """Send a user turn (text, or content blocks such as tool results); returns the SDK Message."""
        request, user = self._request(content, params)
        message, record = self.client.messages.create_recorded(**request)
        self._commit(user, message, record)
        return message

    @contextmanager
    def stream(self, content, **params):
        """Stream a user turn: yields the SDK's MessageStream; the turn joins the history when
        the stream completes (an abandoned or broken stream leaves the history unchanged)."""
        request, user = self._request(content, params)
        raw = self.client.messages.create(stream=True, **request)
        stream = MessageStream(raw, output_format=anthropic.NOT_GIVEN)
        try:
            yield stream
        finally:
            stream.close()
        if raw.completed:
            self._commit(user, stream.get_final_message(), raw.record)

    def tool_result(self, tool_use_id, content, *, is_error=False):
        """A tool_result block answering the tool_use `tool_use_id`."""
        block = {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}
        if is_error:
            block["is_error"] = True
        return block

    @property
    def pending_tool_uses(self):
        """The tool_use blocks of the last reply that still need a tool_result."""
        if not self.messages or self.messages[-1]["role"] != "assistant":
            return []
        content = self.messages[-1]["content"]
        return [anthropic.types.ToolUseBlock.model_validate(block) for block in content
                if isinstance(content, list) and block.get("type") == "tool_use"]

    # --- Internals -----------------------------------------------------------------------
    def _request(self, content, params):
        if self.max_turns is not None and self.turns >= self.max_turns:
            raise SessionError(f"This session reached its limit of {self.max_turns} turns; start a new session "
                               "or raise max_turns.")
        user = {"role": "user", "content": plain(content)}
        self._check_tool_results(user["content"])
        request = {"model": self.model, "max_tokens": self.max_tokens, **self.params, **params,
                   "messages": [*self.messages, user]}
        if self.system is not None:
            request["system"] = self.system
        if self.tools and "tools" not in params:
            request["tools"] = self.tools
        return request, user

    def _check_tool_results(self, content):
        pending = {use.id for use in self.pending_tool_uses}
        if not pending:
            return
        answered = {block.get("tool_use_id") for block in content if isinstance(block, dict)} \
            if isinstance(content, list) else set()
        missing = pending - answered
        if missing:
            raise SessionError(f"The last reply asked for {len(pending)} tool call(s); send a tool_result for each "
                               f"(missing: {', '.join(sorted(missing))}), e.g. session.tool_result(id, output).")

    def _commit(self, user, message, record):
        self.messages += [user, {"role": "assistant", "content": plain(message.content)}]
        self.turns += 1
        usage = message.usage
        if record is None or record.status != "cache_hit":
            self.input_tokens += (usage.input_tokens + (usage.cache_creation_input_tokens or 0)
                                  + (usage.cache_read_input_tokens or 0))
            self.output_tokens += usage.output_tokens
        if record is not None and record.cost_usd is not None:
            self.cost_usd += Decimal(record.cost_usd)
        elif record is None or record.status != "cache_hit":
            self.unpriced_turns += 1
        if self.persist:
            self.save()

    # --- Persistence ---------------------------------------------------------------------
    def save(self):
        values = {"name": self.name[:200], "agent": (self.agent or "")[:128], "model": self.model[:200],
                  "system": plain(self.system), "max_turns": self.max_turns, "messages": self.messages,
                  "turns": self.turns, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                  "cost_usd": self.cost_usd}
        if self.stored is None:
            self.stored = ConversationSession.objects.create(**values)
        else:
            ConversationSession.objects.filter(pk=self.stored.pk).update(**values)
        return self.stored.pk

    @property
    def id(self):
        return self.stored.pk if self.stored else None

    @classmethod
    def resume(cls, session_id, client=None, *, tools=(), params=None, max_tokens=1024):
        """Continue a persisted session (tools and parameters are code, so they are given again)."""
        stored = ConversationSession.objects.filter(pk=session_id).first()
        if stored is None:
            raise SessionError(f"No saved session has id {session_id}.")
        session = cls(client or Anthropic(agent=stored.agent or None), model=stored.model, system=stored.system,
                      max_turns=stored.max_turns, max_tokens=max_tokens, tools=tools, params=params,
                      history=stored.messages, name=stored.name, persist=True)
        session.turns, session.input_tokens, session.output_tokens = stored.turns, stored.input_tokens, \
            stored.output_tokens
        session.cost_usd, session.stored = Decimal(stored.cost_usd), stored
        return session
