"""In a real browser: a new user, from an empty database, follows the set-up checklist on the home page
to a first call through the gateway, against the fake Anthropic API."""
import os
import re
import time

import anthropic
import pytest

from tests.gateway import conftest as gateway_fixtures
from tests.providers.conftest import ANTHROPIC_KEY

# The gateway's real uvicorn server (the ASGI app), its fresh key table and the published prices.
gateway, gateway_server = gateway_fixtures.gateway, gateway_fixtures.gateway_server
fresh_gateway_state, published_prices = gateway_fixtures.fresh_gateway_state, gateway_fixtures.published_prices
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("aws_env")]
TIMEOUT = 20_000


def done(page):
    return re.findall(r'id="step-([a-z]+)" data-done="true"', page.content())


def test_new_user_follows_the_checklist_to_a_first_call(page, login, staff_user, password, live_server, gateway,
                                                         anthropic_api):
    from django.db import connections

    connections.settings["default"]["CONN_MAX_AGE"] = 0  # the live server's threads close their connections
    anthropic_api.reset()
    login(staff_user, password)
    page.set_default_timeout(TIMEOUT)
    base = live_server.url

    page.goto(base + "/")
    assert page.locator("h1").inner_text() == "Set up Moments Admin"
    assert done(page) == [] and "0 of 5 done" in page.inner_text("main")

    # 1. Add a provider: the typed name survives switching kind.
    page.click("#step-provider a")
    page.fill("input[name=name]", "first")
    page.click("a:has-text('Amazon Bedrock')")
    page.wait_for_selector("select[name=aws_region]")
    page.click("a:has-text('Anthropic API')")
    page.wait_for_selector("input[name=base_url]")
    assert page.input_value("input[name=name]") == "first"
    page.check("input[name=api_key_source][value=stored]")
    page.wait_for_selector("input[name=api_key]")
    page.fill("input[name=api_key]", ANTHROPIC_KEY)
    page.fill("input[name=base_url]", anthropic_api.url)
    page.click("button:has-text('Save')")
    page.wait_for_url(base + "/providers/")
    page.goto(base + "/")
    assert done(page) == ["provider", "routing"]  # the first provider becomes the primary by itself

    # 2. Test it: the saved configuration passes every step.
    page.click("#step-test a")
    page.click("#test-button")
    page.wait_for_selector("#test-steps li.done")
    assert page.locator("#test-steps li.step.bad").count() == 0
    page.goto(base + "/")
    assert done(page) == ["provider", "test", "routing"]

    # 3. Primary and fallbacks: chosen from the configured providers, and saved as a revision.
    page.click("#step-routing a")
    page.select_option("select[name=primary]", "first")
    assert page.locator("select[name=fallback_1] option").all_inner_texts() == ["—", "first"]
    page.click("button:has-text('Save primary and fallbacks')")
    page.wait_for_selector("text=Saved the primary provider and fallbacks")
    page.goto(base + "/")
    assert done(page) == ["provider", "test", "routing"]

    # 4. The first call, as the snippet says: a gateway key, then the anthropic SDK with base_url.
    snippet = page.locator("#first-call pre").nth(3).inner_text()
    assert "anthropic.Anthropic(base_url=" in snippet and "MOMENTS_GATEWAY_KEY" in snippet
    page.click("#first-call a:has-text('create one on the Gateway keys page')")
    page.fill("#id_label", "first-app")
    page.click("text=Create key")
    key = page.locator("pre.secret-once").inner_text().strip()
    client = anthropic.Anthropic(base_url=gateway, api_key=key, max_retries=0)
    message = client.messages.create(model="haiku", max_tokens=16,
                                     messages=[{"role": "user", "content": "echo: hello from the checklist"}])
    assert message.content[0].text == "hello from the checklist"

    # Set-up is complete: home goes to the providers; the checklist (still at /setup/) shows the call.
    deadline = time.monotonic() + 10  # usage rows may be written just after the answer
    while time.monotonic() < deadline:
        page.goto(base + "/")
        if page.url == base + "/providers/":
            break
        time.sleep(0.2)
    assert page.url == base + "/providers/"
    page.goto(base + "/setup/")
    assert done(page) == ["provider", "test", "routing", "call"]
    assert "first served haiku (gateway)" in page.inner_text("#step-call")
