"""The "Use with Claude Code" page: the env block matches the active provider and mapping, never a secret."""
import pytest
from django.urls import reverse

from providers.models import ProviderRouting
from tests.providers.conftest import ANTHROPIC_KEY, assert_no_secrets, make_anthropic, make_bedrock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]


def shell(client):
    response = client.get(reverse("providers:claude-code"))
    assert response.status_code == 200
    html = response.content.decode()
    assert_no_secrets(html)
    return html


def test_bedrock_block_matches_the_active_configuration(member_client, monkeypatch):
    make_bedrock(aws_region="eu-west-1", auth_mode="profile", aws_profile="prod", aws_access_key_id="",
                 aws_secret_access_key_encrypted="", model_mapping={"opus": "eu.anthropic.claude-opus-4-6-v1"})
    monkeypatch.setenv("MOMENTS_ENV", "production")
    html = shell(member_client)
    assert "export CLAUDE_CODE_USE_BEDROCK=1" in html
    assert "export AWS_REGION=eu-west-1" in html
    assert "export AWS_PROFILE=prod" in html
    assert "export ANTHROPIC_DEFAULT_OPUS_MODEL=eu.anthropic.claude-opus-4-6-v1" in html
    # haiku is Haiku 5.5, served in the EU only through its global profile
    assert "export ANTHROPIC_DEFAULT_HAIKU_MODEL=global.anthropic.claude-haiku-5-5" in html
    assert "export CLAUDE_CODE_MAX_OUTPUT_TOKENS=4096" in html and "export MAX_THINKING_TOKENS=1024" in html
    assert "&quot;CLAUDE_CODE_USE_BEDROCK&quot;: &quot;1&quot;" in html  # settings.json form


def test_bedrock_secrets_are_placeholders(member_client):
    make_bedrock()  # static keys stored encrypted
    html = shell(member_client)
    assert "AWS_SECRET_ACCESS_KEY=&quot;&lt;your secret access key&gt;&quot;" in html


def test_anthropic_block_and_env_caps(member_client, monkeypatch):
    make_anthropic(api_key_env="ANTHROPIC_API_KEY", api_key_encrypted="", base_url="https://proxy.example.test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("CLAUDE_CODE_MAX_OUTPUT_TOKENS", "8000")
    html = shell(member_client)
    assert "CLAUDE_CODE_USE_BEDROCK" not in html.split("<pre")[1]
    assert "export ANTHROPIC_BASE_URL=https://proxy.example.test" in html
    assert "export ANTHROPIC_MODEL=claude-sonnet" in html
    assert "export CLAUDE_CODE_MAX_OUTPUT_TOKENS=8000" in html


def test_follows_the_selection(member_client, monkeypatch):
    make_anthropic(position=0)
    make_bedrock(position=1)
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic"})
    assert "CLAUDE_CODE_USE_BEDROCK=1" not in shell(member_client)
    monkeypatch.setenv("CLAUDE_CODE_USE_BEDROCK", "1")
    assert "export CLAUDE_CODE_USE_BEDROCK=1" in shell(member_client)


def test_no_provider_says_so(member_client):
    assert "No provider is enabled yet." in shell(member_client)


def test_region_and_model_ids_come_from_one_resolution(member_client, monkeypatch):
    # A stored region wins over AWS_REGION; a blank one is filled in by it, for the IDs too.
    make_bedrock(aws_region="", auth_mode="profile", aws_profile="prod", aws_access_key_id="",
                 aws_secret_access_key_encrypted="", model_mapping={"haiku": "claude-haiku-4-5"})  # has geo profiles
    monkeypatch.setenv("MOMENTS_ENV", "production")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    html = shell(member_client)
    assert "export AWS_REGION=eu-west-1" in html
    assert "export ANTHROPIC_DEFAULT_HAIKU_MODEL=eu.anthropic.claude-haiku" in html  # not us. IDs
