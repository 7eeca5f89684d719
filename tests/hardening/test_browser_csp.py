"""In a real browser under the real Content-Security-Policy: pages work and nothing is refused."""
import datetime
import importlib

import pytest

from usage.models import Budget

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# plotly.js bundles maplibre's stylesheet and injects it on load; we draw no maps, so refusing it costs nothing.
KNOWN_REFUSALS = (".maplibregl-",)
PAGES = ("/providers/", "/providers/new/?kind=anthropic", "/providers/new/?kind=bedrock", "/providers/config/",
         "/providers/claude-code/", "/providers/status/", "/usage/", "/usage/prices/", "/usage/budgets/")
RECORD_VIOLATIONS = ("window.cspViolations = [];"
                     "document.addEventListener('securitypolicyviolation', function (e) {"
                     " var what = e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 120) : '';"
                     " window.cspViolations.push(e.violatedDirective + ' ' + (e.sample || e.blockedURI) + ' ' + what);"
                     "}, true);")


@pytest.fixture
def browser_page(live_server, staff_user, password, record, chromium_browser, monkeypatch):
    from django.apps import apps
    from django.db import connections

    from usage.pricing import forget_price_book
    from usage.rollups import update_rollups

    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    # An earlier transactional test may have flushed the price table its migration loaded: load it again.
    importlib.import_module("usage.migrations.0002_load_published_prices").load_prices(apps, None)
    forget_price_book()
    now = datetime.datetime.now(datetime.UTC)
    for days_ago in range(3):
        record(occurred_at=now - datetime.timedelta(days=days_ago, minutes=5))
    update_rollups(assume_settled=True)
    Budget.objects.create(name="Monthly", amount_usd=10)
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", staff_user.get_username())
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    yield page
    context.close()


def violations(page):
    found = page.evaluate("window.cspViolations")
    return [v for v in found if not any(known in v for known in KNOWN_REFUSALS)]


def test_pages_load_under_the_policy_without_refusals(browser_page, live_server):
    page = browser_page
    for path in PAGES:
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        if path == "/usage/":
            page.wait_for_selector("#chart-over-time.js-plotly-plot svg.main-svg")
            assert page.locator(".js-plotly-plot svg.main-svg").count() >= 4  # drawn by static/js/app.js
        assert violations(page) == [], path


def test_chart_drill_and_confirmations_work_without_inline_script(browser_page, live_server):
    page = browser_page
    page.goto(live_server.url + "/usage/?metric=tokens")
    page.wait_for_selector("#chart-over-time .bars path", state="attached")
    page.locator("#chart-over-time").scroll_into_view_if_needed()
    bars = page.locator("#chart-over-time .bars path")
    box = max((bars.nth(i).bounding_box() for i in range(bars.count())), key=lambda b: b["height"])
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url("**start=*")  # the click drilled into that day through htmx
    page.wait_for_selector("#usage-body h2:has-text('per hour')")
    assert violations(page) == []

    page.goto(live_server.url + "/usage/budgets/")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.click("button:has-text('Delete')")
    assert questions == ["Delete this budget?"]
    assert Budget.objects.count() == 1  # dismissed: nothing deleted
    assert violations(page) == []
