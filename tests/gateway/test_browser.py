"""In a real browser: a staff user creates a key, the anthropic SDK uses it through the gateway at once,
and revoking it in the page stops it within a second."""
import time

import anthropic
import pytest

from providers.gateway.keys import CHECK_SECONDS
from tests.gateway.conftest import gateway_sdk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
HELLO = {"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": "echo: from the browser"}]}


@pytest.fixture
def no_persistent_connections(monkeypatch):
    from django.db import connections

    # The live server's request threads open their own connections: close them after each request.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)


def test_create_use_and_revoke_a_key_from_the_page(login, live_server, staff_user, password, gateway, stored,
                                                   no_persistent_connections):
    page = login(staff_user, password)
    page.goto(live_server.url + "/gateway/keys/")
    page.fill("#id_label", "browser-made")
    page.fill("#id_owner", "qa")
    page.fill("#id_allowed_models", "haiku")
    page.click("text=Create key")
    key = page.locator("pre.secret-once").inner_text().strip()
    assert key.startswith("mgw-")

    client = gateway_sdk(gateway, api_key=key, max_retries=0)
    assert client.messages.create(**HELLO).content[0].text == "from the browser"

    page.goto(live_server.url + "/gateway/keys/")
    assert page.locator("pre.secret-once").count() == 0  # shown once only
    row = page.locator("tr", has_text="browser-made")
    assert "haiku" in row.inner_text() and "active" in row.inner_text()
    row.locator("text=Revoke").click()
    page.wait_for_load_state()
    assert "revoked" in page.locator("tr", has_text="browser-made").inner_text()
    time.sleep(CHECK_SECONDS + 0.1)
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(**HELLO)


def test_a_cache_policy_set_on_the_page_is_honoured_by_the_gateway(login, live_server, staff_user, password, gateway,
                                                                    stored, no_persistent_connections):
    from providers import response_cache
    from providers.models import GatewayKey
    from providers.response_cache_index import background
    from tests.fake_providers import model_calls

    response_cache.invalidate_all()
    page = login(staff_user, password)
    page.goto(live_server.url + "/gateway/keys/")
    page.fill("#id_label", "cached-in-browser")
    page.select_option("#id_response_cache", "use")
    page.fill("#id_response_cache_ttl_seconds", "600")
    page.click("text=Create key")
    key = page.locator("pre.secret-once").inner_text().strip()
    row = GatewayKey.objects.get(label="cached-in-browser")
    assert (row.response_cache, row.response_cache_ttl_seconds, row.prompt_caching) == ("use", 600, True)

    client = gateway_sdk(gateway, api_key=key, max_retries=0)
    first = client.messages.with_raw_response.create(**HELLO)
    second = client.messages.with_raw_response.create(**HELLO)
    assert (first.headers["x-moments-cache"], second.headers["x-moments-cache"]) == ("miss", "hit")
    assert len(model_calls(stored[0])) == 1

    page.goto(live_server.url + f"/gateway/keys/{row.pk}/edit/")
    page.select_option("#id_response_cache", "off")
    page.click("text=Save")
    page.wait_for_load_state()
    assert "response cache: off" in page.locator("tr", has_text="cached-in-browser").inner_text()
    time.sleep(CHECK_SECONDS + 0.1)  # every gateway process reloads its key table within a second
    third = client.messages.with_raw_response.create(**HELLO)
    assert "x-moments-cache" not in third.headers and len(model_calls(stored[0])) == 2
    background.wait()
    response_cache.invalidate_all()
