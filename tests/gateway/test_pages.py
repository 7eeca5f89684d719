"""The Gateway keys page and `manage.py create_gateway_key`."""
import io

import pytest
from django.core.management import CommandError, call_command

from providers.gateway import services
from providers.gateway.keys import hash_key, keys
from providers.models import GatewayKey
from usage.models import Budget

pytestmark = pytest.mark.django_db


def create(client, **fields):
    data = {"label": "mobile", "owner": "app team", "allowed_models": "sonnet, haiku", "monthly_budget_usd": "25",
            "expires_on": ""}
    data.update(fields)
    return client.post("/gateway/keys/add/", data)


def test_staff_create_a_key_shown_once_and_stored_hashed(staff_client):
    answer = create(staff_client)
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    row = GatewayKey.objects.get(label="mobile")
    page = answer.content.decode()
    shown = page.split('<pre class="secret-once">')[1].split("</pre>")[0]
    assert hash_key(shown) == row.key_hash and row.allowed_models == ["sonnet", "haiku"]
    assert Budget.objects.get(scope="key", gateway_key="mobile").hard_stop
    listing = staff_client.get("/gateway/keys/").content.decode()
    assert "mobile" in listing and row.key_hint in listing and shown not in listing
    assert "$25.00" in listing and "sonnet, haiku" in listing


def test_members_see_the_list_but_cannot_change_it(member_client):
    key, _ = services.create_key("mobile")
    assert member_client.get("/gateway/keys/").status_code == 200
    assert create(member_client, label="other").status_code == 403
    assert member_client.post(f"/gateway/keys/{key.pk}/revoke/").status_code == 403
    assert member_client.post(f"/gateway/keys/{key.pk}/rotate/").status_code == 403
    assert member_client.get(f"/gateway/keys/{key.pk}/edit/").status_code == 403
    assert GatewayKey.objects.get().revoked_at is None


def test_anonymous_is_sent_to_login(client):
    answer = client.get("/gateway/keys/")
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"label": "has spaces"}, "letters"),
    ({"monthly_budget_usd": "-3"}, "greater than or equal"),
    ({"allowed_models": "sonnet <script>"}, "Not a model name"),
    ({"expires_on": "not-a-date"}, "valid date"),
])
def test_bad_input_is_a_clear_error_and_nothing_is_saved(staff_client, fields, message):
    answer = create(staff_client, **fields)
    assert answer.status_code == 400 and message in answer.content.decode()
    assert not GatewayKey.objects.exists() and not Budget.objects.exists()


def test_a_duplicate_name_is_refused(staff_client):
    create(staff_client)
    answer = create(staff_client)
    assert answer.status_code == 400 and "already exists" in answer.content.decode()
    assert GatewayKey.objects.count() == 1


def test_edit_changes_models_and_budget_and_clearing_the_budget_pauses_it(staff_client):
    create(staff_client)
    key = GatewayKey.objects.get()
    answer = staff_client.post(f"/gateway/keys/{key.pk}/edit/", {"owner": "new", "allowed_models": "opus",
                                                                  "monthly_budget_usd": "", "expires_on": ""})
    assert answer.status_code == 302
    key.refresh_from_db()
    assert key.owner == "new" and key.allowed_models == ["opus"] and key.monthly_budget_usd is None
    assert not Budget.objects.get(gateway_key="mobile").active


def test_rotate_shows_the_new_key_once_and_the_old_one_stops(staff_client):
    create(staff_client)
    key = GatewayKey.objects.get()
    old_hash = key.key_hash
    answer = staff_client.post(f"/gateway/keys/{key.pk}/rotate/")
    shown = answer.content.decode().split('<pre class="secret-once">')[1].split("</pre>")[0]
    key.refresh_from_db()
    assert key.key_hash == hash_key(shown) != old_hash and key.rotated_at is not None


def test_search_by_owner(staff_client):
    create(staff_client)
    create(staff_client, label="batch-jobs", owner="data team")
    page = staff_client.get("/gateway/keys/?q=data").content.decode()
    assert "batch-jobs" in page and "mobile" not in page


def test_the_command_prints_the_key_once():
    out = io.StringIO()
    call_command("create_gateway_key", "ci-bot", "--models", "sonnet,haiku", "--monthly-budget", "12.50",
                 stdout=out)
    key = out.getvalue().strip()
    row = GatewayKey.objects.get(label="ci-bot")
    assert row.key_hash == hash_key(key) and row.allowed_models == ["sonnet", "haiku"]
    assert str(row.monthly_budget_usd) == "12.50"
    keys.forget()
    assert keys.lookup(key).label == "ci-bot"


@pytest.mark.parametrize(("args", "message"), [
    (["bad name"], "label"), (["ok", "--monthly-budget", "lots"], "--monthly-budget"),
])
def test_the_command_refuses_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_gateway_key", *args, stdout=io.StringIO())
    assert not GatewayKey.objects.exists()


def test_the_claude_code_page_shows_the_gateway_settings(member_client):
    page = member_client.get("/providers/claude-code/").content.decode()
    assert "export ANTHROPIC_BASE_URL=http://testserver" in page and "ANTHROPIC_AUTH_TOKEN=mgw-" in page
    assert "/gateway/keys/" in page
