"""Every bad input gets the Anthropic error shape and the right status, with a request-id; never a 500."""
import anthropic
import httpx2 as httpx
import pytest

from providers import crypto
from providers.models import ProviderRouting
from tests.fake_providers import model_calls
from tests.providers.conftest import make_anthropic
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = {"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]}


def post(gateway, key, content=None, json=None, path="/v1/messages", headers=None):
    return httpx.post(f"{gateway}{path}", content=content, json=json, timeout=30,
                      headers={"x-api-key": key, "content-type": "application/json", **(headers or {})})


def assert_error(answer, status, error_type, *words):
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["type"] == "error" and body["error"]["type"] == error_type
    assert answer.headers["request-id"].startswith("req_gw_") and body["request_id"] == answer.headers["request-id"]
    for word in words:
        assert word in body["error"]["message"]


@pytest.mark.parametrize(("content", "words"), [
    (b"{not json", ("not valid JSON", "line 1")),
    (b"", ("empty",)),
    (b"[1, 2]", ("JSON object",)),
    (b"\xff\xfe", ("UTF-8",)),
    (b'{"model": "haiku", "max_tokens": 16, "messages": [], "stream": "yes"}', ("stream must be",)),
])
def test_malformed_bodies_are_400_naming_the_problem(gateway, gateway_key, stored, content, words):
    assert_error(post(gateway, gateway_key[1], content=content), 400, "invalid_request_error", *words)
    assert not model_calls(stored[0]) and not UsageRecord.objects.exists()


@pytest.mark.parametrize(("body", "word"), [
    ({"max_tokens": 16, "messages": []}, "model is required"),
    ({"model": "haiku", "messages": []}, "max_tokens"),
    ({"model": "haiku", "max_tokens": 16}, "messages"),
    ({**HELLO, "temprature": 1}, "temprature"),
    ({**HELLO, "max_tokens": -1}, "max_tokens"),
])
def test_missing_and_unknown_fields_are_400(gateway, gateway_key, stored, body, word):
    assert_error(post(gateway, gateway_key[1], json=body), 400, "invalid_request_error", word)
    assert not model_calls(stored[0])


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens"])
@pytest.mark.parametrize("model", ["claude-nonexistent-9", "gpt-4"])
def test_unknown_model_is_404_not_found(gateway, gateway_key, stored, path, model):
    assert_error(post(gateway, gateway_key[1], json={**HELLO, "model": model}, path=path), 404, "not_found_error")


def test_a_body_over_the_limit_is_413_before_it_is_parsed(gateway, gateway_key, stored, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 2048
    big = {**HELLO, "messages": [{"role": "user", "content": "x" * 5000}]}
    assert_error(post(gateway, gateway_key[1], json=big), 413, "request_too_large", "2048")
    assert not model_calls(stored[0])


def test_a_chunked_body_over_the_limit_is_413(gateway, gateway_key, stored, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 2048
    chunks = iter([b'{"model": "haiku", "messages": [{"role": "user", "content": "', b"x" * 4096, b'"}]}'])
    answer = httpx.post(f"{gateway}/v1/messages", content=chunks, headers={"x-api-key": gateway_key[1]}, timeout=30)
    assert_error(answer, 413, "request_too_large")


def test_wrong_method_and_unknown_path(gateway, gateway_key):
    answer = httpx.get(f"{gateway}/v1/messages", headers={"x-api-key": gateway_key[1]})
    assert_error(answer, 405, "invalid_request_error", "POST")
    answer = httpx.post(f"{gateway}/v1/complete", headers={"x-api-key": gateway_key[1]})
    assert_error(answer, 404, "not_found_error", "/v1/messages")


def test_no_provider_configured_is_a_500_api_error_not_a_crash(gateway, gateway_key):
    answer = post(gateway, gateway_key[1], json=HELLO)
    assert_error(answer, 500, "api_error")
    assert "Traceback" not in answer.text


def test_the_sdk_sees_typed_errors(sdk, stored):
    with pytest.raises(anthropic.BadRequestError):
        sdk.messages.create(model="haiku", max_tokens=0, messages=[{"role": "user", "content": "Hi"}])


def test_a_provider_rejecting_the_gateways_credentials_is_a_500_that_leaks_nothing(gateway, gateway_key,
                                                                                   anthropic_api):
    wrong = "sk-ant-wrong-0002-LEAKCHECK-GATEWAY"
    make_anthropic(server=anthropic_api, api_key_encrypted=crypto.encrypt(wrong))
    ProviderRouting.objects.create(pk=1, primary="anthropic", fallbacks=[], auto_fallback=False)
    answer = post(gateway, gateway_key[1], json=HELLO)
    assert_error(answer, 500, "api_error", "credentials")  # not 401: the caller's gateway key is fine
    assert wrong not in answer.text and gateway_key[1] not in answer.text


def test_a_response_header_value_from_a_request_or_provider_cannot_split_the_header():
    from providers.gateway.app import _header_value

    assert _header_value("claude-haiku-5-5") == b"claude-haiku-5-5"
    assert _header_value("model\r\nset-cookie: x=1") == b"model??set-cookie: x=1"
    assert _header_value("mod\u00e8le\tid\x00") == b"mod?le?id?"
    assert _header_value("x" * 500) == b"x" * 300 and _header_value(None) == b""
