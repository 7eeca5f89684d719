"""Sessions (history, system prompt, turn limit, streaming, a caller-driven tool loop, totals,
persistence) and named sub-agents recorded under their names, against both fakes."""
from decimal import Decimal

import anthropic
import pytest

from providers.agents import Agent, AgentManager
from providers.client import Anthropic
from providers.fakes import Fault
from providers.models import ConversationSession
from providers.sessions import Session, SessionError
from tests.fake_providers import model_calls
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db
LOOKUP = {"name": "lookup", "description": "Look a word up.",
          "input_schema": {"type": "object", "properties": {"word": {"type": "string"}}, "required": ["word"]}}


@pytest.fixture
def client(provider):
    _kind, _fake, settings = provider
    return Anthropic(chain=[settings(name="primary")], prompt_caching=False)


def sent(fake):
    return [request.json for request in model_calls(fake)]


def test_a_session_keeps_history_system_and_totals(client, provider):
    _kind, fake, _settings = provider
    session = Session(client, model="haiku", system="You are terse.", max_tokens=64)
    assert session.send("echo: one").content[0].text == "one"
    assert session.send("echo: two").content[0].text == "two"
    third = sent(fake)[-1]
    session.send("echo: three")
    last = sent(fake)[-1]
    assert last["system"] == "You are terse." or last["system"][0]["text"] == "You are terse."
    assert [m["role"] for m in last["messages"]] == ["user", "assistant"] * 2 + ["user"]
    assert len(third["messages"]) == 3
    assert session.turns == 3 and len(session.messages) == 6
    records = UsageRecord.objects.all()
    assert session.output_tokens == sum(r.output_tokens for r in records) > 0
    assert session.input_tokens == sum(r.input_tokens + r.cache_read_tokens + r.cache_write_5m_tokens
                                       + r.cache_write_1h_tokens for r in records) > 0
    assert session.cost_usd == sum(r.cost_total for r in records) > 0


def test_a_caller_driven_tool_loop(client):
    session = Session(client, model="haiku", max_tokens=128, tools=[LOOKUP])
    reply = session.send("use tool")
    assert reply.stop_reason == "tool_use"
    [use] = session.pending_tool_uses
    assert use.name == "lookup" and "word" in use.input
    with pytest.raises(SessionError, match="tool_result"):
        session.send("never mind")  # the model is waiting for the tool's answer
    assert session.turns == 1
    reply = session.send([session.tool_result(use.id, "a small dog")])
    assert reply.stop_reason == "end_turn" and session.pending_tool_uses == []
    assert session.turns == 2 and session.messages[2]["content"][0]["type"] == "tool_result"


def test_max_turns_stops_before_calling(client, provider):
    _kind, fake, _settings = provider
    session = Session(client, model="haiku", max_turns=1)
    session.send("hi")
    with pytest.raises(SessionError, match="limit of 1 turns"):
        session.send("again")
    assert len(model_calls(fake)) == 1


def test_a_failed_turn_leaves_the_history_as_it_was(client, provider):
    kind, fake, _settings = provider
    session = Session(client, model="haiku")
    session.send("echo: kept")
    fake.inject(Fault("rate_limit" if kind == "anthropic" else "throttling", times=None))
    with pytest.raises(anthropic.RateLimitError):
        session.send("lost?")
    fake.reset()
    assert session.turns == 1 and len(session.messages) == 2
    assert session.send("echo: retried").content[0].text == "retried"


def test_a_streamed_turn_joins_the_history_when_complete(client):
    session = Session(client, model="haiku")
    with session.stream("echo: streamed words") as stream:
        text = "".join(stream.text_stream)
    assert text == "streamed words"
    assert session.turns == 1 and session.messages[-1]["content"][0]["text"] == "streamed words"
    assert session.output_tokens > 0 and session.cost_usd > 0


def test_an_abandoned_stream_changes_nothing(client):
    session = Session(client, model="haiku")
    with session.stream("echo: " + "many words " * 20) as stream:
        next(iter(stream))
    assert session.turns == 0 and session.messages == []
    assert UsageRecord.objects.get().status == "abandoned"


