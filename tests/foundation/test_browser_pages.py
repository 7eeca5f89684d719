"""Every page at a phone, a tablet and a desktop width: no horizontal scroll, no serious axe-core violation.

axe-core is vendored under static/vendor/axe-core/ and injected here only: no page links it.
"""
import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

AXE = Path(settings.BASE_DIR) / "static" / "vendor" / "axe-core" / "axe.min.js"
WIDTHS = (390, 768, 1280)
BLOCKING = ("serious", "critical")
# URL names (namespace:name) that answer a GET with a full HTML page; {provider}, {revision}... are filled in.
PAGES = {
    "home": "/",
    "providers:list": "/providers/",
    "providers:create": "/providers/new/",
    "providers:edit": "/providers/{provider}/edit/",
    "providers:delete": "/providers/{provider}/delete/",
    "providers:environment": "/providers/environment/",
    "providers:claude-code": "/providers/claude-code/",
    "providers:config": "/providers/config/",
    "providers:revisions": "/providers/revisions/",
    "providers:revision": "/providers/revisions/{revision}/",
    "providers:status": "/providers/status/",
    "providers:migration": "/providers/migration/",
    "providers:response-cache": "/providers/response-cache/",
    "providers:response-cache-flush": "/providers/response-cache/flush/",
    "usage:dashboard": "/usage/",
    "usage:prices": "/usage/prices/",
    "usage:budgets": "/usage/budgets/",
    "usage:budget-edit": "/usage/budgets/{budget}/edit/",
    "usage:retention": "/usage/retention/",
    "gateway:keys": "/gateway/keys/",
    "gateway:key-edit": "/gateway/keys/{key}/edit/",
    "setup": "/setup/",
    "batch:list": "/batches/",
    "batch:detail": "/batches/{batch}/",
    "migration:detail": "/providers/migration/{migration}/",
}
# Variants of a page worth their own look: other provider kinds' forms, a long usage range.
EXTRA_PAGES = ("/providers/new/?kind=bedrock", "/providers/new/?kind=aws_platform",
               "/usage/?start={start90}&end={today}", "/accounts/login/")
# URL names that never answer a GET with a page: POST-only actions, htmx partials, files and probes.
NOT_PAGES = {
    "healthz", "metrics", "login", "logout", "favicon",
    "providers:form-fields", "providers:mapping-preview", "providers:test-connection", "providers:routing",
    "providers:remap-model", "providers:config-export", "providers:config-import", "providers:config-write",
    "providers:revision-restore", "providers:response-cache-export", "providers:response-cache-import",
    "usage:export", "usage:recommendations-refresh", "usage:batchable-agent-add", "usage:batchable-agent-remove",
    "usage:price-add", "usage:recompute", "usage:recompute-status", "usage:mapping-add", "usage:mapping-delete",
    "usage:budget-add", "usage:budget-delete", "usage:budget-test-alert",
    "health:settings", "health:test-alert",
    "gateway:key-add", "gateway:key-rotate", "gateway:key-revoke",
    "health:breaker-policy", "health:force-out", "health:pin-primary", "health:reset-breaker",
    "batch:submit", "batch:refresh", "batch:cancel", "batch:results",
    "migration:start", "migration:go", "migration:direction", "migration:mapping", "migration:fix-mapping",
    "migration:start-job", "migration:job-progress", "migration:acknowledge", "migration:checklist",
    "migration:switch", "migration:rollback", "migration:cancel", "migration:rollout", "migration:rollout-stop",
    "migration:rollout-live", "migration:new-target",
}


