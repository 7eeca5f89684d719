"""A stored secret is only sent where it was saved; env-var names never point at the app's own settings.

Each exfiltration attempt aims at a local listener socket that records every byte it receives:
nothing must arrive there.
"""
from pathlib import Path

import pytest
from django.urls import reverse

from providers import crypto, secret_env, validation
from providers.config_yaml import ConfigFileError, parse_config
from providers.environment import env_secret
from providers.models import ProviderConfig
from providers.resolve import build_settings
from tests.providers.conftest import (
    ANTHROPIC_KEY,
    AWS_SECRET,
    BEDROCK_API_KEY,
    make_anthropic,
    make_bedrock,
)
from tests.providers.test_test_connection import anthropic_form, bedrock_form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]
ROOT = Path(__file__).resolve().parents[2]


def post_step(client, data, step="credentials"):
    response = client.post(reverse("providers:test-connection", args=[step]), {**data, "run": ""})
    assert response.status_code == 200
    return response.content.decode()


# --- test connection: a changed destination never receives the stored secret ------------------------

def test_changed_base_url_with_blank_key_sends_nothing_and_asks_for_the_key(staff_client, anthropic_api, listener):
    config = make_anthropic(server=anthropic_api)
    html = post_step(staff_client, anthropic_form(anthropic_api, api_key="", base_url=listener.url,
                                                  provider_id=str(config.pk)))
    assert "Base URL changed: enter the api key again" in html
    assert "nothing was sent" in html
    assert listener.connections == 0 and ANTHROPIC_KEY.encode() not in listener.received


def test_every_step_with_a_changed_base_url_sends_nothing(staff_client, anthropic_api, listener):
    config = make_anthropic(server=anthropic_api)
    for step in ("credentials", "permissions", "models", "live", "streaming"):
        post_step(staff_client, anthropic_form(anthropic_api, api_key="", base_url=listener.url,
                                               provider_id=str(config.pk)), step)
    assert listener.connections == 0


def test_same_base_url_with_blank_key_still_uses_the_stored_key(staff_client, anthropic_api):
    config = make_anthropic(server=anthropic_api)
    html = post_step(staff_client, anthropic_form(anthropic_api, api_key="", provider_id=str(config.pk)))
    assert 'class="step ok"' in html


def test_changed_base_url_with_the_key_typed_again_is_tested(staff_client, anthropic_api, listener):
    config = make_anthropic(server=anthropic_api, base_url=listener.url)
    html = post_step(staff_client, anthropic_form(anthropic_api, provider_id=str(config.pk)))
    assert 'class="step ok"' in html  # the key the user typed goes where the user typed


@pytest.mark.parametrize("field", ["endpoint_url", "control_endpoint_url", "sts_endpoint_url"])
def test_changed_bedrock_endpoint_with_blank_bedrock_api_key_sends_nothing(staff_client, bedrock_api, listener,
                                                                           field):
    config = make_bedrock(server=bedrock_api, auth_mode="api_key", aws_access_key_id="",
                          aws_secret_access_key_encrypted="", bedrock_api_key_env="",
                          bedrock_api_key_encrypted=crypto.encrypt(BEDROCK_API_KEY))
    data = bedrock_form(bedrock_api, auth_mode="api_key", bedrock_api_key_source="stored", bedrock_api_key="",
                        aws_secret_access_key="", provider_id=str(config.pk), **{field: listener.url})
    for step in ("credentials", "live"):
        html = post_step(staff_client, data, step)
        assert "enter the bedrock api key again" in html
    assert listener.connections == 0 and BEDROCK_API_KEY.encode() not in listener.received


@pytest.mark.parametrize("change", [{"aws_region": "eu-west-1"}, {"sts_endpoint_url": "LISTENER"},
                                    {"endpoint_url": "LISTENER"}])
def test_changed_destination_with_blank_aws_secret_sends_nothing(staff_client, bedrock_api, listener, change):
    config = make_bedrock(server=bedrock_api)
    change = {k: (listener.url if v == "LISTENER" else v) for k, v in change.items()}
    data = bedrock_form(bedrock_api, aws_secret_access_key="", provider_id=str(config.pk), **change)
    html = post_step(staff_client, data)
    assert "enter the secret access key again" in html
    assert listener.connections == 0


