"""Request adaptation: settings a model refuses become what replaces them, or a clear invalid_request."""
import copy

import pytest

from providers.clients.adaptation import adapt_request, effort_for_budget
from providers.clients.catalog import load_catalog
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.registry import get_client
from tests.fake_providers import anthropic_settings

USER = [{"role": "user", "content": "hi"}]


def request(**extra):
    return {"model": "sonnet", "max_tokens": 4096, "messages": list(USER), **extra}


@pytest.mark.parametrize(("budget", "effort"), [
    (1024, "low"), (4095, "low"), (4096, "medium"), (16383, "medium"), (16384, "high"), (64000, "high")])
def test_budget_ranges_map_to_effort(budget, effort):
    assert effort_for_budget(budget) == effort


def test_thinking_budget_and_sampling_on_sonnet_5_5_become_adaptive_effort():
    original = request(thinking={"type": "enabled", "budget_tokens": 1024}, temperature=0.2, top_p=0.9, top_k=40)
    kept = copy.deepcopy(original)
    adapted, changes = adapt_request(original, "claude-sonnet-5-5")
    assert adapted["thinking"] == {"type": "adaptive"}
    assert adapted["output_config"] == {"effort": "low"}
    assert not {"temperature", "top_p", "top_k"} & set(adapted)
    assert adapted["messages"] == USER and adapted["max_tokens"] == 4096
    assert changes == [
        "thinking budget 1024 tokens -> adaptive thinking, effort low (Claude Sonnet 5.5 takes no manual budget)",
        "dropped temperature=0.2 (Claude Sonnet 5.5 takes only the default sampling)",
        "dropped top_p=0.9 (Claude Sonnet 5.5 takes only the default sampling)",
        "dropped top_k=40 (Claude Sonnet 5.5 takes only the default sampling)",
    ]
    assert original == kept  # pure: the caller's request is untouched


def test_an_effort_the_caller_set_is_kept():
    adapted, changes = adapt_request(
        request(thinking={"type": "enabled", "budget_tokens": 32000, "display": "omitted"},
                output_config={"effort": "max", "format": {"type": "json_schema", "schema": {}}}),
        load_catalog().models["claude-opus-4-7"])
    assert adapted["thinking"] == {"type": "adaptive", "display": "omitted"}
    assert adapted["output_config"] == {"effort": "max", "format": {"type": "json_schema", "schema": {}}}
    assert "keeping effort max" in changes[0]


def test_thinking_disabled_on_sonnet_5_5_is_removed_with_low_effort():
    adapted, changes = adapt_request(request(thinking={"type": "disabled"}), "claude-sonnet-5-5")
    assert "thinking" not in adapted and adapted["output_config"] == {"effort": "low"}
    assert changes == ["thinking disabled -> default thinking with effort low (Claude Sonnet 5.5 cannot disable thinking)"]


def test_thinking_disabled_is_left_alone_where_accepted():
    adapted, changes = adapt_request(request(thinking={"type": "disabled"}, temperature=0.5), "claude-sonnet-5")
    assert adapted["thinking"] == {"type": "disabled"} and "temperature" not in adapted
    assert changes == ["dropped temperature=0.5 (Claude Sonnet 5 takes only the default sampling)"]


@pytest.mark.parametrize("model_id", ["claude-sonnet-4-6", "claude-opus-4-6", "claude-haiku-4-5",
                                      "claude-unknown-9", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"])
def test_models_that_accept_everything_are_not_touched(model_id):
    original = request(thinking={"type": "enabled", "budget_tokens": 2048}, temperature=0.3,
                       tool_choice={"type": "any"},
                       messages=[*USER, {"role": "assistant", "content": "{"}])
    adapted, changes = adapt_request(original, model_id)
    assert adapted == original and changes == []


def test_bedrock_and_mantle_ids_are_adapted_like_the_api_id():
    for model_id in ("global.anthropic.claude-sonnet-5-5", "anthropic.claude-sonnet-5-5"):
        adapted, changes = adapt_request(request(temperature=0), model_id)
        assert "temperature" not in adapted and len(changes) == 1


def test_assistant_prefill_on_sonnet_5_5_is_refused_naming_setting_and_model():
    with pytest.raises(ProviderError) as caught:
        adapt_request(request(messages=[*USER, {"role": "assistant", "content": "{"}]), "claude-sonnet-5-5")
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert "Assistant prefill" in caught.value.message and "Claude Sonnet 5.5" in caught.value.message


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "lookup"}])
def test_forced_tool_choice_on_sonnet_5_5_is_refused(choice):
    with pytest.raises(ProviderError) as caught:
        adapt_request(request(tool_choice=choice, tools=[{"name": "lookup", "input_schema": {"type": "object"}}]),
                      "claude-sonnet-5-5")
    assert caught.value.kind is ErrorKind.INVALID_REQUEST
    assert f"'{choice['type']}'" in caught.value.message and "Claude Sonnet 5.5" in caught.value.message


def test_auto_tool_choice_and_user_last_message_pass():
    adapted, changes = adapt_request(request(tool_choice={"type": "auto"}), "claude-sonnet-5-5")
    assert adapted["tool_choice"] == {"type": "auto"} and changes == []


def test_prefill_and_forced_tool_choice_pass_on_models_that_accept_them():
    body = request(tool_choice={"type": "any"}, messages=[*USER, {"role": "assistant", "content": "{"}])
    adapted, changes = adapt_request(body, "claude-opus-5-5")
    assert adapted["tool_choice"] == {"type": "any"} and adapted["messages"][-1]["role"] == "assistant"
    assert changes == []


def test_adapted_request_goes_over_the_wire_through_the_real_client(anthropic_fake):
    # The adapted body is a valid Messages request for the real SDK and the fake's validation
    # (adaptive thinking, output_config.effort), and the model answers with a thinking block.
    body = {"model": "claude-sonnet-5-5", "max_tokens": 4096, "messages": list(USER),
            "thinking": {"type": "enabled", "budget_tokens": 2048}, "top_k": 40}
    adapted, changes = adapt_request(body, body["model"])
    result = get_client(anthropic_settings(anthropic_fake)).create_message(adapted)
    assert len(changes) == 2
    assert {block["type"] for block in result.message["content"]} >= {"text"}
    assert result.usage.output_tokens > 0
