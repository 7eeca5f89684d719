"""In a real browser: the plotly charts draw, and changing a filter redraws them (and survives reload)."""
import datetime

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def session_cookie(live_server, client, staff_user, record, monkeypatch):
    """Traffic, rollups and a logged-in session, made before the browser starts."""
    from django.db import connections

    from usage.rollups import update_rollups

    # Each request thread of the live server opens its own connection: close it after the request,
    # or PostgreSQL cannot drop the test database at the end of the session.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    now = datetime.datetime.now(datetime.UTC)
    for days_ago in range(5):
        moment = now - datetime.timedelta(days=days_ago, minutes=5)
        record(occurred_at=moment, provider_name="anthropic-main", latency_ms=900.0, ttft_ms=300.0)
        record(occurred_at=moment, provider_name="bedrock-us", provider_kind="bedrock",
               model_id="us.anthropic.claude-haiku-4-5-20251001-v1:0", latency_ms=1200.0, ttft_ms=400.0)
    update_rollups(assume_settled=True)
    client.force_login(staff_user)
    return client.cookies["sessionid"].value


@pytest.fixture
def page(session_cookie, live_server, chromium_browser):
    """The shared browser (tests/conftest.py), logged in through a session cookie."""
    # wait_for_function evaluates its string in the page, which the Content-Security-Policy refuses (no eval):
    # these tests bypass it; tests/foundation/test_browser_csp.py drives the same pages under the real policy.
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.add_cookies([{"name": "sessionid", "value": session_cookie, "url": live_server.url}])
    page = context.new_page()
    # Count htmx swaps that have settled, so a test acts on the new content only once htmx is done with it.
    page.add_init_script("document.addEventListener('htmx:afterSettle', function () {"
                         " window.settledSwaps = (window.settledSwaps || 0) + 1; });")
    yield page
    context.close()


def change_filter(page, selector, value):
    swaps = page.evaluate("window.settledSwaps || 0")
    page.select_option(selector, value)
    page.wait_for_function(f"(window.settledSwaps || 0) > {swaps}")


def legend(page, chart):
    return sorted(page.locator(f"#{chart} .legendtext").all_text_contents())


def test_charts_draw_and_a_filter_redraws_them(page, live_server):
    page.goto(live_server.url + "/usage/")
    page.wait_for_selector("#chart-over-time.js-plotly-plot svg.main-svg")
    page.wait_for_function("window.htmx !== undefined && document.readyState === 'complete'")
    assert page.locator(".js-plotly-plot svg.main-svg").count() >= 4  # every chart drew
    assert page.locator("#chart-over-time .point path, #chart-over-time .bars path").count() > 0
    assert legend(page, "chart-over-time") == ["anthropic-main", "bedrock-us"]

    change_filter(page, "#f-by", "model")  # htmx swaps the body; the charts are drawn again
    page.wait_for_function("document.querySelectorAll('#chart-over-time .legendtext').length === 2 && "
                           "document.querySelector('#chart-over-time .legendtext').textContent.startsWith('claude')")
    assert legend(page, "chart-over-time") == ["claude-haiku-4-5", "claude-sonnet-4-5"]
    assert "by=model" in page.url

    change_filter(page, "#f-provider", "bedrock-us")
    page.wait_for_function("document.querySelectorAll('#chart-over-time .legendtext').length === 1")
    assert legend(page, "chart-over-time") == ["claude-haiku-4-5"]
    assert page.locator('[data-testid="requests"]').inner_text() == "5"

    page.reload()  # the filters live in the URL
    page.wait_for_selector("#chart-over-time.js-plotly-plot svg.main-svg")
    assert page.locator("#f-by").input_value() == "model"
    assert page.locator("#f-provider").input_value() == "bedrock-us"
    assert legend(page, "chart-over-time") == ["claude-haiku-4-5"]


