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
