"""Step 1's inline provider form (the real one: a configuration revision, secrets kept server-side, errors
keep what was typed) whose new provider becomes the target; providers:create coming back to the wizard."""
import pytest
from django.urls import reverse

from providers import crypto
from providers.migration import state
from providers.migration.models import Migration
from providers.models import ConfigRevision, ProviderConfig
from tests.providers.conftest import AKID, AWS_SECRET, assert_no_secrets

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def bedrock_post(**changes):
    data = {"kind": "bedrock", "name": "bedrock-eu", "enabled": "on", "timeout_seconds": "60", "verify_tls": "on",
            "aws_region": "eu-west-1", "auth_mode": "static_keys", "aws_access_key_id": AKID,
            "aws_secret_access_key": AWS_SECRET, "bedrock_api_key_source": "env",
            "bedrock_api_key_env": "AWS_BEARER_TOKEN_BEDROCK", "role_session_name": "moments-admin",
            "role_duration_seconds": "3600"}
    data.update(changes)
    return data


def test_step_one_shows_the_real_provider_form_posting_to_the_wizard(staff_client, pair):
    html = staff_client.get(reverse("providers:migration")).content.decode()
    assert 'id="new-target"' in html and 'id="provider-form"' in html
    assert f'hx-post="{reverse("migration:new-target")}"' in html and 'name="aws_region"' in html
    assert 'hx-push-url' not in html.split('id="new-target"')[1]  # the kind buttons leave the address alone
    kind = staff_client.get(reverse("migration:new-target") + "?kind=anthropic&name=typed", **HTMX)
    body = kind.content.decode()
    assert kind.status_code == 200 and 'name="api_key_source"' in body and 'value="typed"' in body


def test_the_new_provider_is_saved_as_a_revision_and_preselected_as_the_target(staff_client, pair):
    before = ConfigRevision.objects.count()
    response = staff_client.post(reverse("migration:new-target"), bedrock_post(), **HTMX)
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("providers:migration") + "?target=bedrock-eu"
    config = ProviderConfig.objects.get(name="bedrock-eu")
    assert crypto.decrypt(config.aws_secret_access_key_encrypted) == AWS_SECRET and config.aws_region == "eu-west-1"
    assert ConfigRevision.objects.count() == before + 1
    assert "migration wizard target" in ConfigRevision.objects.order_by("-pk").first().summary
    html = staff_client.get(response["HX-Redirect"]).content.decode()
    assert '<option value="bedrock-eu" selected>' in html and 'value="to_bedrock" required id="id_direction_0" checked' in html
    assert "selected below as the target" in html
    assert_no_secrets(html)


def test_the_new_provider_becomes_the_target_of_the_migration_in_progress(staff_client, pair, staff_user):
    migration = state.start("to_bedrock", "anthropic", "bedrock", staff_user)
    state.go_to(migration, 1, staff_user)
    response = staff_client.post(reverse("migration:new-target"), bedrock_post(), **HTMX)
    assert response.status_code == 204
    migration.refresh_from_db()
    assert (migration.source, migration.target, migration.step) == ("anthropic", "bedrock-eu", 2)
    html = staff_client.get(response["HX-Redirect"]).content.decode()
    assert "now the target of migration" in html and "2. Credentials for bedrock-eu" in html


def test_a_provider_of_the_wrong_kind_is_added_but_not_made_the_target(staff_client, pair, staff_user):
    migration = state.start("to_bedrock", "anthropic", "bedrock", staff_user)
    state.go_to(migration, 1, staff_user)
    data = {"kind": "anthropic", "name": "anthropic-two", "enabled": "on", "timeout_seconds": "60",
            "verify_tls": "on", "api_key_source": "env", "api_key_env": "ANTHROPIC_API_KEY"}
    response = staff_client.post(reverse("migration:new-target"), data, **HTMX)
    assert response.status_code == 204, response.content.decode()[:3000]
    migration.refresh_from_db()
    assert migration.target == "bedrock" and ProviderConfig.objects.filter(name="anthropic-two").exists()
    assert "cannot be the target" in staff_client.get(response["HX-Redirect"]).content.decode()


def test_errors_keep_the_typed_values_and_never_echo_the_secret(staff_client, pair):
    response = staff_client.post(reverse("migration:new-target"),
                                 bedrock_post(name="bedrock", aws_region="mars-1", timeout_seconds="45"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 400 and 'id="provider-form-body"' in html
    assert "A provider named bedrock already exists." in html and "mars-1 is not one of the available" in html
    assert 'name="timeout_seconds" value="45"' in html and f'value="{AKID}"' in html
    assert_no_secrets(html)
    assert not ProviderConfig.objects.filter(aws_region="mars-1").exists() and not Migration.objects.exists()
    # Without htmx: the whole wizard page again, the form open with what was typed.
    page = staff_client.post(reverse("migration:new-target"), bedrock_post(name="bedrock"))
    assert page.status_code == 400 and "already exists" in page.content.decode()
    assert '<details id="new-target" open>' in page.content.decode()
    assert_no_secrets(page.content.decode())


def test_members_neither_see_nor_use_the_inline_form(member_client, pair):
    assert 'id="new-target"' not in member_client.get(reverse("providers:migration")).content.decode()
    assert member_client.post(reverse("migration:new-target"), bedrock_post(), **HTMX).status_code == 403
    assert not ProviderConfig.objects.filter(name="bedrock-eu").exists()


def test_unknown_kinds_are_explained(staff_client, pair):
    response = staff_client.get(reverse("migration:new-target") + "?kind=nonsense", **HTMX)
    assert response.status_code == 400 and "use one of" in response.content.decode()


def test_create_provider_returns_to_a_wizard_next_url_only(staff_client, pair):
    wizard = reverse("providers:migration")
    response = staff_client.post(reverse("providers:create") + f"?kind=bedrock&next={wizard}", bedrock_post())
    assert response.status_code == 302 and response["Location"] == f"{wizard}?target=bedrock-eu"
    for bad in ("https://evil.example/providers/migration/", "//evil.example/", reverse("providers:status")):
        response = staff_client.post(reverse("providers:create"), bedrock_post(name="b-" + str(len(bad)), next=bad))
        assert response.status_code == 302 and response["Location"] == reverse("providers:list"), bad
    form = staff_client.get(reverse("providers:create") + f"?kind=bedrock&next={wizard}").content.decode()
    assert f'name="next" value="{wizard}"' in form and "?next=%2Fproviders%2Fmigration%2F&amp;kind=anthropic" in form
