"""Secrets canaries: providers holding unique canary secrets; no page (as staff and as a member), export
or captured log (at DEBUG) contains one. The AWS access key ID never reaches a member."""
import logging

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from providers import crypto
from providers.connection_test import STEPS
from providers.models import ProviderConfig
from providers.revisions import record_revision
from tests.providers.conftest import AKID, AWS_SECRET, bedrock_endpoints
from tests.providers.test_test_connection import bedrock_form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]

CANARIES = {
    "stored anthropic key": "sk-ant-anthropic-stored-CANARY-7Qx2",
    "env anthropic key": "sk-ant-anthropic-env-CANARY-9Vw4",
    "stored bedrock api key": "bedrock-bearer-stored-CANARY-3Hm8",
    "env bedrock api key": "bedrock-bearer-env-CANARY-5Kd1",
    "aws secret": "aws/access+secret-CANARY-8Jp6",
    "aws session token": "aws-session-token-CANARY-2Rt9",
}
CANARY_AKID = "AKIACANARYKEY0000042"


@pytest.fixture
def canary_providers(monkeypatch, staff_user, bedrock_api):
    monkeypatch.setenv("TEAM_ANTHROPIC_KEY", CANARIES["env anthropic key"])
    monkeypatch.setenv("TEAM_BEDROCK_KEY", CANARIES["env bedrock api key"])
    ProviderConfig.objects.create(name="anthropic", kind="anthropic", api_key_env="",
                                  api_key_encrypted=crypto.encrypt(CANARIES["stored anthropic key"]))
    ProviderConfig.objects.create(name="anthropic-env", kind="anthropic", api_key_env="TEAM_ANTHROPIC_KEY")
    ProviderConfig.objects.create(
        name="bedrock", kind="bedrock", aws_region="us-east-1", auth_mode="static_keys",
        aws_access_key_id=CANARY_AKID, aws_secret_access_key_encrypted=crypto.encrypt(CANARIES["aws secret"]),
        aws_session_token_encrypted=crypto.encrypt(CANARIES["aws session token"]))
    ProviderConfig.objects.create(name="bedrock-key", kind="bedrock", aws_region="us-east-1", auth_mode="api_key",
                                  bedrock_api_key_env="",
                                  bedrock_api_key_encrypted=crypto.encrypt(CANARIES["stored bedrock api key"]))
    ProviderConfig.objects.create(name="bedrock-env", kind="bedrock", aws_region="us-east-1", auth_mode="api_key",
                                  bedrock_api_key_env="TEAM_BEDROCK_KEY")
    # a provider that really runs test connection with static keys against the fake Bedrock
    ProviderConfig.objects.create(name="bedrock-fake", kind="bedrock", aws_region="us-east-1",
                                  auth_mode="static_keys", aws_access_key_id=AKID,
                                  aws_secret_access_key_encrypted=crypto.encrypt(AWS_SECRET),
                                  **bedrock_endpoints(bedrock_api))
    record_revision(staff_user, "canaries")
    return ProviderConfig.objects.all()


def leaks(text, *, member):
    # each canary ends in four characters found nowhere else, so even a "last four" hint is caught; staff
    # may see the last four of a stored secret (never of an env var), members nothing
    text = text.replace(AKID, "")  # the fake server's key ID is checked on its own in the log test
    found = [label for label, value in CANARIES.items()
             if value in text or ((member or label.startswith("env")) and value[-4:] in text)]
    if member and (CANARY_AKID in text or CANARY_AKID[-4:] in text):
        found.append("aws access key id")
    return found


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def page_urls(providers):
    from providers.models import ConfigRevision

    urls = [reverse(name) for name in (
        "home", "providers:list", "providers:environment", "providers:claude-code", "providers:config",
        "providers:config-export", "providers:revisions", "providers:status", "providers:migration",
        "usage:dashboard", "usage:export", "usage:prices", "usage:budgets")]
    urls += [reverse("providers:revision", args=[r.pk]) for r in ConfigRevision.objects.all()]
    urls += [reverse("providers:edit", args=[p.pk]) for p in providers]
    urls += [reverse("providers:create") + f"?kind={kind}" for kind in ("anthropic", "bedrock")]
    return urls


@pytest.mark.parametrize("role", ["staff", "member"])
def test_no_page_or_export_shows_a_canary(canary_providers, staff_user, member_user, role, monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "AWS_BEARER_TOKEN_BEDROCK"):  # selection picks any of them as primary
        monkeypatch.delenv(name, raising=False)
    client = client_for(staff_user if role == "staff" else member_user)
    for url in page_urls(canary_providers):
        response = client.get(url)
        assert response.status_code in (200, 302, 403), url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert leaks(body.decode(), member=role == "member") == [], url


def test_member_never_sees_the_access_key_id_even_in_the_environment_page(canary_providers, member_user, monkeypatch):
    from providers.models import ProviderRouting

    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "bedrock", "fallbacks": ["bedrock-key"]})
    html = client_for(member_user).get(reverse("providers:environment")).content.decode()
    assert "bedrock" in html and CANARY_AKID not in html and CANARY_AKID[-4:] not in html


def test_command_line_export_has_no_secret(canary_providers, capsys):
    call_command("export_config")
    assert leaks(capsys.readouterr().out, member=False) == []


def test_debug_logs_of_a_full_test_connection_hold_no_secret_nor_access_key_id(canary_providers, staff_user,
                                                                             bedrock_api, caplog):
    caplog.set_level(logging.DEBUG)
    config = ProviderConfig.objects.get(name="bedrock-fake")
    client = client_for(staff_user)
    data = bedrock_form(bedrock_api, name="bedrock-fake", aws_secret_access_key="", provider_id=str(config.pk))
    for step in STEPS:
        response = client.post(reverse("providers:test-connection", args=[step]), {**data, "run": ""})
        assert response.status_code == 200
    assert any("test connection bedrock-fake" in r.getMessage() for r in caplog.records)
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert AWS_SECRET not in text
    assert AKID not in text, [r.name for r in caplog.records if AKID in r.getMessage()]


def test_settings_redacted_hides_the_access_key_id():
    from providers.clients.base import ProviderSettings

    shown = ProviderSettings(kind="bedrock", aws_access_key_id=CANARY_AKID, aws_secret_access_key="x").redacted()
    assert CANARY_AKID not in repr(shown) and shown["aws_access_key_id"] == "<set>"
