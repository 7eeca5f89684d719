"""Each Bedrock auth mode uses only its own credentials, and credential failures are ProviderErrors
that name the real profile, keep the source's own message, fail over and are recorded."""
import sys

import pytest

from providers.call_records import CallContext
from providers.calls import invoke
from providers.clients.aws_credentials import _assumed
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.registry import get_client
from tests.fake_providers import AWS_KEY_ID, AWS_SECRET, anthropic_settings, bedrock_settings, model_calls
from usage.models import UsageRecord

HELLO = {"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]}
ROLE = "arn:aws:iam::123456789012:role/MomentsBedrock"


@pytest.fixture
def aws_files(monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def failing_process_profile(tmp_path, name="broken"):
    script = tmp_path / "creds.py"
    script.write_text("import sys\nsys.stderr.write('token for corp-vault expired; run vault login')\nsys.exit(1)\n")
    (tmp_path / "config").write_text(f"[profile {name}]\ncredential_process = {sys.executable} {script}\n")


@pytest.mark.django_db
def test_a_failing_credential_process_is_recorded_named_and_fails_over(bedrock_fake, anthropic_fake, aws_files):
    failing_process_profile(aws_files)
    bedrock = bedrock_settings(bedrock_fake, name="bedrock", auth_mode="profile", aws_profile="broken",
                               aws_access_key_id=None, aws_secret_access_key=None)
    result = invoke([bedrock, anthropic_settings(anthropic_fake, name="anthropic")], HELLO)
    assert result.provider_name == "anthropic" and result.failed_over
    failed = UsageRecord.objects.get(provider_name="bedrock")
    assert failed.status == "authentication"
    with pytest.raises(ProviderError) as caught:
        invoke([bedrock], HELLO, CallContext(purpose="test"))
    assert caught.value.kind is ErrorKind.AUTHENTICATION
    assert "'broken'" in caught.value.message and "vault login" in caught.value.message


def test_the_default_chain_names_the_profile_in_use_not_none(bedrock_fake, aws_files, monkeypatch):
    failing_process_profile(aws_files, name="team")
    monkeypatch.setenv("AWS_PROFILE", "team")
    settings = bedrock_settings(bedrock_fake, auth_mode="default_chain", aws_access_key_id=None,
                                aws_secret_access_key=None)
    with pytest.raises(ProviderError) as caught:
        # identity() resolves credentials afresh (the SDK caches its default-chain session per process)
        get_client(settings).identity()
    assert "'team'" in caught.value.message and "None" not in str(caught.value)


@pytest.mark.parametrize("mode", ["static_keys", "env", "default_chain"])
def test_an_ambient_bedrock_bearer_token_is_ignored_by_sigv4_modes(bedrock_fake, aws_files, monkeypatch, mode):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "ambient-token-that-must-not-be-sent")
    if mode != "static_keys":
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", AWS_KEY_ID)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    keys = {} if mode == "static_keys" else {"aws_access_key_id": None, "aws_secret_access_key": None}
    # The SDK keeps one default-chain boto3 session per region for the whole process: a region no
    # other test uses gives this test the credentials it sets.
    region = {"default_chain": "us-west-2"}.get(mode, "us-east-1")
    settings = bedrock_settings(bedrock_fake, auth_mode=mode, aws_region=region, **keys)
    # The fake refuses unknown bearer tokens, so an answer already says the ambient one was not sent.
    assert get_client(settings).create_message(HELLO).usage.output_tokens > 0
    [call] = model_calls(bedrock_fake)
    assert {k.lower() for k in call.headers} >= {"authorization", "x-amz-date"}  # SigV4-signed


def test_the_assumed_role_cache_is_keyed_by_the_base_secret(bedrock_fake, aws_files):
    _assumed.clear()
    good = bedrock_settings(bedrock_fake, role_arn=ROLE)
    assert get_client(good).identity().arn.endswith("/moments-admin")
    mistyped = bedrock_settings(bedrock_fake, role_arn=ROLE, aws_secret_access_key="mistyped-secret")
    with pytest.raises(ProviderError) as caught:
        get_client(mistyped).identity()  # must not reuse the role assumed with the right secret
    assert caught.value.kind is ErrorKind.AUTHENTICATION
    renamed = bedrock_settings(bedrock_fake, role_arn=ROLE, role_session_name="other-session")
    assert get_client(renamed).identity().arn.endswith("/other-session")
    durations = [r.form.get("DurationSeconds") for r in bedrock_fake.requests if (r.form or {}).get("Action") == "AssumeRole"]
    longer = bedrock_settings(bedrock_fake, role_arn=ROLE, role_duration_seconds=7200)
    get_client(longer).identity()  # a different duration is a different answer: assumed again
    assert [r.form.get("DurationSeconds") for r in bedrock_fake.requests
            if (r.form or {}).get("Action") == "AssumeRole"] == [*durations, "7200"]
