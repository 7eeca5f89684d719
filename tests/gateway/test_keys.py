"""Gateway keys at the endpoint: both header styles, bad and revoked keys refused cheaply, model limits,
the budget's hard stop, rotation, and revocation seen by every process within a second."""
import datetime
import time
from decimal import Decimal

import anthropic
import httpx2 as httpx
import pytest
from django.utils import timezone

from providers.gateway import services
from providers.gateway.keys import CHECK_SECONDS, FAILED_ATTEMPTS_LIMIT, VERSION_KEY, hash_key, keys
from providers.models import GatewayKey
from providers.shared_cache import shared_cache
from tests.fake_providers import model_calls
from tests.gateway.conftest import gateway_sdk
from usage.budgets import check_budgets
from usage.models import Budget, ModelPrice, UsageRecord
from usage.pricing import forget_price_book
from usage.services import forget_blocked_keys
from usage.tasks import queue_alert_delivery

pytestmark = pytest.mark.django_db(transaction=True)
HELLO = {"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": "echo: ok"}]}


def test_the_key_is_stored_hashed_only(gateway_key):
    stored_key, key = gateway_key
    row = GatewayKey.objects.get(pk=stored_key.pk)
    assert row.key_hash == hash_key(key) and key not in str(row.__dict__)
    assert key.startswith("mgw-") and len(key) > 40


def test_bearer_and_x_api_key_both_work(gateway, gateway_key, stored):
    for headers in ({"x-api-key": gateway_key[1]}, {"authorization": f"Bearer {gateway_key[1]}"}):
        answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text


def test_auth_token_style_sdk_client_works(gateway, gateway_key, stored):
    client = gateway_sdk(gateway, auth_token=gateway_key[1], api_key=None, max_retries=0)
    assert client.messages.create(**HELLO).content[0].text == "ok"


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "mgw-not-a-key"}, {"authorization": "Basic abc"},
                                     {"x-api-key": "x" * 5000}])
def test_bad_keys_are_401_without_an_upstream_call_or_a_write(gateway, gateway_key, stored, headers):
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, headers=headers, timeout=30)
    assert answer.status_code == 401 and answer.json()["error"]["type"] == "authentication_error"
    assert not model_calls(stored[0]) and not model_calls(stored[1]) and not UsageRecord.objects.exists()


def test_a_bad_key_costs_no_query_once_the_table_is_loaded(gateway_key, django_assert_num_queries):
    keys.lookup(gateway_key[1])  # loads the table
    with django_assert_num_queries(0):
        for attempt in range(50):
            assert keys.lookup(f"mgw-wrong-{attempt}") is None
        assert keys.lookup(gateway_key[1]) is not None


def test_too_many_failures_from_one_address_are_refused_before_they_are_counted(gateway, gateway_key, stored):
    for _ in range(FAILED_ATTEMPTS_LIMIT):
        answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, headers={"x-api-key": "mgw-guess"}, timeout=30)
        assert answer.status_code == 401
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, headers={"x-api-key": "mgw-guess"}, timeout=30)
    assert answer.status_code == 429 and answer.json()["error"]["type"] == "rate_limit_error"
    assert "retry-after" in answer.headers
    assert shared_cache.get("gateway-failed-auth:127.0.0.1") == FAILED_ATTEMPTS_LIMIT  # not counted again
    # A real key is unaffected: a good key never costs a cache round trip (keys are 256-bit random).
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, headers={"x-api-key": gateway_key[1]}, timeout=30)
    assert answer.status_code == 200
    assert len(model_calls(stored[0])) == 1


def test_a_key_limited_to_some_models_is_refused_others(gateway, stored):
    _, key = services.create_key("haiku-only", allowed_models=["haiku"])
    client = gateway_sdk(gateway, api_key=key, max_retries=0)
    assert client.messages.create(**HELLO).content[0].text == "ok"
    assert client.messages.create(**{**HELLO, "model": "claude-haiku-4-5-20251001"}).content
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        client.messages.create(**{**HELLO, "model": "sonnet"})
    assert "haiku-only" in caught.value.message and "haiku" in caught.value.message
    assert {m.id for m in client.models.list()} and all("sonnet" not in m.id for m in client.models.list())