def test_saving_a_changed_destination_needs_the_secret_again_and_keeps_the_old_config(staff_client, anthropic_api,
                                                                                      listener):
    config = make_anthropic(server=anthropic_api)
    data = anthropic_form(anthropic_api, api_key="", base_url=listener.url)
    response = staff_client.post(reverse("providers:edit", args=[config.pk]), data)
    assert response.status_code == 400
    assert "enter the api key again" in response.content.decode()
    config.refresh_from_db()
    assert config.base_url == anthropic_api.url
    assert crypto.decrypt(config.api_key_encrypted) == ANTHROPIC_KEY


def test_to_config_never_keeps_a_stored_secret_for_a_new_destination(anthropic_api, listener):
    from providers.kinds.anthropic import AnthropicProviderForm

    config = make_anthropic(server=anthropic_api)
    form = AnthropicProviderForm(anthropic_form(anthropic_api, api_key="", base_url=listener.url), instance=config)
    assert not form.is_valid()
    form.cleaned_data.setdefault("api_key", "")
    assert form.to_config().api_key_encrypted == ""


# --- env-var names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DATABASE_URL", "CACHE_URL",
                                  "CELERY_BROKER_URL", "EMAIL_HOST_PASSWORD", "MOMENTS_ADMIN_PASSWORD",
                                  "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "secret_key", "PGPASSWORD"])
def test_app_settings_are_refused_as_secret_env_names(name):
    with pytest.raises(ValueError, match=name):
        validation.env_name(name)


@pytest.mark.parametrize("name", ["ANTHROPIC_API_KEY", "AWS_BEARER_TOKEN_BEDROCK", "NEXT_PUBLIC_ANTHROPIC_API_KEY",
                                  "TEAM_ANTHROPIC_KEY"])
def test_provider_secret_names_are_accepted(name):
    assert validation.env_name(name) == name


def test_allowlist_when_set_is_the_only_names_accepted(settings):
    settings.PROVIDER_SECRET_ENV_ALLOWLIST = ["TEAM_ANTHROPIC_KEY"]
    assert validation.env_name("TEAM_ANTHROPIC_KEY") == "TEAM_ANTHROPIC_KEY"
    with pytest.raises(ValueError, match="PROVIDER_SECRET_ENV_ALLOWLIST"):
        validation.env_name("ANTHROPIC_API_KEY")
    settings.PROVIDER_SECRET_ENV_ALLOWLIST = ["SECRET_KEY"]  # the denylist still wins
    with pytest.raises(ValueError, match="own settings"):
        validation.env_name("SECRET_KEY")


def _env_names_in(path, pattern):
    import re

    return set(re.findall(pattern, (ROOT / path).read_text(), flags=re.M))


def test_every_variable_the_app_reads_is_denied_except_provider_secrets():
    names = _env_names_in(".env.example", r"^([A-Z][A-Z0-9_]+)=")
    names |= _env_names_in("moments_admin/settings.py", r"env_\w+\(\s*\"([A-Z][A-Z0-9_]+)\"")
    assert "SECRET_KEY" in names and "DATABASE_URL" in names
    readable = {name for name in names if secret_env.refusal(name) is None}
    assert readable <= secret_env.PROVIDER_SECRET_NAMES, f"app settings usable as provider secrets: {readable}"


def test_stored_bad_env_name_is_never_read_nor_sent(staff_client, anthropic_api, listener, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "django-secret-key-CANARY-0001")
    config = make_anthropic(api_key_env="SECRET_KEY", api_key_encrypted="", base_url=listener.url)
    assert env_secret("SECRET_KEY") is None
    resolved = build_settings(config)
    assert resolved.settings.api_key is None
    assert any("own settings" in message for _, message in resolved.problems)
    html = post_step(staff_client, {"kind": "anthropic", "name": config.name, "enabled": "on",
                                    "timeout_seconds": "20", "verify_tls": "on", "api_key_source": "env",
                                    "api_key_env": "SECRET_KEY", "base_url": listener.url,
                                    "provider_id": str(config.pk)})
    assert "own settings" in html
    assert listener.connections == 0


def test_form_refuses_secret_key_as_env_name(staff_client):
    response = staff_client.post(reverse("providers:create"), {
        "kind": "anthropic", "name": "exfil", "enabled": "on", "timeout_seconds": "60", "verify_tls": "on",
        "api_key_source": "env", "api_key_env": "SECRET_KEY", "base_url": ""})
    assert response.status_code == 400 and "own settings" in response.content.decode()
    assert not ProviderConfig.objects.exists()


