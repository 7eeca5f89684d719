"""The wizard in a browser against the fakes: direction to switch and rollback, a failed verification
that blocks the switch, a wizard left mid-way and resumed by another staff user in another session."""
import os

import pytest

from providers.fakes import Fault
from providers.migration.models import Migration
from providers.models import ProviderRouting

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
# serialized_rollback: the price table (loaded by migrations) survives each test's flush, so usage rows priced
# from the process-wide price book never point at a price row the flush removed.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _watch(page):
    errors = []
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(30_000)
    return errors


def _start(page, live_server):
    page.goto(live_server.url + "/providers/migration/")
    page.check("input[name=direction][value=to_bedrock]")
    page.select_option("#id_source", "anthropic")
    page.select_option("#id_target", "bedrock")
    page.click("#direction-submit")
    page.wait_for_selector("text=2. Credentials for bedrock")


def _next(page, heading):
    page.click("#wizard-next")
    page.wait_for_selector(f"h2:has-text('{heading}')")


def test_the_whole_wizard_from_direction_to_switch_and_rollback(page, login, staff_user, password, live_server, pair,
                                                               eager_celery):
    errors = _watch(page)
    login(staff_user, password)
    _start(page, live_server)
    assert "bedrock:InvokeModel" in page.inner_text("#iam-policy")
    page.click("#test-button")  # test connection inline, on the stored values
    page.wait_for_selector("#test-steps .step.ok.done")
    assert page.locator("#test-steps .step.bad").count() == 0
    _next(page, "3. Model mapping")
    page.click("#check-mapping")
    page.wait_for_selector("#mapping-summary.ok")
    _next(page, "4. Verification suite")
    page.click("#run-verification")
    page.wait_for_selector("#verification-summary.ok")
    assert page.locator(".probe-row.outcome-passed").count() == 9
    _next(page, "5. Performance and cost")
    page.fill("#id_requests", "2")
    page.click("#run-performance")
    page.wait_for_selector("#perf-table")
    page.wait_for_selector("[data-plotly-figure=latency-figure][data-drawn] .main-svg")  # drawn from its JSON block
    _next(page, "6. Checklist")
    page.check(".check-item[data-key=quotas] input")
    page.click("#save-checklist")
    page.wait_for_selector(".check-item.done[data-key=quotas]")
    _next(page, "7. Switch")
    page.wait_for_selector("#switch-ready")
    page.click("#switch-button")
    page.wait_for_selector("#switched")
    routing = ProviderRouting.load()
    assert (routing.primary, routing.fallbacks) == ("bedrock", ["anthropic"])
    page.click("#rollback-button")
    page.wait_for_selector("#rolled-back")
    assert ProviderRouting.load().primary == "anthropic"
    assert errors == [], "\n".join(errors)


def test_a_failed_verification_blocks_the_switch_with_a_clear_reason(page, login, staff_user, password, live_server,
                                                                     pair, fresh_bedrock, eager_celery):
    errors = _watch(page)
    login(staff_user, password)
    _start(page, live_server)
    _next(page, "3. Model mapping")
    page.click("#check-mapping")
    page.wait_for_selector("#mapping-summary.ok")
    _next(page, "4. Verification suite")
    fresh_bedrock.inject(Fault("access_denied", times=None))
    page.click("#run-verification")
    page.wait_for_selector("#verification-summary.bad")
    fresh_bedrock.reset()
    assert "The target failed: permission" in page.inner_text(".probe-row[data-probe=plain_text]")
    page.click("#wizard-next")
    page.click("#wizard-next")
    page.click("#wizard-next")
    page.wait_for_selector("#switch-blocked")
    assert "Verification failed: Plain text: The target failed: permission" in page.inner_text("#switch-blocked")
    assert page.is_disabled("#switch-button")
    assert ProviderRouting.load().primary == "anthropic"
    assert [e for e in errors if "/switch/" in e] == []


def test_a_wizard_left_mid_way_is_resumed_by_another_staff_user(page, login, chromium_browser, staff_user, password,
                                                                live_server, pair, django_user_model):
    errors = _watch(page)
    login(staff_user, password)
    _start(page, live_server)
    _next(page, "3. Model mapping")
    page.click("#check-mapping")
    page.wait_for_selector("#mapping-summary.ok")

    bea = django_user_model.objects.create_user("bea", "bea@example.test", password, is_staff=True)
    other = chromium_browser.new_context().new_page()
    other.set_default_timeout(30_000)
    other.goto(live_server.url + "/accounts/login/")
    other.fill("#id_username", "bea")
    other.fill("#id_password", password)
    other.click("button[type=submit]")
    other.wait_for_load_state()
    other.goto(live_server.url + "/providers/migration/")
    other.wait_for_selector("h2:has-text('3. Model mapping')")
    assert "Every model resolves on the target" in other.inner_text("#mapping-summary")
    assert "last step saved by alice" in other.inner_text("#migration-summary")
    other.click("#wizard-next")
    other.wait_for_selector("h2:has-text('4. Verification suite')")
    assert Migration.objects.get(status="in_progress").updated_by == bea.username
    other.context.close()
    assert errors == [], "\n".join(errors)


