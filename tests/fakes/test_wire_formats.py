"""Unit checks of the hand-written wire pieces against botocore's own implementations."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.request
from email.message import Message

import httpx2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from providers.fakes import FakeAnthropic
from providers.fakes.eventstream import chunk_event, encode_message, exception_event
from providers.fakes.sigv4 import SigV4Error, parse_authorization, verify


def decode(data: bytes):
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


def test_chunk_event_round_trips_through_botocore():
    event = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "héllo"}}
    [message] = decode(chunk_event(event) + chunk_event({"type": "message_stop"}))[:1]
    assert message.headers == {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    assert json.loads(base64.b64decode(json.loads(message.payload)["bytes"])) == event
    assert len(decode(chunk_event(event) * 3)) == 3


def test_exception_event_and_split_delivery():
    frame = exception_event("throttlingException", "slow down")
    buffer = EventStreamBuffer()
    for i in range(len(frame)):  # arrives byte by byte
        buffer.add_data(frame[i : i + 1])
    [message] = list(buffer)
    assert message.headers[":message-type"] == "exception"
    assert message.headers[":exception-type"] == "throttlingException"
    assert json.loads(message.payload) == {"message": "slow down"}


def test_corrupt_crc_is_detected():
    with pytest.raises(ChecksumMismatch):
        decode(encode_message({":message-type": "event"}, b"{}", corrupt_crc=True))


def _signed(url: str, method: str = "GET", body: bytes = b"", **headers: str) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "bedrock", "us-east-1").add_auth(request)
    return request


def _verify(request: AWSRequest, secret: str = "secret", body: bytes | None = None) -> None:
    path, _, query = request.url.split("://", 1)[1].partition("/")[2].partition("?")
    headers = Message()
    for k, v in request.headers.items():
        headers[k] = v
    headers["Host"] = request.url.split("/")[2]
    auth = parse_authorization(request.headers["Authorization"])
    verify(
        method=request.method,
        raw_path="/" + path,
        raw_query=query,
        headers=headers,
        body=(request.body or b"") if body is None else body,
        secret=secret,
        auth=auth,
        tls=False,
    )


def test_sigv4_verifier_agrees_with_botocore_signer():
    request = _signed("http://127.0.0.1:9/foundation-models?byProvider=Anthropic&byInferenceType=ON_DEMAND")
    _verify(request)  # query string, sorted, canonicalized
    request = _signed(
        "http://127.0.0.1:9/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Fx/invoke",
        "POST",
        b'{"a": 1}',
        **{"Content-Type": "application/json"},
    )
    _verify(request)  # encoded path segments are double-encoded in the canonical URI
    with pytest.raises(SigV4Error) as exc:
        _verify(request, secret="other")
    assert exc.value.reason == "bad_signature"
    with pytest.raises(SigV4Error):
        _verify(request, body=b'{"a": 2}')


def test_tls_material_is_verifiable_with_the_stdlib():
    with FakeAnthropic(tls=True) as server:
        ctx = ssl.create_default_context(cafile=server.ca_bundle)
        for host in ("127.0.0.1", "localhost"):
            url = server.url.replace("127.0.0.1", host) + "/v1/models"
            req = urllib.request.Request(
                url, headers={"x-api-key": "sk-ant-test-key-1", "anthropic-version": "2023-06-01"}
            )
            with urllib.request.urlopen(req, context=ctx) as resp:
                assert json.loads(resp.read())["data"]
        via_helper = httpx2.get(
            server.url + "/v1/models",
            verify=server.client_ssl_context(),
            headers={"x-api-key": "sk-ant-test-key-1", "anthropic-version": "2023-06-01"},
        )
        assert via_helper.status_code == 200
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(server.url + "/v1/models", context=ssl.create_default_context())