def test_a_key_over_its_hard_stop_is_refused(gateway, stored):
    key_row, key = services.create_key("capped", monthly_budget_usd=5)
    budget = Budget.objects.get(scope="key", gateway_key="capped")
    assert budget.hard_stop and budget.amount_usd == 5
    budget.blocked_month = timezone.now().date().replace(day=1)  # what the budget check sets at 100%
    budget.save()
    client = gateway_sdk(gateway, api_key=key, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(**HELLO)
    assert caught.value.status_code == 402 and caught.value.body["error"]["type"] == "billing_error"
    assert "capped" in caught.value.message and "budget" in caught.value.message
    assert not model_calls(stored[0])


def test_spend_over_the_budget_blocks_the_key(gateway, stored):
    # Its own price, so the test does not depend on the migrated price table surviving other tests' flushes.
    ModelPrice.objects.update_or_create(
        provider_kind="anthropic", base_model="claude-opus-4-8", scope="standard",
        effective_from=datetime.date(2025, 1, 1),
        defaults={"input": 5, "output": 25, "cache_write_5m": Decimal("6.25"), "cache_write_1h": 10,
                  "cache_read": Decimal("0.5"), "source_url": "https://example.test/prices",
                  "source_date": datetime.date(2025, 1, 1)})
    forget_price_book()
    _, key = services.create_key("tiny", monthly_budget_usd=Decimal("0.01"))
    client = gateway_sdk(gateway, api_key=key, max_retries=0)
    for _ in range(3):
        client.messages.create(model="opus", max_tokens=2000, messages=[{"role": "user", "content": "x" * 4000}])
    assert UsageRecord.objects.filter(gateway_key="tiny", cost_total__gt=0).count() == 3
    check_budgets(send=queue_alert_delivery)
    forget_blocked_keys()  # this process's 5-second memo of blocked keys
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(**HELLO)
    assert caught.value.status_code == 402


def test_rotation_replaces_the_key_and_keeps_the_label(gateway, gateway_key, stored):
    key_row, old = gateway_key
    new = services.rotate_key(key_row)
    client_old = gateway_sdk(gateway, api_key=old, max_retries=0)
    client_new = gateway_sdk(gateway, api_key=new, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        client_old.messages.create(**HELLO)
    client_new.messages.create(**HELLO)
    assert UsageRecord.objects.get().gateway_key == "team-web"


def test_expired_keys_are_refused(gateway, stored):
    _, key = services.create_key("old", expires_at=timezone.now() - timezone.timedelta(seconds=1))
    answer = httpx.post(f"{gateway}/v1/messages", json=HELLO, headers={"x-api-key": key}, timeout=30)
    assert answer.status_code == 401


def test_a_revocation_by_another_process_is_seen_within_a_second(gateway_key):
    key_row, key = gateway_key
    assert keys.lookup(key) is not None
    # Another process revokes: the row changes and the version token is replaced; this process was not told.
    GatewayKey.objects.filter(pk=key_row.pk).update(revoked_at=timezone.now())
    shared_cache.set(VERSION_KEY, "changed-elsewhere", None)
    assert keys.lookup(key) is not None  # still the table read less than CHECK_SECONDS ago
    time.sleep(CHECK_SECONDS + 0.1)
    assert keys.lookup(key) is None


def test_revoking_in_the_dashboard_replaces_the_version_token(staff_client, gateway_key):
    before = shared_cache.get(VERSION_KEY)
    answer = staff_client.post(f"/gateway/keys/{gateway_key[0].pk}/revoke/")
    assert answer.status_code == 302
    assert shared_cache.get(VERSION_KEY) not in (None, before)
    assert keys.lookup(gateway_key[1]) is None