def test_a_gradual_rollout_stops_itself_when_the_target_starts_failing(page, login, staff_user, password, live_server,
                                                                       pair, fresh_bedrock):
    from providers.call_records import CallContext
    from providers.calls import invoke
    from providers.migration import mapping, state, verification
    from providers.migration.providers_of import settings_named
    from providers.migration.tasks import check_rollouts

    migration = state.start("to_bedrock", "anthropic", "bedrock", staff_user)
    state.save_data(migration.pk, "mapping", {"result": mapping.check(settings_named("anthropic"),
                                                                       settings_named("bedrock"))})
    state.save_data(migration.pk, "verification", {"result": verification.summarize([], "haiku")})
    state.go_to(migration, 7, staff_user)
    errors = _watch(page)
    login(staff_user, password)
    page.goto(live_server.url + "/providers/migration/")
    page.fill("#id_threshold", "20")
    page.click("#rollout-10")
    page.wait_for_selector("#rollout-running")
    page.click("#rollout-100")
    page.wait_for_selector("#rollout-running >> text=100%")
    ping = {"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    assert invoke(None, ping, CallContext(purpose="client")).provider_name == "bedrock"
    page.wait_for_selector("#rollout-table tr[data-role=target] >> text=0.0%")  # live numbers, no reload

    fresh_bedrock.inject(Fault("access_denied", times=None))
    for _ in range(4):  # the target fails, each call fails over to the source
        assert invoke(None, ping, CallContext(purpose="client")).provider_name == "anthropic"
    fresh_bedrock.reset()
    assert "traffic is back on anthropic" in check_rollouts()  # what beat runs every few seconds
    page.wait_for_selector("#rollout-stopped")
    assert "bedrock failed" in page.inner_text("#rollout-stopped")
    assert ProviderRouting.load().rollout == {}
    assert errors == [], "\n".join(errors)


def test_a_target_provider_created_inline_in_step_one_becomes_the_target(page, login, staff_user, password,
                                                                        live_server, pair):
    errors = _watch(page)
    login(staff_user, password)
    page.goto(live_server.url + "/providers/migration/")
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("#new-target summary")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the open form fits a phone
    page.fill("#new-target #id_name", "bedrock")  # taken: the error comes back in place, the values as typed
    page.fill("#new-target #id_timeout_seconds", "45")
    page.click("#new-target-save")
    page.wait_for_selector("#new-target .errorlist:has-text('already exists')")
    assert page.input_value("#new-target #id_timeout_seconds") == "45"
    page.fill("#new-target #id_name", "bedrock-eu")
    page.select_option("#new-target #id_aws_region", "eu-west-1")
    page.click("#new-target-save")
    page.wait_for_selector("text=selected below as the target")
    assert page.input_value("#id_target") == "bedrock-eu"
    page.select_option("#id_source", "anthropic")
    page.click("#direction-submit")
    page.wait_for_selector("text=2. Credentials for bedrock-eu")
    assert Migration.objects.get(status="in_progress").target == "bedrock-eu"
    expected = [e for e in errors if "/migration/new-target/" in e and e.startswith("400")]
    assert len(expected) == 1 and [e for e in errors if e not in expected] == [], "\n".join(errors)


def test_the_open_inline_provider_form_has_no_serious_axe_violation(chromium_browser, live_server, client, staff_user,
                                                                  pair):
    from tests.foundation.test_browser_pages import AXE, BLOCKING

    client.force_login(staff_user)
    context = chromium_browser.new_context(viewport={"width": 390, "height": 900}, bypass_csp=True)  # axe injected
    try:
        page = context.new_page()
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                              "url": live_server.url}])
        page.goto(live_server.url + "/providers/migration/")
        page.click("#new-target summary")
        page.wait_for_selector("#new-target #id_aws_region")
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("""async (blocking) => (await axe.run('#new-target', {resultTypes: ['violations']}))
            .violations.filter(v => blocking.includes(v.impact)).map(v => v.impact + ' ' + v.id + ': '
            + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))""", list(BLOCKING))
        assert violations == [], "\n".join(violations)
    finally:
        context.close()
