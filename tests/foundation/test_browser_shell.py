import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_shows_the_dashboard_shell(page, live_server, login, staff_user, password):
    page.goto(live_server.url + "/usage/")
    assert "/accounts/login/" in page.url  # anonymous users are sent to log in

    login(staff_user, password)
    page.goto(live_server.url + "/")
    nav = page.locator("nav[aria-label=Main]")
    assert nav.locator("a").all_inner_texts() == ["Providers", "Usage & costs", "Gateway keys", "Batches", "Status",
                                                    "Migration"]
    assert "alice" in page.locator(".who").inner_text()
    # htmx came from our own static files and initialised.
    assert page.evaluate("typeof window.htmx") == "object"


def test_wrong_password_is_refused(page, live_server, staff_user):
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert "didn't match" in page.locator(".error").inner_text()