def _url_names(resolver=None, namespace=""):
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":  # Django's own admin site is not this project's pages
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _url_names(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name


def test_every_url_pattern_is_a_checked_page_or_named_as_not_a_page():
    names = set(_url_names())
    unlisted = names - set(PAGES) - NOT_PAGES
    assert not unlisted, f"add these URL names to PAGES (checked in a browser) or NOT_PAGES: {sorted(unlisted)}"
    assert not (set(PAGES) | NOT_PAGES) - names, "listed URL names that no longer exist"


def _seed(staff_user):
    """Demo providers (with their revisions), demo usage and one of everything a page lists."""
    from django.core.management import call_command

    from providers.batch.models import BatchJob
    from providers.gateway.services import create_key
    from providers.migration.models import Migration
    from providers.models import ConfigRevision, ProviderConfig
    from usage.models import Budget, RecomputeJob

    call_command("seed_demo_providers", stdout=open("/dev/null", "w"))
    call_command("seed_demo_usage", "--days", "95", "--records", "400", stdout=open("/dev/null", "w"))
    gateway_key = create_key("web-app", owner="Web team", monthly_budget_usd=Decimal("50"))[0]
    budget = Budget.objects.create(name="Monthly", amount_usd=Decimal("100"))
    today = datetime.date.today()
    RecomputeJob.objects.create(start=today - datetime.timedelta(days=3), end=today, status="done")
    batch = BatchJob.objects.create(name="nightly-summaries", provider_name="demo-anthropic", provider_kind="anthropic",
                                    provider_batch_id="msgbatch_pages_test", model_id="claude-haiku-4-5-20251001",
                                    total=120, counts={"processing": 20, "succeeded": 95, "errored": 5})
    migration = Migration.objects.create(direction="to_bedrock", source="demo-anthropic",
                                         target="demo-bedrock", step=3, started_by=staff_user)
    return {"provider": ProviderConfig.objects.order_by("pk").first().pk,
            "revision": ConfigRevision.objects.order_by("-pk").first().pk,
            "budget": budget.pk, "key": gateway_key.pk, "batch": batch.pk, "migration": migration.pk, "today": today.isoformat(),
            "start90": (today - datetime.timedelta(days=89)).isoformat()}


def _problems_on(page, url):
    page.goto(url)
    page.wait_for_load_state("load")
    # Plotly draws after load: measure once every chart has its SVG.
    page.wait_for_function("""() => [...document.querySelectorAll('.plotly-graph-div, [data-plotly-figure], [data-figure]')]
        .every(chart => chart.querySelector('svg'))""", timeout=15000)
    problems = []
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if widths[0] > widths[1]:
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
            + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''))""")
        problems.append(f"scrollWidth {widths[0]} > {widths[1]} (too wide: {', '.join(wide)})")
    # Charts have text equivalents: a table with their data in the same section.
    bare = page.evaluate("""() => [...document.querySelectorAll('.plotly-graph-div, [data-plotly-figure], [data-figure]')]
        .filter(chart => !(chart.closest('section') || chart.parentElement).querySelector('table')).map(chart => chart.id)""")
    problems.extend(f"chart without a data table: {chart or '(no id)'}" for chart in bare)
    problems.extend(_focus_problems(page))
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("""async (blocking) => (await axe.run(document, {resultTypes: ['violations']}))
        .violations.filter(v => blocking.includes(v.impact))
        .map(v => v.impact + ' ' + v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))""",
                               list(BLOCKING))
    problems.extend(violations)
    return problems


def _focus_problems(page, stops=6):
    """The first few Tab stops each show a visible focus outline."""
    problems = []
    page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(stops):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement; if (!e || e === document.body) return null;
            const style = getComputedStyle(e);
            return {name: e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' ' + (e.textContent || '').trim().slice(0, 30),
                    visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};}""")
        if focused and not focused["visible"]:
            problems.append(f"focus not visible on {focused['name']}")
    return problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the price table comes from migrations
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_the_width_and_passes_axe(width, chromium_browser, live_server, client, staff_user,
                                                  monkeypatch):
    from django.db import connections

    from usage.pricing import forget_price_book

    # Each live-server thread opens its own connection: close it after each request (PostgreSQL drops the DB).
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    forget_price_book()
    ids = _seed(staff_user)
    client.force_login(staff_user)
    # The first request imports every view module (plotly, boto3, the SDK): do it here, not under goto's timeout.
    assert client.get("/providers/").status_code == 200
    # The policy would refuse the injected axe script; tests/hardening/test_browser_csp.py checks pages under it.
    context = chromium_browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    try:
        page = context.new_page()
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        found = {}
        for path in [*PAGES.values(), *EXTRA_PAGES]:
            if path == "/accounts/login/":
                context.clear_cookies()
            problems = _problems_on(page, live_server.url + path.format(**ids))
            assert "/accounts/login/" not in page.url or path == "/accounts/login/", f"{path} asked to log in"
            if problems:
                found[path] = problems
    finally:
        context.close()
    assert not found, f"at {width} px:\n" + "\n".join(f"{path}: {problem}" for path, problems in found.items()
                                                    for problem in problems)
