"""The in-process client is a drop-in for anthropic.Anthropic: code written for the SDK runs
unchanged on it, against both fakes, with the SDK's own types and exceptions."""
import re

import anthropic
import pytest
from anthropic.types import Message, MessageTokensCount

from providers.client import Anthropic
from providers.clients.errors import ErrorKind, ProviderError
from providers.fakes import Fault
from providers.models import ProviderRouting
from tests.fake_providers import ANTHROPIC_KEY, AWS_KEY_ID, AWS_SECRET, anthropic_settings, model_calls
from tests.providers.conftest import make_anthropic, make_bedrock
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db
WEATHER_TOOL = {"name": "get_weather", "description": "Weather for a city.",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


# Application code written against anthropic.Anthropic, used unchanged with either client.
def ask(client, question, model="haiku"):
    response = client.messages.create(model=model, max_tokens=64,
                                      messages=[{"role": "user", "content": question}])
    return response.content[0].text


def stream_answer(client, question, model="haiku"):
    with client.messages.stream(model=model, max_tokens=64,
                                messages=[{"role": "user", "content": question}]) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    return "".join(pieces), final


def weather_loop(client, model="haiku"):
    """The SDK's documented tool-use loop: call, run the tool, send the result, get the answer."""
    messages = [{"role": "user", "content": "use tool"}]
    response = client.messages.create(model=model, max_tokens=128, tools=[WEATHER_TOOL], messages=messages)
    assert response.stop_reason == "tool_use"
    tool_use = next(block for block in response.content if block.type == "tool_use")
    messages.append({"role": "assistant", "content": response.content})
    messages.append({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": tool_use.id, "content": "echo: sunny"}]})
    final = client.messages.create(model=model, max_tokens=128, tools=[WEATHER_TOOL], messages=messages)
    return tool_use, final


def raw_stream_types(client):
    stream = client.messages.create(model="haiku", max_tokens=64, stream=True,
                                    messages=[{"role": "user", "content": "echo: streamed"}])
    return [event.type for event in stream], stream


@pytest.fixture
def ours(provider):
    _kind, _fake, settings = provider
    return Anthropic(chain=[settings(name="primary")], prompt_caching=False)


def test_create_returns_the_sdks_own_message(ours, provider):
    response = ours.messages.create(model="haiku", max_tokens=32, messages=[{"role": "user", "content": "echo: hi"}])
    assert type(response) is Message
    assert response.content[0].text == "hi" and response.usage.output_tokens > 0
    record = UsageRecord.objects.get()
    assert (record.purpose, record.status, record.provider_name) == ("client", "ok", "primary")


def bare_sdk(kind, fake):
    if kind == "anthropic":
        return anthropic.Anthropic(api_key=ANTHROPIC_KEY, base_url=fake.url, max_retries=0)
    return anthropic.AnthropicBedrock(aws_region="us-east-1", aws_access_key=AWS_KEY_ID, aws_secret_key=AWS_SECRET,
                                      base_url=fake.url, max_retries=0)


def test_code_for_the_sdk_runs_unchanged_on_both(ours, provider):
    kind, fake, _settings = provider
    ours.messages.create(model="haiku", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    model_id = UsageRecord.objects.get().model_id  # what the call path sent for "haiku"
    sdk = bare_sdk(kind, fake)
    # The same application functions, given the bare SDK client or ours.
    assert ask(sdk, "echo: same code", model_id) == ask(ours, "echo: same code") == "same code"
    sdk_text, sdk_final = stream_answer(sdk, "echo: same stream", model_id)
    our_text, our_final = stream_answer(ours, "echo: same stream")
    assert sdk_text == our_text == "same stream" and type(sdk_final) is type(our_final)
    (sdk_tool, sdk_answer), (our_tool, our_answer) = weather_loop(sdk, model_id), weather_loop(ours)
    assert type(sdk_tool) is type(our_tool) and sdk_tool.input == our_tool.input
    assert sdk_answer.content[0].text == our_answer.content[0].text


def test_code_that_opens_and_closes_the_client_like_the_sdk_runs_unchanged(ours, provider):
    """`with anthropic.Anthropic() as client:` and `client.close()` are common in code to migrate."""
    kind, fake, _settings = provider
    for client in (bare_sdk(kind, fake), ours):
        with client as opened:
            assert opened is client
        client.close()
    with ours as opened:  # still usable: closing releases nothing the call path shares
        assert ask(opened, "echo: after close") == "after close"


def test_stream_context_manager_text_stream_and_final_message(ours):
    text, final = stream_answer(ours, "echo: a streamed answer")
    assert text == "a streamed answer"
    assert type(final).__name__ == "ParsedMessage" and isinstance(final, Message)
    assert final.content[0].text == text and final.usage.output_tokens > 0
    record = UsageRecord.objects.get()
    assert record.stream and record.status == "ok" and record.purpose == "client"


def test_get_final_text(ours):
    with ours.messages.stream(model="haiku", max_tokens=32, messages=[{"role": "user", "content": "echo: xyz"}]) as s:
        assert s.get_final_text() == "xyz"


def test_create_with_stream_true_yields_sdk_event_types(ours):
    types, stream = raw_stream_types(ours)
    assert types[0] == "message_start" and types[-1] == "message_stop" and "content_block_delta" in types
    assert isinstance(stream, object) and UsageRecord.objects.get().status == "ok"


def test_stream_events_are_the_sdks_classes(ours):
    stream = ours.messages.create(model="haiku", max_tokens=16, stream=True,
                                  messages=[{"role": "user", "content": "echo: e"}])
    first = next(iter(stream))
    assert isinstance(first, anthropic.types.RawMessageStartEvent)
    stream.close()
    assert UsageRecord.objects.get().status == "abandoned"


def test_tool_use_loop_written_for_the_sdk(ours):
    tool_use, final = weather_loop(ours)
    assert isinstance(tool_use, anthropic.types.ToolUseBlock) and tool_use.input == {"city": tool_use.input["city"]}
    assert final.stop_reason == "end_turn" and final.content[0].text
    assert UsageRecord.objects.filter(has_tools=True, status="ok").count() == 2


def test_count_tokens_returns_the_sdk_type(anthropic_fake):
    client = Anthropic(chain=[anthropic_settings(anthropic_fake)])
    counted = client.messages.count_tokens(model="haiku", messages=[{"role": "user", "content": "x" * 400}])
    assert type(counted) is MessageTokensCount and counted.input_tokens >= 100
    assert UsageRecord.objects.count() == 0  # free: nothing billed, nothing recorded


def test_rate_limit_raises_the_sdks_exception_with_the_provider_error_as_cause(ours, provider):
    _kind, fake, _settings = provider
    fake.inject(Fault("rate_limit" if _kind == "anthropic" else "throttling", times=None))
    with pytest.raises(anthropic.RateLimitError) as caught:
        ask(ours, "hello")
    assert caught.value.status_code == 429
    assert isinstance(caught.value.__cause__, ProviderError) and caught.value.__cause__.kind is ErrorKind.RATE_LIMITED


def test_bad_request_raises_bad_request_error_and_nothing_is_sent(ours, provider):
    _kind, fake, _settings = provider
    with pytest.raises(anthropic.BadRequestError) as caught:
        ours.messages.create(model="haiku", max_tokens=0, messages=[])
    assert "max_tokens" in str(caught.value) and model_calls(fake) == []


@pytest.mark.parametrize("changes, where", [
    ({"metadata": {"user_id": "u", "score": float("inf")}}, "metadata.score"),
    ({"system": [{"type": "text", "text": "x", "weight": float("nan")}]}, "system[0].weight"),
])
def test_nan_or_infinity_is_a_bad_request_never_a_connection_failure(ours, provider, changes, where):
    """The SDK's JSON encoder refuses them; that must not be retried, failed over or blamed on a provider."""
    _kind, fake, _settings = provider
    with pytest.raises(anthropic.BadRequestError, match=rf"{re.escape(where)} is NaN or Infinity"):
        ours.messages.create(model="haiku", max_tokens=8, messages=[{"role": "user", "content": "x"}], **changes)
    assert model_calls(fake) == []
    assert not UsageRecord.objects.exclude(status="invalid_request").exists()


def test_authentication_error_on_a_wrong_key(anthropic_fake):
    client = Anthropic(chain=[anthropic_settings(anthropic_fake, api_key="sk-ant-wrong-key-0000-fake")])
    with pytest.raises(anthropic.AuthenticationError):
        ask(client, "hello")


def test_stream_failing_before_the_first_event_raises_at_create(ours, provider):
    _kind, fake, _settings = provider
    fake.inject(Fault("overloaded" if _kind == "anthropic" else "service_unavailable_400", times=None))
    with pytest.raises(anthropic.APIStatusError) as caught:
        raw_stream_types(ours)
    assert caught.value.status_code in (503, 529)


def test_stream_broken_mid_way_raises_api_connection_error(ours, provider):
    _kind, fake, _settings = provider
    fake.inject(Fault("stream_break", after_events=3))
    stream = ours.messages.create(model="haiku", max_tokens=64, stream=True,
                                  messages=[{"role": "user", "content": "echo: " + "word " * 30}])
    with pytest.raises(anthropic.APIConnectionError):
        list(stream)
    assert UsageRecord.objects.get().status == "stream_interrupted"


@pytest.fixture
def stored(aws_env, anthropic_api, bedrock_api):
    make_anthropic(server=anthropic_api, position=0)
    make_bedrock(server=bedrock_api, position=1)
    ProviderRouting.objects.create(pk=1, primary="anthropic", fallbacks=["bedrock"])


def test_no_arguments_uses_the_active_configuration_and_fails_over(stored, anthropic_api):
    anthropic_api.inject(Fault("overloaded", times=None))
    try:
        assert ask(Anthropic(), "echo: from the fallback") == "from the fallback"
    finally:
        anthropic_api.reset()
    assert set(UsageRecord.objects.values_list("provider_name", "status")) == {("anthropic", "overloaded"),
                                                                               ("bedrock", "ok")}


def test_pinned_provider_is_the_only_one_called(stored):
    Anthropic(provider="bedrock").messages.create(model="haiku", max_tokens=8, messages=[
        {"role": "user", "content": "hi"}])
    assert list(UsageRecord.objects.values_list("provider_name", flat=True)) == ["bedrock"]


def test_agent_name_is_recorded(stored):
    ask(Anthropic(agent="summarizer"), "hi")
    assert UsageRecord.objects.get().agent == "summarizer"


def test_nothing_configured_is_a_clear_sdk_error(aws_env):
    with pytest.raises(anthropic.InternalServerError) as caught:
        ask(Anthropic(), "hi")
    assert "provider" in str(caught.value).lower()


def test_deep_nesting_is_a_bad_request_before_anything_walks_it(ours, provider):
    _kind, fake, _settings = provider
    deep = 1
    for _ in range(5000):  # deeper than the interpreter's recursion limit
        deep = [deep]
    with pytest.raises(anthropic.BadRequestError, match="nests deeper than 128 levels"):
        ours.messages.create(model="haiku", max_tokens=8, messages=[{"role": "user", "content": "x"}],
                             metadata={"user_id": "u", "deep": deep}, extra_headers={"x-moments-cache": "use"})
    assert model_calls(fake) == []
