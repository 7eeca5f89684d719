"""providers.clients.request_check.shape_problem: the JSON a request may not carry, found without recursion."""
import pytest

from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.request_check import MAX_DEPTH, check_request, shape_problem

HELLO = {"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}


def nested(depth, leaf=1):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def test_a_plain_request_has_no_problem():
    assert shape_problem({**HELLO, "metadata": {"user_id": "u"}, "temperature": 0.5}) is None


def test_nesting_up_to_the_limit_passes_and_one_more_level_is_named():
    assert shape_problem({"tools": nested(MAX_DEPTH - 1)}) is None  # the request itself is one level
    problem = shape_problem({"tools": nested(MAX_DEPTH)})
    assert problem.endswith(f"nests deeper than {MAX_DEPTH} levels; flatten it.") and problem.startswith("tools[0]")
    assert len(problem) < 200  # the path is cut, the message stays readable


def test_any_depth_is_answered_without_recursion_error():
    assert "nests deeper than" in shape_problem({"system": nested(200_000)})


@pytest.mark.parametrize("value, where", [
    ({"metadata": {"score": float("inf")}}, "metadata.score"),
    ({"system": [{"type": "text", "weight": float("nan")}]}, "system[0].weight"),
    ({"messages": [{"content": ["a", {"b": [0.5, float("-inf")]}]}]}, "messages[0].content[1].b[1]"),
    (float("nan"), "The request"),
])
def test_nan_or_infinity_is_named_by_its_path(value, where):
    assert shape_problem(value) == f"{where} is NaN or Infinity, which JSON cannot carry; send a finite number."


def test_the_first_problem_in_order_is_reported():
    assert shape_problem({"a": float("nan"), "b": nested(MAX_DEPTH + 5)}).startswith("a is NaN")


def test_check_request_refuses_it_as_the_callers_error():
    with pytest.raises(ProviderError) as caught:
        check_request({**HELLO, "tools": [{"name": "t", "input_schema": nested(500)}]})
    assert caught.value.kind is ErrorKind.INVALID_REQUEST and "nests deeper than" in str(caught.value)
