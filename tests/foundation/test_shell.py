import pytest
from django.urls import reverse

PAGES = ["providers:list", "usage:dashboard", "providers:status", "providers:migration"]

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_redirects_anonymous_users_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", PAGES)
def test_logged_in_user_sees_navigation(member_client, name):
    response = member_client.get(reverse(name))
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Providers", "Usage &amp; costs", "Status", "Migration"):
        assert label in html
    assert "vendor/htmx-2.0.10.min.js" in html
    assert "X-CSRFToken" in html


def test_login_page_is_public_and_has_csrf(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "csrfmiddlewaretoken" in response.content.decode()


def test_login_with_password(client, member_user, password):
    response = client.post(reverse("login"), {"username": "bob", "password": password})
    assert response.status_code == 302
    assert client.get(reverse("providers:list")).status_code == 200


def test_healthz_reports_database_and_cache_without_login(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


def test_healthz_says_fail_when_cache_is_unreachable(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json() == {"status": "fail", "database": "ok", "cache": "fail"}


def test_vendored_scripts_are_served(client):
    for path in ("/static/vendor/htmx-2.0.10.min.js", "/static/vendor/plotly-4.1.1.min.js"):
        response = client.get(path)
        assert response.status_code == 200, path
