"""With the shared cache unreachable, every page renders (with a visible warning) and /healthz says so."""
import pytest
from django.test import override_settings
from django.urls import reverse

from tests.providers.conftest import make_anthropic, make_bedrock

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]
UNREACHABLE_CACHE = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                 "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens on port 1
PAGES = ["home", "providers:list", "providers:create", "providers:environment", "providers:claude-code",
         "providers:config", "providers:revisions", "providers:status", "providers:migration", "usage:dashboard",
         "usage:prices", "usage:budgets"]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_with_a_warning_when_the_cache_is_down(staff_client, name):
    make_anthropic()
    make_bedrock()
    with override_settings(CACHES=UNREACHABLE_CACHE):
        response = staff_client.get(reverse(name), follow=True)
    assert response.status_code == 200
    assert "The shared cache is unreachable" in response.content.decode()


def test_no_warning_while_the_cache_is_up(staff_client):
    assert "The shared cache is unreachable" not in staff_client.get(reverse("providers:list")).content.decode()


def test_healthz_still_reports_the_cache_failure(client):
    with override_settings(CACHES=UNREACHABLE_CACHE):
        response = client.get(reverse("healthz"))
    assert response.status_code == 503 and "cache" in response.content.decode()
