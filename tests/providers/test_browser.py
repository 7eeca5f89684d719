"""In the browser (Playwright, Debian chromium) against the live server and the fake providers."""
import os

import pytest

from providers.fakes import Fault
from providers.models import ProviderConfig
from tests.providers.conftest import (
    AKID,
    AWS_SECRET,
    BEDROCK_API_KEY,
    ROLE_ARN,
    SECRETS,
    start_bedrock,
)

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("aws_env")]
TIMEOUT = 20_000


def no_secrets(page):
    html = page.content()
    for secret in SECRETS:
        assert secret not in html, f"secret in the HTML of {page.url}"


@pytest.fixture
def staff_page(page, login, staff_user, password, live_server):
    login(staff_user, password)
    page.set_default_timeout(TIMEOUT)
    page.base = live_server.url
    return page


def open_new_bedrock(page, name, server, mode):
    page.goto(page.base + "/providers/new/")
    page.click("a:has-text('Amazon Bedrock')")  # htmx swaps the form body to the Bedrock fields
    page.wait_for_selector("select[name=aws_region]")
    assert page.url.endswith("/providers/new/?kind=bedrock")
    page.fill("input[name=name]", name)
    page.select_option("select[name=aws_region]", "us-east-1")
    if mode != "default_chain":
        page.select_option("select[name=auth_mode]", mode)
        page.wait_for_selector(f"#kind-fields legend:has-text('{ {'profile': 'Named profile', 'static_keys': 'Access keys', 'env': 'Environment variables', 'api_key': 'Bedrock API key'}[mode] }')")
    page.click("summary:has-text('Endpoints')")
    for field in ("endpoint_url", "control_endpoint_url", "sts_endpoint_url"):
        page.fill(f"input[name={field}]", server.url)
    if server.ca_bundle:
        page.click("summary:has-text('TLS')")
        page.fill("input[name=ca_bundle]", server.ca_bundle)


def fill_static_keys(page, secret=AWS_SECRET):
    page.fill("input[name=aws_access_key_id]", AKID)
    page.fill("input[name=aws_secret_access_key]", secret)


def run_test(page):
    page.click("#test-button")


def wait_all_passed(page):
    page.wait_for_selector("#test-steps li.done", timeout=TIMEOUT)
    steps = page.locator("#test-steps > li.step.ok[data-step]")
    assert [steps.nth(i).get_attribute("data-step") for i in range(steps.count())] == [
        "credentials", "permissions", "models", "live", "streaming"]
    for i in range(steps.count()):
        assert steps.nth(i).locator(".elapsed").inner_text().endswith(" ms")


def setup_profile(aws_env):
    (aws_env / "aws-credentials").write_text(f"[moments-test]\naws_access_key_id = {AKID}\n"
                                             f"aws_secret_access_key = {AWS_SECRET}\n")


@pytest.mark.parametrize("mode", ["static_keys", "profile", "env", "default_chain", "api_key", "assume_role"])
def test_staff_creates_bedrock_in_each_auth_mode_and_watches_the_test_pass(staff_page, aws_env, monkeypatch, mode):
    page = staff_page
    server = start_bedrock(tls=mode == "api_key", allowed_roles={ROLE_ARN: None})
    try:
        # Slow the first permission probe so the page is caught mid-run: earlier steps shown, the next running.
        server.inject(Fault("slow", delay=1.5, path_contains="/invoke"))
        auth_mode = "static_keys" if mode == "assume_role" else mode
        if mode == "profile":
            setup_profile(aws_env)
        if mode in ("env", "default_chain"):
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        open_new_bedrock(page, f"bedrock-{mode.replace('_', '-')}", server, auth_mode)
        if auth_mode == "static_keys":
            fill_static_keys(page)
        if mode == "profile":
            assert page.locator("#aws-profiles option[value=moments-test]").count() == 1
            page.fill("input[name=aws_profile]", "moments-test")
        if mode == "api_key":
            page.check("input[name=bedrock_api_key_source][value=stored]")
            page.wait_for_selector("input[name=bedrock_api_key]")
            page.fill("input[name=bedrock_api_key]", BEDROCK_API_KEY)
        if mode == "assume_role":
            page.click("summary:has-text('Assume a role')")
            page.fill("input[name=role_arn]", ROLE_ARN)
        run_test(page)
        page.wait_for_selector("#test-steps li.step.ok[data-step=credentials]")
        # The next step follows (it may already have passed: steps take milliseconds against the fake).
        page.wait_for_selector("#test-steps li.step[data-step=permissions]:is(.running, .ok)")
        wait_all_passed(page)
        if mode == "assume_role":
            assert "assumed-role/moments-bedrock" in page.inner_text("#test-steps")
        no_secrets(page)
        page.click("button:has-text('Save')")
        page.wait_for_url(page.base + "/providers/")
        assert page.locator(f"#provider-bedrock-{mode.replace('_', '-')}").count() == 1
        no_secrets(page)
        saved = ProviderConfig.objects.get()
        assert saved.auth_mode == auth_mode and bool(saved.role_arn) == (mode == "assume_role")
    finally:
        server.stop()


