"""Automatic prompt-caching breakpoints: the pure placement function."""
import copy

import pytest

from providers.clients.prompt_caching import (
    MAX_BREAKPOINTS,
    minimum_cacheable_tokens,
    place_breakpoints,
)

LONG = "stable context " * 400  # about 1,500 tokens at four characters each
TOOL = {"name": "search", "description": "Search. " + "x" * 6000, "input_schema": {"type": "object"}}
EPHEMERAL = {"type": "ephemeral"}


def marks(request):
    """Where cache_control sits: ('tools', i), ('system', i), ('messages', i)."""
    found = [("tools", i) for i, tool in enumerate(request.get("tools") or []) if tool.get("cache_control")]
    system = request.get("system")
    if isinstance(system, list):
        found += [("system", i) for i, block in enumerate(system) if block.get("cache_control")]
    for i, message in enumerate(request["messages"]):
        if isinstance(message["content"], list) and any(b.get("cache_control") for b in message["content"]):
            found.append(("messages", i))
    return found


def test_minimums_per_model_and_provider():
    assert minimum_cacheable_tokens("claude-sonnet-4-5-20250929") == 1024
    assert minimum_cacheable_tokens("claude-opus-4-1-20250805") == 1024
    assert minimum_cacheable_tokens("claude-haiku-4-5-20251001", "bedrock") == 4096
    assert minimum_cacheable_tokens("claude-3-5-haiku-20241022") == 2048
    assert minimum_cacheable_tokens("claude-opus-4-6") == 4096 and minimum_cacheable_tokens("claude-opus-4-7") == 2048
    assert minimum_cacheable_tokens(None) == minimum_cacheable_tokens("some-unknown-model") == 4096


def test_a_short_prompt_gets_no_breakpoint():
    request = {"model": "sonnet", "system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]}
    placed, count = place_breakpoints(request, minimum_tokens=1024)
    assert placed is request and count == 0


def test_a_long_system_prompt_and_the_turn_are_marked_without_touching_the_input():
    request = {"model": "sonnet", "system": LONG, "messages": [{"role": "user", "content": "Hi"}]}
    original = copy.deepcopy(request)
    placed, count = place_breakpoints(request, minimum_tokens=1024)
    assert request == original  # a copy is changed, never the caller's request
    assert placed["system"] == [{"type": "text", "text": LONG, "cache_control": EPHEMERAL}]
    assert marks(placed) == [("system", 0), ("messages", 0)] and count == 2
    assert placed["messages"][0]["content"] == [{"type": "text", "text": "Hi", "cache_control": EPHEMERAL}]


def test_below_the_minimum_nothing_is_marked():
    request = {"model": "haiku", "system": LONG, "messages": [{"role": "user", "content": "Hi"}]}
    assert place_breakpoints(request, minimum_tokens=4096) == (request, 0)


def test_tools_system_and_the_last_two_user_turns_at_most_four():
    messages = []
    for turn in range(4):
        messages += [{"role": "user", "content": f"question {turn}"},
                     {"role": "assistant", "content": [{"type": "text", "text": f"answer {turn}"}]}]
    messages.append({"role": "user", "content": [{"type": "text", "text": "last question"}]})
    request = {"model": "sonnet", "tools": [TOOL, {**TOOL, "name": "fetch"}], "system": [{"type": "text", "text": LONG}],
               "messages": messages}
    placed, count = place_breakpoints(request, minimum_tokens=1024)
    assert count == MAX_BREAKPOINTS
    assert marks(placed) == [("tools", 1), ("system", 0), ("messages", 6), ("messages", 8)]


def test_a_prefix_below_the_minimum_is_skipped_but_a_longer_one_is_marked():
    request = {"model": "sonnet", "system": "Short system.",
               "messages": [{"role": "user", "content": LONG}]}
    placed, count = place_breakpoints(request, minimum_tokens=1024)
    assert marks(placed) == [("messages", 0)] and isinstance(placed["system"], str) and count == 1


@pytest.mark.parametrize("own", [
    {"cache_control": EPHEMERAL},  # the request-level (automatic) form
    {"system": [{"type": "text", "text": LONG, "cache_control": EPHEMERAL}]},
    {"tools": [{**TOOL, "cache_control": EPHEMERAL}]},
    {"messages": [{"role": "user", "content": [{"type": "text", "text": LONG, "cache_control": EPHEMERAL}]}]},
])
def test_never_when_the_caller_placed_its_own(own):
    request = {"model": "sonnet", "system": LONG, "messages": [{"role": "user", "content": LONG}], **own}
    placed, count = place_breakpoints(request, minimum_tokens=1024)
    assert placed is request and count == 0


def test_one_hour_ttl():
    request = {"model": "sonnet", "system": LONG, "messages": [{"role": "user", "content": "Hi"}]}
    placed, _count = place_breakpoints(request, minimum_tokens=1024, ttl="1h")
    assert placed["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    with pytest.raises(ValueError):
        place_breakpoints(request, minimum_tokens=1024, ttl="2h")


def test_a_turn_ending_in_a_thinking_block_is_not_marked():
    request = {"model": "sonnet", "system": LONG, "messages": [
        {"role": "user", "content": [{"type": "thinking", "thinking": "...", "signature": "s"}]}]}
    placed, count = place_breakpoints(request, minimum_tokens=1024)
    assert marks(placed) == [("system", 0)] and count == 1