def test_a_persisted_session_resumes(client):
    session = Session(client, model="haiku", system="Be brief.", name="support-42", persist=True)
    session.send("echo: first")
    stored = ConversationSession.objects.get(pk=session.id)
    assert stored.turns == 1 and stored.messages[0]["content"] == "echo: first" and stored.cost_usd > 0
    resumed = Session.resume(session.id, client)
    assert resumed.system == "Be brief." and resumed.turns == 1
    resumed.send("echo: second")
    stored.refresh_from_db()
    assert stored.turns == 2 and len(stored.messages) == 4
    assert Decimal(stored.cost_usd) == resumed.cost_usd > session.cost_usd


def test_resume_of_a_missing_session_is_a_clear_error():
    with pytest.raises(SessionError, match="No saved session"):
        Session.resume(999999)


def agents_on(provider):
    _kind, _fake, settings = provider
    chain = [settings(name="primary")]
    return AgentManager(client_factory=lambda **options: Anthropic(chain=chain, prompt_caching=False, **options))


def test_a_sub_agent_is_recorded_under_its_name_and_runs_its_tools(provider):
    agents = agents_on(provider)
    agents.define(Agent("dictionary", system="Define words.", model="haiku", max_turns=4, tools=[LOOKUP]))
    seen = []
    reply, session = agents.run("dictionary", "use tool", tool_handlers={"lookup": lambda i: seen.append(i) or "ok"})
    assert reply.stop_reason == "end_turn" and len(seen) == 1 and session.turns == 2
    assert set(UsageRecord.objects.values_list("agent", "purpose")) == {("dictionary", "client")}
    assert UsageRecord.objects.count() == 2


def test_a_persisted_agent_session_resumes_with_the_agents_settings(provider):
    agents = agents_on(provider)
    agents.define(Agent("dictionary", system="Define words.", model="haiku", max_tokens=64, tools=[LOOKUP],
                        provider="primary", response_cache=True))
    _reply, session = agents.run("dictionary", "echo: cairn", persist=True)
    resumed = agents.resume(session.id)
    assert (resumed.agent, resumed.client.provider, resumed.client.response_cache_mode) == ("dictionary", "primary",
                                                                                           "use")
    assert (resumed.max_tokens, resumed.tools, resumed.turns) == (64, [LOOKUP], 1)
    resumed.send("echo: again")
    assert list(UsageRecord.objects.values_list("agent", flat=True)) == ["dictionary"] * 2
    plain = Session(Anthropic(chain=[], prompt_caching=False), model="haiku", persist=True)
    plain.save()
    with pytest.raises(SessionError, match="No saved session of an agent"):
        agents.resume(plain.id)


def test_agents_from_data_are_all_or_nothing(provider):
    agents = agents_on(provider)
    with pytest.raises(SessionError, match="Agent broken: unknown setting"):
        agents.define_from({"fine": {"model": "haiku"}, "broken": {"model": "haiku", "temprature": 0}})
    assert agents.names == []
    agents.define_from({"fine": {"model": "haiku", "max_turns": 2}})
    assert agents.get("fine").max_turns == 2
    with pytest.raises(SessionError, match="No agent is named 'other'"):
        agents.session("other")
    with pytest.raises(SessionError, match="max_turns"):
        Agent("bad", max_turns=0)


def test_a_session_turn_served_from_the_response_cache_costs_nothing(provider):
    _kind, fake, settings = provider
    client = Anthropic(chain=[settings(name="primary")], prompt_caching=False,
                       default_headers={"x-moments-cache": "use"})
    paid = Session(client, model="haiku", system="Be brief.")
    paid.send("echo: the same question")
    free = Session(client, model="haiku", system="Be brief.")
    with free.stream("echo: the same question") as stream:
        assert "".join(stream.text_stream) == "the same question"
    assert len(model_calls(fake)) == 1
    assert free.turns == 1 and free.messages == paid.messages
    assert (free.input_tokens, free.output_tokens, free.cost_usd) == (0, 0, 0) and paid.cost_usd > 0
    assert UsageRecord.objects.get(status="cache_hit").stream
