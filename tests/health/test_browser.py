"""The Status page in the browser: charts drawn from JSON blocks, live part updating without a reload."""
import os

import pytest

from providers.fakes import Fault
from providers.health.models import HealthSettings
from providers.health.rounds import run_round
from tests.providers.conftest import make_anthropic

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("aws_env")]


def test_status_page_updates_without_a_reload(page, login, staff_user, password, live_server, fresh_anthropic):
    make_anthropic(server=fresh_anthropic)
    HealthSettings.objects.update_or_create(pk=1, defaults={"interval_seconds": 5})
    run_round()
    errors = []
    page.on("response", lambda response: errors.append(response.url) if response.status >= 400 else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(staff_user, password)
    page.set_default_timeout(20_000)
    page.goto(live_server.url + "/providers/status/")
    page.wait_for_selector("#status-anthropic .state-operational")
    page.wait_for_selector(".chart[data-drawn] .main-svg")  # plotly drew the figure from its JSON block
    page.evaluate("window.__marker = 'same page'")

    fresh_anthropic.inject(Fault("unavailable", times=None))
    run_round()
    page.wait_for_selector("#status-anthropic .state-degraded")
    assert page.evaluate("window.__marker") == "same page", "updated by htmx, not by a reload"
    assert errors == []


def test_forcing_a_provider_out_and_back_from_the_status_page(page, login, staff_user, password, live_server,
                                                              fresh_anthropic, bedrock_api):
    from providers import snapshot
    from providers.models import ConfigRevision, ProviderRouting
    from tests.providers.conftest import make_bedrock

    make_anthropic(server=fresh_anthropic, position=0)
    make_bedrock(server=bedrock_api, position=1)
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic", "fallbacks": ["bedrock"]})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(staff_user, password)
    page.set_default_timeout(20_000)
    page.goto(live_server.url + "/providers/status/")
    page.click("#status-anthropic button:has-text('Force out')")
    page.wait_for_selector("#status-anthropic .badge:has-text('forced out')")
    snapshot.forget()
    assert [s.name for s in snapshot.active_chain()] == ["bedrock"]
    assert ConfigRevision.objects.first().username == staff_user.username
    page.click("#status-anthropic button:has-text('Return to traffic')")
    page.wait_for_selector("#status-anthropic button:has-text('Force out')")
    snapshot.forget()
    assert [s.name for s in snapshot.active_chain()] == ["anthropic", "bedrock"]
    assert errors == []


def test_live_updates_pause_while_the_tab_is_hidden_and_refresh_when_shown(page, login, staff_user, password,
                                                                           live_server, fresh_anthropic):
    make_anthropic(server=fresh_anthropic)
    HealthSettings.objects.update_or_create(pk=1, defaults={"interval_seconds": 60})  # polls every 30 s
    login(staff_user, password)
    page.set_default_timeout(20_000)
    page.goto(live_server.url + "/providers/status/")
    page.wait_for_selector("#status-live")
    prevented = page.evaluate("""() => {
      Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
      let seen = null;
      document.addEventListener("htmx:beforeRequest", (e) => { seen = e.defaultPrevented; }, {once: true});
      window.htmx.trigger(document.getElementById("status-live"), "status-refresh");
      return seen;
    }""")
    assert prevented is True, "a poll while the tab is hidden is cancelled before it is sent"
    with page.expect_response(lambda r: "/providers/status/" in r.url and r.request.headers.get("hx-request")):
        page.evaluate("""() => {
          Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
          document.dispatchEvent(new Event("visibilitychange"));
        }""")
