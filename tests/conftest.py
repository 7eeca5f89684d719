"""Shared fixtures: users of each role, and settings safe for tests."""
import pytest

pytest_plugins = ["tests.fake_providers", "tests.listener"]


@pytest.fixture
def password():
    return "correct-horse-battery-staple"


@pytest.fixture
def staff_user(django_user_model, password):
    return django_user_model.objects.create_user("alice", "alice@example.test", password, is_staff=True)


@pytest.fixture
def member_user(django_user_model, password):
    return django_user_model.objects.create_user("bob", "bob@example.test", password, is_staff=False)


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def member_client(client, member_user):
    client.force_login(member_user)
    return client


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium_browser():
    """Debian's chromium driven by Playwright; skipped outside CI when it is missing."""
    import os

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run must install Debian's chromium")
        pytest.skip(f"browser tests need {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM is safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser):
    context = chromium_browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login(page, live_server):
    """Log in through the real login form; returns a function taking a user."""

    def _login(user, password):
        page.goto(live_server.url + "/accounts/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    return _login


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Each test starts with an empty cache (circuit breakers, catalog cache) and no per-process
    memo of it: pooled clients, the configuration snapshot, recently read breaker states."""
    from providers import breaker, client_pool, response_cache, snapshot

    breaker.forget_recent()
    client_pool.forget_clients()
    snapshot.forget()
    response_cache.forget_generations()
    response_cache.counters.forget()
    if "django_db_setup" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        yield
        return
    from django.core.cache import cache

    cache.clear()
    yield
