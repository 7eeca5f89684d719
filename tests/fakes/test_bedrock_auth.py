"""SigV4, session tokens, Bedrock API keys, IAM-style denials and STS on FakeBedrock."""

from __future__ import annotations

import datetime as dt
import json
import time

import anthropic
import httpx2
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from providers.fakes import FakeBedrock

from .conftest import ACCOUNT, AKID, BEARER, HAIKU_PROFILE, LEGACY_VERSION, NO_RETRY, SECRET, boto_client

BODY = json.dumps(
    {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
)
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
    "Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."


def error_of(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    return {**exc.value.response["Error"], "Status": exc.value.response["ResponseMetadata"]["HTTPStatusCode"]}


def signed_post(
    url: str, *, service: str = "bedrock", region: str = "us-east-1", when: dt.datetime | None = None, body: str = BODY
) -> httpx2.Response:
    """Sign with botocore's signer but a chosen timestamp/service, then send with a plain HTTP client."""
    signer = SigV4Auth(Credentials(AKID, SECRET), service, region)
    request = AWSRequest(method="POST", url=url, data=body.encode(), headers={"Content-Type": "application/json"})
    stamp = (when or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    request.context["timestamp"] = stamp
    request.headers["X-Amz-Date"] = stamp
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    signed = signer.signed_headers(signer.headers_to_sign(request))
    request.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, SignedHeaders={signed}, Signature={signature}"
    )
    return httpx2.post(url, content=body.encode(), headers=dict(request.headers.items()))


def test_valid_signature_via_manual_signing(fake_bedrock):
    resp = signed_post(f"{fake_bedrock.url}/model/{HAIKU_PROFILE}/invoke")
    assert resp.status_code == 200 and resp.json()["type"] == "message"


def test_unknown_key_and_bad_secret(fake_bedrock):
    unknown = boto_client("bedrock-runtime", fake_bedrock, access_key="AKIAUNKNOWN000000000")
    assert error_of(unknown.invoke_model, modelId=HAIKU_PROFILE, body=BODY) == {
        "Code": "UnrecognizedClientException",
        "Message": INVALID_TOKEN,
        "Status": 403,
    }
    wrong = boto_client("bedrock-runtime", fake_bedrock, secret="not-the-secret")
    assert error_of(wrong.invoke_model, modelId=HAIKU_PROFILE, body=BODY) == {
        "Code": "InvalidSignatureException",
        "Message": SIGNATURE_MISMATCH,
        "Status": 403,
    }


def test_body_is_covered_by_the_signature(runtime, fake_bedrock):
    def tamper(request, **_):
        request.body = request.body.replace(b'"hi"', b'"yo"')  # same length, after signing

    runtime.meta.events.register("before-send.bedrock-runtime.InvokeModel", tamper)
    assert error_of(runtime.invoke_model, modelId=HAIKU_PROFILE, body=BODY)["Code"] == "InvalidSignatureException"
    assert fake_bedrock.requests[-1].json["messages"][0]["content"] == "yo"


def test_scope_service_region_and_clock_checks(fake_bedrock):
    url = f"{fake_bedrock.url}/model/{HAIKU_PROFILE}/invoke"
    wrong_service = signed_post(url, service="sts")
    assert wrong_service.status_code == 403
    assert wrong_service.json()["message"] == "Credential should be scoped to correct service: 'bedrock'. "
    assert wrong_service.headers["x-amzn-errortype"].startswith("InvalidSignatureException:")
    wrong_region = signed_post(url, region="mars-east-1")
    assert "Credential should be scoped to a valid region" in wrong_region.json()["message"]
    stale = signed_post(url, when=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20))
    assert stale.status_code == 403 and stale.json()["message"].startswith("Signature expired:")
    unsigned = httpx2.post(url, content=BODY)
    assert unsigned.status_code == 403 and unsigned.json()["message"] == "Missing Authentication Token"


def test_session_token_credentials():
    creds = {"ASIAFAKESESSION00001": ("session-secret", "session-token-1")}
    with FakeBedrock(credentials=creds) as server:
        good = boto_client(
            "bedrock-runtime",
            server,
            access_key="ASIAFAKESESSION00001",
            secret="session-secret",
            token="session-token-1",
        )
        assert good.invoke_model(modelId=HAIKU_PROFILE, body=BODY)["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert server.requests[-1].headers["X-Amz-Security-Token"] == "<redacted>"
        for token in ("other-token", None):
            bad = boto_client(
                "bedrock-runtime", server, access_key="ASIAFAKESESSION00001", secret="session-secret", token=token
            )
            assert error_of(bad.invoke_model, modelId=HAIKU_PROFILE, body=BODY)["Code"] == "UnrecognizedClientException"


def test_boto3_bearer_token_over_https(monkeypatch):
    with FakeBedrock(bearer_tokens={BEARER}, tls=True) as server:
        assert server.url.startswith("https://") and open(server.ca_bundle).read().startswith("-----BEGIN CERT")
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", BEARER)
        rt = boto_client("bedrock-runtime", server, access_key=None, secret=None, verify=server.ca_bundle)
        resp = rt.invoke_model(modelId=HAIKU_PROFILE, body=BODY)
        assert json.loads(resp["body"].read())["type"] == "message"
        assert server.requests[-1].headers["Authorization"] == "<redacted>"
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-wrong")
        bad = boto_client("bedrock-runtime", server, access_key=None, secret=None, verify=server.ca_bundle)
        err = error_of(bad.invoke_model, modelId=HAIKU_PROFILE, body=BODY)
        assert (err["Code"], err["Status"]) == ("AccessDeniedException", 403)
        assert "API Key" in err["Message"]


def test_bearer_needs_call_with_bearer_token_permission():
    with FakeBedrock(bearer_tokens={BEARER}, denied_actions={BEARER: {"bedrock:CallWithBearerToken"}}) as server:
        client = anthropic.AnthropicBedrock(aws_region="us-east-1", api_key=BEARER, base_url=server.url, max_retries=0)
        with pytest.raises(anthropic.PermissionDeniedError) as exc:
            client.messages.create(model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=10, messages=[{"role": "user", "content": "x"}])
        assert "not authorized to perform: bedrock:CallWithBearerToken" in exc.value.body["message"]


def test_authorization_happens_before_body_validation():
    denied = {"bedrock:InvokeModelWithResponseStream"}
    with FakeBedrock(credentials={AKID: SECRET}, denied_actions=denied) as server:
        rt = boto_client("bedrock-runtime", server)
        invalid = json.dumps({"messages": []})
        assert error_of(rt.invoke_model, modelId=HAIKU_PROFILE, body=invalid)["Code"] == "ValidationException"
        err = error_of(rt.invoke_model_with_response_stream, modelId=HAIKU_PROFILE, body=invalid)
        assert (err["Code"], err["Status"]) == ("AccessDeniedException", 403)
        assert err["Message"].startswith(
            f"User: arn:aws:iam::{ACCOUNT}:user/fake is not authorized to perform: "
            f"bedrock:InvokeModelWithResponseStream on resource: "
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/{HAIKU_PROFILE}"
        )
        err = error_of(
            rt.invoke_model_with_response_stream, modelId="anthropic.claude-haiku-4-5-20251001-v1:0", body=invalid
        )
        assert "on resource: arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku" in err["Message"]


def test_denied_actions_per_identity():
    other = "AKIAFAKEEXAMPLE0002"
    with FakeBedrock(
        credentials={AKID: SECRET, other: "s2"}, denied_actions={other: {"bedrock:InvokeModel"}}
    ) as server:
        assert boto_client("bedrock-runtime", server).invoke_model(modelId=HAIKU_PROFILE, body=BODY)
        limited = boto_client("bedrock-runtime", server, access_key=other, secret="s2")
        assert error_of(limited.invoke_model, modelId=HAIKU_PROFILE, body=BODY)["Code"] == "AccessDeniedException"
        bedrock = anthropic.AnthropicBedrock(
            aws_region="us-east-1", aws_access_key=other, aws_secret_key="s2", base_url=server.url, max_retries=0
        )
        with pytest.raises(anthropic.PermissionDeniedError, match="bedrock:InvokeModel on resource"):
            bedrock.messages.create(model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=5, messages=[{"role": "user", "content": "x"}])


def test_sts_get_caller_identity(fake_bedrock):
    ident = boto_client("sts", fake_bedrock).get_caller_identity()
    assert ident["Account"] == ACCOUNT and ident["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/fake"
    assert ident["UserId"].startswith("AIDA")
    assert fake_bedrock.requests[-1].form["Action"] == "GetCallerIdentity"
    wrong = boto_client("sts", fake_bedrock, secret="bad")
    assert error_of(wrong.get_caller_identity)["Code"] == "SignatureDoesNotMatch"
    unknown = boto_client("sts", fake_bedrock, access_key="AKIANOPE")
    assert error_of(unknown.get_caller_identity)["Code"] == "InvalidClientTokenId"


def test_assume_role_then_use_the_session(fake_bedrock):
    role = f"arn:aws:iam::{ACCOUNT}:role/bedrock-caller"
    before = dt.datetime.now(dt.UTC)
    out = boto_client("sts", fake_bedrock).assume_role(RoleArn=role, RoleSessionName="bench-1", DurationSeconds=1800)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    assert dt.timedelta(seconds=1790) < creds["Expiration"] - before < dt.timedelta(seconds=1810)
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/bedrock-caller/bench-1"
    session = {"access_key": creds["AccessKeyId"], "secret": creds["SecretAccessKey"], "token": creds["SessionToken"]}
    who = boto_client("sts", fake_bedrock, **session).get_caller_identity()
    assert who["Arn"] == out["AssumedRoleUser"]["Arn"] and who["UserId"].endswith(":bench-1")
    rt = boto_client("bedrock-runtime", fake_bedrock, **session)
    assert rt.invoke_model(modelId=HAIKU_PROFILE, body=BODY)["ResponseMetadata"]["HTTPStatusCode"] == 200
    via_sdk = anthropic.AnthropicBedrock(
        aws_region="us-east-1",
        aws_access_key=session["access_key"],
        aws_secret_key=session["secret"],
        aws_session_token=session["token"],
        base_url=fake_bedrock.url,
        max_retries=0,
    )
    assert via_sdk.messages.create(model=HAIKU_PROFILE, extra_body=LEGACY_VERSION, max_tokens=5, messages=[{"role": "user", "content": "x"}])
    # Once the session expires the same credentials are refused.
    fake_bedrock.identities.by_access_key(creds["AccessKeyId"]).expires_at = time.time() - 1
    assert error_of(rt.invoke_model, modelId=HAIKU_PROFILE, body=BODY)["Code"] == "ExpiredTokenException"


def test_assume_role_policies():
    role = f"arn:aws:iam::{ACCOUNT}:role/allowed"
    with FakeBedrock(credentials={AKID: SECRET}, allowed_roles={role: "ext-123"}) as server:
        sts = boto_client("sts", server)
        assert sts.assume_role(RoleArn=role, RoleSessionName="ok", ExternalId="ext-123")["Credentials"]
        err = error_of(sts.assume_role, RoleArn=role, RoleSessionName="ok", ExternalId="wrong")
        assert (err["Code"], err["Status"]) == ("AccessDenied", 403)
        assert f"not authorized to perform: sts:AssumeRole on resource: {role}" in err["Message"]
        other = f"arn:aws:iam::{ACCOUNT}:role/other"
        assert (
            error_of(sts.assume_role, RoleArn=other, RoleSessionName="ok", ExternalId="ext-123")["Code"]
            == "AccessDenied"
        )
        loose = boto_client("sts", server, config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))
        err = error_of(loose.assume_role, RoleArn=role, RoleSessionName="ok", ExternalId="ext-123", DurationSeconds=60)
        assert err["Code"] == "ValidationError" and "durationSeconds" in err["Message"]


def test_no_retry_config_is_really_single_shot(fake_bedrock):
    # Guard for the other tests: NO_RETRY must mean exactly one HTTP attempt.
    rt = boto_client("bedrock-runtime", fake_bedrock, config=NO_RETRY, secret="bad")
    error_of(rt.invoke_model, modelId=HAIKU_PROFILE, body=BODY)
    assert len(fake_bedrock.requests) == 1
