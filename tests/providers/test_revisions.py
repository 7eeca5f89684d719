"""Revisions: every change makes one (who, when, what), secrets redacted in the diff, one-click restore."""
import pytest
from django.urls import reverse

from providers import crypto
from providers.models import ConfigRevision, ProviderConfig, ProviderRouting
from tests.providers.conftest import AKID, AWS_SECRET, assert_no_secrets

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]


def create_bedrock(client, **changes):
    data = {"kind": "bedrock", "name": "bedrock", "enabled": "on", "timeout_seconds": "60", "verify_tls": "on",
            "aws_region": "us-east-1", "auth_mode": "static_keys", "aws_access_key_id": AKID,
            "aws_secret_access_key": AWS_SECRET, "bedrock_api_key_source": "env",
            "bedrock_api_key_env": "AWS_BEARER_TOKEN_BEDROCK", "role_session_name": "moments-admin",
            "role_duration_seconds": "3600"}
    data.update(changes)
    return data


def test_every_change_makes_a_revision_with_who_and_what(staff_client, staff_user):
    assert staff_client.post(reverse("providers:create"), create_bedrock(staff_client)).status_code == 302
    config = ProviderConfig.objects.get()
    staff_client.post(reverse("providers:edit", args=[config.pk]),
                      create_bedrock(staff_client, aws_region="eu-west-1", aws_secret_access_key="rotated-secret-1234"))
    staff_client.post(reverse("providers:routing"), {"primary": "bedrock", "fallback_1": "", "auto_fallback": "on",
                                                      "primary_development": "", "primary_staging": "",
                                                      "primary_production": ""})
    staff_client.post(reverse("providers:delete", args=[config.pk]))
    summaries = list(ConfigRevision.objects.order_by("pk").values_list("summary", "username"))
    assert summaries == [("Added provider bedrock", "alice"), ("Changed provider bedrock", "alice"),
                         ("Changed primary and fallbacks", "alice"), ("Removed provider bedrock", "alice")]


def test_diff_redacts_secrets(staff_client):
    staff_client.post(reverse("providers:create"), create_bedrock(staff_client))
    config = ProviderConfig.objects.get()
    staff_client.post(reverse("providers:edit", args=[config.pk]),
                      create_bedrock(staff_client, aws_region="eu-west-1", aws_secret_access_key="rotated-secret-1234"))
    revision = ConfigRevision.objects.order_by("-pk").first()
    html = staff_client.get(reverse("providers:revision", args=[revision.pk])).content.decode()
    assert "providers.bedrock.aws_region" in html and "eu-west-1" in html
    assert "providers.bedrock.aws_secret_access_key" in html and "set (changed)" in html
    assert_no_secrets(html)
    assert "rotated-secret-1234" not in html
    assert revision.snapshot["providers"][0]["aws_secret_access_key_encrypted"] not in html


def test_restore_brings_back_the_earlier_configuration_and_secret(staff_client):
    staff_client.post(reverse("providers:create"), create_bedrock(staff_client))
    first = ConfigRevision.objects.get()
    config = ProviderConfig.objects.get()
    staff_client.post(reverse("providers:edit", args=[config.pk]),
                      create_bedrock(staff_client, aws_region="eu-west-1", aws_secret_access_key="rotated-secret-1234",
                                     map_opus="eu.anthropic.claude-opus-4-5-20251101-v1:0"))
    staff_client.post(reverse("providers:create"), create_bedrock(staff_client, name="bedrock-two"))
    url = reverse("providers:revision-restore", args=[first.pk])
    for ask in (staff_client.get(url), staff_client.post(url)):  # a POST without confirm only asks too
        html = ask.content.decode()
        assert ask.status_code == 200 and "Yes, restore revision" in html and "eu-west-1" in html
        assert ProviderConfig.objects.filter(name="bedrock-two").exists()
    response = staff_client.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    restored = ProviderConfig.objects.get()
    assert (restored.name, restored.aws_region, restored.model_mapping) == ("bedrock", "us-east-1", {})
    assert crypto.decrypt(restored.aws_secret_access_key_encrypted) == AWS_SECRET
    assert ConfigRevision.objects.order_by("-pk").first().summary.startswith(f"Restored revision #{first.pk}")


def test_restore_of_the_current_state_offers_nothing(staff_client):
    staff_client.post(reverse("providers:create"), create_bedrock(staff_client))
    revision = ConfigRevision.objects.get()
    html = staff_client.get(reverse("providers:revision", args=[revision.pk])).content.decode()
    assert "this is the current configuration" in html


def test_members_see_revisions_but_cannot_restore(member_client, staff_user):
    from providers.changes import save_provider
    from tests.providers.conftest import make_bedrock

    save_provider(make_bedrock(), staff_user)
    revision = ConfigRevision.objects.get()
    ProviderConfig.objects.all().delete()
    assert member_client.get(reverse("providers:revisions")).status_code == 200
    assert member_client.get(reverse("providers:revision", args=[revision.pk])).status_code == 200
    assert member_client.post(reverse("providers:revision-restore", args=[revision.pk])).status_code == 403
    assert not ProviderConfig.objects.exists()


def test_renaming_a_provider_keeps_routing_references(staff_client):
    staff_client.post(reverse("providers:create"), create_bedrock(staff_client))
    config = ProviderConfig.objects.get()
    assert ProviderRouting.load().primary == "bedrock"  # the first provider becomes primary
    staff_client.post(reverse("providers:edit", args=[config.pk]), create_bedrock(staff_client, name="bedrock-us",
                                                                                  aws_secret_access_key=""))
    assert ProviderRouting.load().primary == "bedrock-us"