def test_side_by_side_charts_fit_their_cards_on_a_full_page_load(page, live_server):
    # Each chart is drawn as soon as it is parsed, before the card next to it exists: it must get half the row.
    page.goto(live_server.url + "/usage/")
    page.wait_for_selector("#chart-month.js-plotly-plot svg.main-svg")
    for chart in ("chart-cost-by-kind", "chart-month"):
        sizes = page.locator(f"#{chart}").evaluate(
            "c => [c.querySelector('svg.main-svg').getBoundingClientRect().right, "
            "c.closest('section.card').getBoundingClientRect().right]")
        assert sizes[0] <= sizes[1], f"{chart} overflows its card"


def test_a_rejected_price_brings_its_error_into_view(page, live_server):
    # The price form sits below the whole price table: after a 400 the operator must see why.
    page.goto(live_server.url + "/usage/prices/")
    page.fill("#id_model", "gpt-4o")
    page.fill("#id_input", "1")
    page.fill("#id_output", "5")
    page.fill("#id_source_url", "https://example.test/pricing")
    page.click("button:has-text('Add price')")
    page.wait_for_load_state()
    error = page.locator("form .error").first
    assert "Enter a Claude model" in error.inner_text()
    box = error.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= page.viewport_size["height"]


def test_the_price_tables_scroll_inside_their_cards_in_a_narrow_window(page, live_server):
    import importlib

    from django.apps import apps

    # An earlier transactional test may have flushed the price table its migration loaded: load it again.
    importlib.import_module("usage.migrations.0002_load_published_prices").load_prices(apps, None)
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(live_server.url + "/usage/prices/")
    assert page.locator("table.prices tbody tr").count() > 20
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_clicking_a_day_opens_its_hours_and_back_returns_to_the_days(page, live_server):
    # Tokens, not cost: an earlier transactional test may have flushed the seeded price table.
    page.goto(live_server.url + "/usage/?by=model&metric=tokens")
    page.wait_for_selector("#chart-over-time .bars path", state="attached")
    page.wait_for_function("window.htmx !== undefined && document.readyState === 'complete'")
    start = page.locator("#f-start").input_value()
    page.locator("#chart-over-time").scroll_into_view_if_needed()
    bars = page.locator("#chart-over-time .bars path")
    box = max((bars.nth(i).bounding_box() for i in range(bars.count())), key=lambda b: b["height"])
    swaps = page.evaluate("window.settledSwaps || 0")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.up()
    page.wait_for_function(f"(window.settledSwaps || 0) > {swaps}")
    day = page.locator("#f-start").input_value()
    assert day != start and page.locator("#f-end").input_value() == day
    assert f"start={day}" in page.url and "by=model" in page.url and "metric=tokens" in page.url
    assert "per hour" in page.inner_text("#usage-body h2 >> nth=0")
    page.go_back()  # the URL and the page on screen go back together
    page.wait_for_function(f"document.querySelector('#f-start').value === '{start}'")
    assert "start=" not in page.url
    assert "per day" in page.inner_text("#usage-body h2 >> nth=0")


def test_typing_in_one_filter_survives_the_redraw_another_filter_started(page, live_server):
    page.goto(live_server.url + "/usage/")
    page.wait_for_selector("#chart-over-time.js-plotly-plot svg.main-svg")
    swaps = page.evaluate("window.settledSwaps || 0")
    # The key filter fires its request; the operator is already typing the agent when the answer lands.
    page.evaluate("""() => {
        document.querySelector('#f-key').value = 'demo-key-ide';
        htmx.trigger('#usage-filters', 'change');
        document.querySelector('#f-agent').value = 'support-chat';
    }""")
    page.wait_for_function(f"(window.settledSwaps || 0) > {swaps}")
    assert "key=demo-key-ide" in page.url
    assert page.locator("#f-agent").input_value() == "support-chat"
    assert page.locator("#f-key").input_value() == "demo-key-ide"