def test_wrong_secret_shows_which_step_failed_and_why(staff_page, bedrock_api):
    page = staff_page
    open_new_bedrock(page, "bedrock", bedrock_api, "static_keys")
    fill_static_keys(page, secret="wrong-secret-but-long-enough")
    run_test(page)
    failed = page.wait_for_selector("#test-steps li.step.bad[data-step=credentials]")
    assert "SignatureDoesNotMatch" in failed.inner_text() or "signature" in failed.inner_text().lower()
    assert page.locator("#test-steps li.step").count() == 1  # stopped at the first failure
    assert page.inner_text("#test-error-aws_secret_access_key").strip()  # attached to the field at fault
    page.click("#test-steps summary:has-text('Details')")
    assert "$AWS_SECRET_ACCESS_KEY" in page.inner_text("#test-steps pre.curl")
    assert "wrong-secret-but-long-enough" not in page.content()


def test_denied_permission_shows_the_missing_action_and_the_policy(staff_page):
    page = staff_page
    server = start_bedrock(denied_actions=["bedrock:InvokeModel"])
    try:
        open_new_bedrock(page, "bedrock", server, "static_keys")
        fill_static_keys(page)
        run_test(page)
        failed = page.wait_for_selector("#test-steps li.step.bad[data-step=permissions]")
        assert "Missing permission bedrock:InvokeModel " in failed.inner_text()
        policy = page.inner_text("#test-steps pre.policy")
        # The whole provider's policy: the denied action and the rest it uses.
        assert '"bedrock:InvokeModel"' in policy and "InvokeModelWithResponseStream" in policy
        assert "Missing permission" in page.inner_text("#test-error-permissions")
    finally:
        server.stop()


def test_non_staff_user_can_change_nothing(page, login, member_user, password, live_server, staff_user):
    from tests.providers.conftest import make_bedrock

    config = make_bedrock()
    page.set_default_timeout(TIMEOUT)
    login(member_user, password)
    page.goto(live_server.url + "/providers/")
    assert page.locator("#provider-bedrock").count() == 1
    assert page.locator("text=Add Amazon Bedrock").count() == 0
    assert page.locator("form[action='/providers/routing/']").count() == 0
    assert page.locator("text=Edit & test").count() == 0
    response = page.goto(live_server.url + f"/providers/{config.pk}/edit/")
    assert response.status == 403
    page.goto(live_server.url + "/providers/config/")
    assert page.locator("input[type=file]").count() == 0
    status = page.evaluate("""async () => {
        const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken='))?.split('=')[1] || '';
        const r = await fetch('/providers/routing/', {method: 'POST', headers: {'X-CSRFToken': token},
                              body: new URLSearchParams({primary: ''})});
        return r.status; }""")
    assert status == 403
    config.refresh_from_db()


