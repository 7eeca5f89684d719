"""The agents: section of config.yml: imported with validation (key path and line), exported, recorded in
revisions and restored; the agent manager runs a configured agent, recorded in usage under its name."""
import textwrap

import pytest
import yaml

from providers.agents import AgentManager
from providers.client import Anthropic
from providers.config_export import export_config
from providers.config_yaml import ConfigFileError, import_config, parse_config
from providers.models import AgentDefinition, ConfigRevision
from providers.revisions import diff, previous, restore
from providers.sessions import SessionError
from tests.fake_providers import anthropic_settings
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]
PROVIDERS = textwrap.dedent("""\
    model_provider:
      type: anthropic
      anthropic:
        api_key_env: ANTHROPIC_API_KEY
    """)
AGENTS = textwrap.dedent("""\
    agents:
      summarizer:
        system: Summarize in one sentence.
        model: haiku
        max_turns: 3
        max_tokens: 256
        response_cache: true
      dictionary:
        system: Define words.
        provider: anthropic
        tools:
        - name: lookup
          description: Look a word up
          input_schema: {type: object, properties: {word: {type: string}}}
    """)


def test_agents_round_trip_through_config_yml():
    import_config(PROVIDERS + AGENTS)
    summarizer = AgentDefinition.objects.get(name="summarizer")
    assert (summarizer.model, summarizer.max_turns, summarizer.max_tokens, summarizer.response_cache) == (
        "haiku", 3, 256, True)
    assert AgentDefinition.objects.get(name="dictionary").tools[0]["name"] == "lookup"
    exported = export_config()
    agents = yaml.safe_load(exported)["agents"]
    assert agents["summarizer"] == {"system": "Summarize in one sentence.", "model": "haiku", "max_turns": 3,
                                    "max_tokens": 256, "response_cache": True}
    assert agents["dictionary"]["provider"] == "anthropic" and "model" not in agents["dictionary"]  # a default
    AgentDefinition.objects.all().delete()
    import_config(exported)  # the export imports back to the same agents
    assert sorted(AgentDefinition.objects.values_list("name", "model", "max_turns")) == [
        ("dictionary", "sonnet", 10), ("summarizer", "haiku", 3)]


def test_a_file_without_agents_leaves_them_and_an_empty_section_removes_them():
    import_config(PROVIDERS + AGENTS)
    import_config(PROVIDERS)
    assert AgentDefinition.objects.count() == 2
    import_config(PROVIDERS + "agents: {}\n")
    assert not AgentDefinition.objects.exists()


def test_bad_agents_are_refused_with_path_and_line_and_change_nothing():
    import_config(PROVIDERS + AGENTS)
    bad = PROVIDERS + textwrap.dedent("""\
        agents:
          writer:
            max_turns: 0
            provider: bedrock
            tools: [{description: no name}]
            temperature: 0
          "bad name!": {}
        """)
    with pytest.raises(ConfigFileError) as caught:
        import_config(bad)
    problems = "\n".join(str(issue) for issue in caught.value.issues)
    assert "agents.writer.max_turns (line 7): Expected a whole number from 1" in problems
    assert "agents.writer.provider (line 8): 'bedrock' is not a provider configured in this file" in problems
    assert "agents.writer.tools.0 (line 9): Each tool is a Messages API tool definition with a name" in problems
    assert "agents.writer.temperature (line 10): Unknown key 'temperature'" in problems
    assert "An agent name is 1 to 128" in problems
    assert sorted(AgentDefinition.objects.values_list("name", flat=True)) == ["dictionary", "summarizer"]


def test_agents_are_in_revisions_and_restored():
    import_config(PROVIDERS + AGENTS)
    first = ConfigRevision.objects.latest("pk")
    import_config(PROVIDERS + AGENTS.replace("max_turns: 3", "max_turns: 5"))
    second = ConfigRevision.objects.latest("pk")
    assert ("agents.summarizer.max_turns", "3", "5") in diff(previous(second).snapshot, second.snapshot)
    restore(first, None)
    assert AgentDefinition.objects.get(name="summarizer").max_turns == 3


def test_parse_config_gives_the_agents_only_when_the_file_has_them():
    assert "agents" not in parse_config(PROVIDERS)
    assert [agent["name"] for agent in parse_config(PROVIDERS + AGENTS)["agents"]] == ["summarizer", "dictionary"]


def test_a_configured_agent_runs_and_is_recorded_under_its_name(anthropic_fake):
    import_config(PROVIDERS + AGENTS)
    chain = [anthropic_settings(anthropic_fake, name="primary")]
    manager = AgentManager(client_factory=lambda **options: Anthropic(chain=chain, **options))
    assert {"summarizer", "dictionary"} <= set(manager.names)
    reply, session = manager.run("summarizer", "echo: short")
    assert reply.content[0].text == "short" and session.max_turns == 3
    record = UsageRecord.objects.get()
    assert record.agent == "summarizer" and record.status == "ok"
    with pytest.raises(SessionError, match="No agent is named 'nobody'"):
        manager.get("nobody")