def test_config_yml_refuses_app_settings_as_env_names():
    text = ("model_provider:\n  type: bedrock\n  bedrock:\n    aws_region: us-east-1\n    auth_mode: api_key\n"
            "    bedrock_api_key_env: FIELD_ENCRYPTION_KEY\n")
    with pytest.raises(ConfigFileError) as caught:
        parse_config(text)
    assert any("FIELD_ENCRYPTION_KEY" in issue.message and issue.path.endswith("bedrock_api_key_env")
               for issue in caught.value.issues)


def clients(staff_user, member_user):
    """A logged-in client per role (the staff_client and member_client fixtures share one client)."""
    from django.test import Client

    out = []
    for user in (staff_user, member_user):
        client = Client()
        client.force_login(user)
        out.append(client)
    return out


def test_pages_never_show_characters_of_an_env_var(staff_user, member_user, monkeypatch):
    value = "sk-ant-env-value-CANARY-9f3k"
    monkeypatch.setenv("TEAM_ANTHROPIC_KEY", value)
    config = make_anthropic(api_key_env="TEAM_ANTHROPIC_KEY", api_key_encrypted="")
    resolved = build_settings(config)
    assert resolved.sources["api_key"] == "env TEAM_ANTHROPIC_KEY (set)"
    for client in clients(staff_user, member_user):
        for url in (reverse("providers:environment"), reverse("providers:list")):
            html = client.get(url).content.decode()
            assert value[-4:] not in html and value not in html


def test_aws_access_key_id_is_not_shown_to_non_staff(staff_user, member_user):
    staff_client, member_client = clients(staff_user, member_user)
    make_bedrock(server=None)
    akid = ProviderConfig.objects.get().aws_access_key_id
    member_html = member_client.get(reverse("providers:environment")).content.decode()
    assert akid not in member_html and akid[-4:] not in member_html
    staff_html = staff_client.get(reverse("providers:environment")).content.decode()
    assert akid not in staff_html and f"set, ends {akid[-4:]}" in staff_html


def test_aws_secret_is_still_usable_through_auth_mode_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVTEST000000001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    config = make_bedrock(auth_mode="env", aws_access_key_id="", aws_secret_access_key_encrypted="")
    assert build_settings(config).settings.aws_secret_access_key == AWS_SECRET



def test_test_connection_names_the_env_var_but_shows_none_of_its_value(staff_client, anthropic_api, monkeypatch):
    monkeypatch.setenv("TEAM_ANTHROPIC_KEY", ANTHROPIC_KEY)
    html = post_step(staff_client, anthropic_form(anthropic_api, api_key_source="env", api_key="",
                                                  api_key_env="TEAM_ANTHROPIC_KEY"))
    assert "API key env TEAM_ANTHROPIC_KEY accepted" in html
    # the value's own characters (its last four, "…-KEY" style hints) never appear: only the name
    assert "sk-ant-" not in html and f"…{ANTHROPIC_KEY[-4:]}" not in html


def test_config_yml_cannot_keep_a_stored_secret_for_a_new_destination(anthropic_api, listener):
    from providers.config_yaml import import_config

    config = make_anthropic(server=anthropic_api)
    moved = ("model_provider:\n  type: anthropic\n  anthropic:\n    api_key_stored: true\n"
             f"    base_url: {listener.url}\n")
    with pytest.raises(ConfigFileError) as caught:
        import_config(moved)
    assert any(issue.path.endswith("base_url") and "only sent where it was saved" in issue.message
               for issue in caught.value.issues)
    config.refresh_from_db()
    assert config.base_url == anthropic_api.url  # nothing changed
    same = moved.replace(listener.url, anthropic_api.url)
    import_config(same)  # the same destination keeps the stored key
    assert crypto.decrypt(ProviderConfig.objects.get(name="anthropic").api_key_encrypted) == ANTHROPIC_KEY


def test_config_yml_cannot_move_a_stored_bedrock_secret_to_another_region():
    make_bedrock()
    text = ("model_provider:\n  type: bedrock\n  bedrock:\n    aws_region: eu-west-1\n    auth_mode: static_keys\n"
            "    aws_access_key_id: AKIACFGTEST000000001\n    aws_secret_access_key_stored: true\n")
    with pytest.raises(ConfigFileError) as caught:
        parse_config(text)
    assert any(issue.path.endswith("aws_region") for issue in caught.value.issues)
    assert parse_config(text.replace("eu-west-1", "us-east-1"))  # where it was saved: accepted