def test_no_secret_in_any_page(staff_page, bedrock_api, monkeypatch):
    page = staff_page
    monkeypatch.setenv("MY_BEDROCK_KEY", BEDROCK_API_KEY)
    open_new_bedrock(page, "bedrock", bedrock_api, "static_keys")
    fill_static_keys(page)
    page.click("button:has-text('Save')")
    page.wait_for_url(page.base + "/providers/")
    config = ProviderConfig.objects.get()
    for path in ["/providers/", f"/providers/{config.pk}/edit/", "/providers/environment/", "/providers/config/",
                 "/providers/revisions/", "/providers/claude-code/", "/providers/status/", "/providers/migration/"]:
        page.goto(page.base + path)
        no_secrets(page)
    page.goto(page.base + "/providers/revisions/")
    page.click("#revision-table a")
    no_secrets(page)


def test_invalid_config_upload_changes_nothing_and_shows_where(staff_page, tmp_path):
    from tests.providers.conftest import make_bedrock

    make_bedrock(aws_region="us-west-2")
    page = staff_page
    bad = tmp_path / "config.yml"
    bad.write_text("model_provider:\n  type: bedrock\n  bedrock:\n    aws_region: us-west-2\n    regoin: x\n")
    page.goto(page.base + "/providers/config/")
    page.set_input_files("input[type=file]", str(bad))
    page.click("button:has-text('Validate and import')")
    errors = page.wait_for_selector("#import-errors")
    text = errors.inner_text()
    assert "model_provider.bedrock.regoin (line 5)" in text and "nothing changed" in text
    config = ProviderConfig.objects.get()
    assert config.aws_region == "us-west-2" and config.auth_mode == "static_keys"


def test_a_revision_restores_the_earlier_configuration(staff_page, bedrock_api):
    page = staff_page
    open_new_bedrock(page, "bedrock", bedrock_api, "static_keys")
    fill_static_keys(page)
    page.click("button:has-text('Save')")
    page.wait_for_url(page.base + "/providers/")
    page.click("text=Edit & test")
    page.select_option("select[name=aws_region]", "eu-west-1")
    page.wait_for_selector("#available-haiku:has-text('eu-west-1')")  # the mapping preview follows the region
    page.fill("input[name=aws_secret_access_key]", AWS_SECRET)  # a new region needs the secret typed again
    page.click("button:has-text('Save')")
    page.wait_for_url(page.base + "/providers/")
    assert "eu-west-1" in page.inner_text("#provider-bedrock")
    page.goto(page.base + "/providers/revisions/")
    page.click("#revision-table tbody tr:last-child a")  # the oldest: "Added provider bedrock"
    assert "us-east-1" in page.inner_text("table.diff")
    page.click("a:has-text('Restore this configuration')")
    assert "eu-west-1" in page.inner_text("#restore-confirm table.diff")  # the diff, then a confirmation
    assert ProviderConfig.objects.get().aws_region == "eu-west-1"
    page.click("button:has-text('Yes, restore revision')")
    page.wait_for_url(page.base + "/providers/")
    assert "us-east-1" in page.inner_text("#provider-bedrock")
    assert ProviderConfig.objects.get().aws_region == "us-east-1"


def test_many_providers_keep_the_list_page_within_the_window(staff_page):
    from django.utils import timezone

    from tests.providers.conftest import make_anthropic, make_bedrock

    for index in range(8):
        make_bedrock(name=f"bedrock-{index}")
    make_anthropic(base_url="https://api.anthropic.com", last_test_at=timezone.now(), last_test_ok=False,
                   last_test_summary="Failed at credentials resolve: anthropic answered 401: invalid x-api-key")
    page = staff_page
    page.goto(page.base + "/providers/", wait_until="networkidle")  # stylesheets applied before measuring
    assert page.locator("#mapping-overview th").count() == 10
    # The mapping table scrolls inside its card; the page itself does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    card = page.locator("section.card:has(#mapping-overview)").bounding_box()
    assert page.locator("#mapping-overview").evaluate("t => t.parentElement.scrollWidth > t.parentElement.clientWidth")
    assert card["x"] + card["width"] <= page.viewport_size["width"]
    page.set_viewport_size({"width": 600, "height": 900})  # a narrow window: the provider table scrolls too
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
