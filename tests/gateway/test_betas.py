"""anthropic-beta through the gateway: a beta the serving provider does not accept is dropped (or
translated) by the layer, never answered with Bedrock's 400 "invalid beta flag"."""
import httpx2 as httpx
import pytest

from providers.changes import update_routing
from tests.fake_providers import model_calls

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = {"model": "sonnet", "max_tokens": 64, "messages": [{"role": "user", "content": "echo: hello gateway"}]}


def test_betas_bedrock_does_not_take_are_dropped_or_translated(gateway, gateway_key, stored):
    update_routing(None, primary="bedrock", fallbacks=[], auto_fallback=False)
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, timeout=30, headers={
        "x-api-key": gateway_key[1], "anthropic-version": "2023-06-01",
        "anthropic-beta": "context-1m-2025-08-07,files-api-2025-04-14,advanced-tool-use-2025-11-20"})
    assert answer.status_code == 200, answer.text
    sent = model_calls(stored[1])[-1]
    assert sent.headers.get("anthropic-beta") == "context-1m-2025-08-07,tool-search-tool-2025-10-19"


def test_the_claude_api_gets_the_header_as_sent(gateway, gateway_key, stored):
    update_routing(None, primary="anthropic", fallbacks=[], auto_fallback=False)
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, timeout=30, headers={
        "x-api-key": gateway_key[1], "anthropic-beta": "files-api-2025-04-14"})
    assert answer.status_code == 200
    assert model_calls(stored[0])[-1].headers.get("anthropic-beta") == "files-api-2025-04-14"


def test_a_header_sent_on_two_lines_is_one_list(gateway, gateway_key, stored):
    """anthropic-beta on two lines: both flags reach the provider (the second line used to replace the first)."""
    update_routing(None, primary="anthropic", fallbacks=[], auto_fallback=False)
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, timeout=30, headers=[
        ("x-api-key", gateway_key[1]), ("anthropic-beta", "files-api-2025-04-14"),
        ("anthropic-beta", "context-1m-2025-08-07")])
    assert answer.status_code == 200, answer.text
    assert model_calls(stored[0])[-1].headers.get("anthropic-beta") == "files-api-2025-04-14,context-1m-2025-08-07"


def test_two_different_cache_modes_are_a_bad_request_not_the_last_one(gateway, gateway_key, stored):
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, timeout=30, headers=[
        ("x-api-key", gateway_key[1]), ("x-moments-cache", "use"), ("x-moments-cache", "skip")])
    assert answer.status_code == 400 and "x-moments-cache must be one of" in answer.json()["error"]["message"]
    assert not model_calls(stored[0]) and not model_calls(stored[1])
