"""Secrets at rest: MultiFernet encryption, rotation, blank-keeps-stored, never rendered back."""
import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.urls import reverse

from providers import crypto
from providers.models import ConfigRevision, ProviderConfig
from tests.providers.conftest import AKID, ANTHROPIC_KEY, AWS_SECRET, assert_no_secrets, make_anthropic, make_bedrock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]


def test_encrypt_round_trip_and_token_is_not_the_secret():
    token = crypto.encrypt(AWS_SECRET)
    assert AWS_SECRET not in token
    assert crypto.decrypt(token) == AWS_SECRET
    assert crypto.encrypt("") == "" and crypto.decrypt("") == ""


def test_hint_shows_at_most_four_characters():
    assert crypto.hint(ANTHROPIC_KEY) == "…" + ANTHROPIC_KEY[-4:]
    assert crypto.hint("short") == ""


def test_rotation_first_key_encrypts_all_keys_decrypt(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    token = crypto.encrypt(AWS_SECRET)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert crypto.decrypt(token) == AWS_SECRET  # the old key still decrypts
    rotated = crypto.rotate(token)
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert crypto.decrypt(rotated) == AWS_SECRET
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(token)


def test_reencrypt_command_moves_providers_and_revisions_to_the_new_key(settings, staff_user):
    from providers.revisions import record_revision

    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    config = make_bedrock()
    record_revision(staff_user, "before rotation")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("reencrypt_secrets")
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    config.refresh_from_db()
    assert crypto.decrypt(config.aws_secret_access_key_encrypted) == AWS_SECRET
    snap = ConfigRevision.objects.get().snapshot["providers"][0]
    assert crypto.decrypt(snap["aws_secret_access_key_encrypted"]) == AWS_SECRET


def bedrock_post(**changes):
    data = {"kind": "bedrock", "name": "bedrock", "enabled": "on", "timeout_seconds": "60", "verify_tls": "on",
            "aws_region": "us-east-1", "auth_mode": "static_keys", "aws_access_key_id": AKID,
            "aws_secret_access_key": "", "bedrock_api_key_source": "env",
            "bedrock_api_key_env": "AWS_BEARER_TOKEN_BEDROCK", "role_session_name": "moments-admin",
            "role_duration_seconds": "3600"}
    data.update(changes)
    return data


def test_blank_secret_on_edit_keeps_the_stored_one(staff_client):
    config = make_bedrock()
    response = staff_client.post(reverse("providers:edit", args=[config.pk]), bedrock_post(timeout_seconds="30"))
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.timeout_seconds == 30
    assert crypto.decrypt(config.aws_secret_access_key_encrypted) == AWS_SECRET


def test_blank_secret_with_a_new_region_is_asked_again(staff_client):
    """The region decides where the secret goes: a stored secret is kept for its own destination only."""
    config = make_bedrock()
    response = staff_client.post(reverse("providers:edit", args=[config.pk]), bedrock_post(aws_region="eu-west-1"))
    assert response.status_code == 400
    assert "Region changed: enter the secret access key again" in response.content.decode()
    config.refresh_from_db()
    assert config.aws_region == "us-east-1"
    response = staff_client.post(reverse("providers:edit", args=[config.pk]),
                                 bedrock_post(aws_region="eu-west-1", aws_secret_access_key=AWS_SECRET))
    assert response.status_code == 302


def test_typed_secret_on_edit_replaces_it(staff_client):
    config = make_bedrock()
    staff_client.post(reverse("providers:edit", args=[config.pk]), bedrock_post(aws_secret_access_key="new-secret-9999"))
    config.refresh_from_db()
    assert crypto.decrypt(config.aws_secret_access_key_encrypted) == "new-secret-9999"


def test_edit_page_shows_only_that_a_secret_is_set(staff_client):
    config = make_bedrock()
    html = staff_client.get(reverse("providers:edit", args=[config.pk])).content.decode()
    assert f"set, ends …{AWS_SECRET[-4:]}" in html
    assert_no_secrets(html)
    assert config.aws_secret_access_key_encrypted not in html  # not even the token


def test_new_static_keys_need_a_secret(staff_client):
    response = staff_client.post(reverse("providers:create"), bedrock_post())
    assert response.status_code == 400
    assert "Enter the secret access key." in response.content.decode()
    assert not ProviderConfig.objects.exists()


def test_switching_to_an_env_var_drops_the_stored_key(staff_client):
    config = make_anthropic()
    response = staff_client.post(reverse("providers:edit", args=[config.pk]), {
        "kind": "anthropic", "name": "anthropic", "enabled": "on", "timeout_seconds": "60", "verify_tls": "on",
        "api_key_source": "env", "api_key_env": "ANTHROPIC_API_KEY", "api_key": "", "base_url": ""})
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.api_key_env == "ANTHROPIC_API_KEY" and config.api_key_encrypted == ""


def test_invalid_post_does_not_echo_the_typed_secret(staff_client):
    response = staff_client.post(reverse("providers:create"), bedrock_post(aws_secret_access_key=AWS_SECRET,
                                                                           role_arn="bad"))
    assert response.status_code == 400
    assert_no_secrets(response.content.decode())


def test_stored_secrets_are_not_plaintext_in_the_database():
    from django.db import connection

    make_bedrock()
    make_anthropic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM providers_providerconfig")
        dump = repr(cursor.fetchall())
    assert_no_secrets(dump, "database")
