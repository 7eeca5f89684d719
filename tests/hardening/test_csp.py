"""Content-Security-Policy: the header on every page, and no inline script, handler or style in any page."""
import datetime
import re

import pytest
from django.urls import reverse

from providers.models import ProviderConfig
from usage.models import Budget

pytestmark = pytest.mark.django_db

PAGES = ["providers:list", "providers:environment", "providers:claude-code", "providers:config",
         "providers:revisions", "providers:status", "providers:migration", "usage:dashboard", "usage:prices",
         "usage:budgets"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)


@pytest.fixture
def pages(staff_client, record):
    anthropic = ProviderConfig.objects.create(name="anthropic", kind="anthropic", api_key_env="ANTHROPIC_API_KEY")
    budget = Budget.objects.create(name="Monthly", amount_usd=10)
    now = datetime.datetime.now(datetime.UTC)
    record(occurred_at=now - datetime.timedelta(hours=2))
    urls = [reverse(name) for name in PAGES]
    urls += [reverse("providers:create") + "?kind=anthropic", reverse("providers:create") + "?kind=bedrock",
             reverse("providers:edit", args=[anthropic.pk]), reverse("usage:budget-edit", args=[budget.pk])]
    return urls


def test_every_page_sends_the_policy_and_has_nothing_inline(staff_client, pages):
    for url in pages:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy, url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        html = response.content.decode()
        assert not INLINE_SCRIPT.search(html), f"{url}: {INLINE_SCRIPT.search(html).group(0)}"
        assert not INLINE_STYLE.search(html), f"{url}: inline style"
        assert not HANDLER.search(html), f"{url}: {HANDLER.search(html).group(0)}"


def test_the_login_page_and_errors_send_the_policy_too(client):
    assert "default-src 'self'" in client.get(reverse("login"))["Content-Security-Policy"]
    assert "default-src 'self'" in client.get("/no-such-page/")["Content-Security-Policy"]


def test_charts_are_json_data_that_cannot_end_their_script_element(staff_client, record):
    record(occurred_at=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1),
           provider_name="</script><script>alert(1)</script>")
    from usage.rollups import update_rollups

    update_rollups(assume_settled=True)
    html = staff_client.get(reverse("usage:dashboard")).content.decode()
    assert 'class="plotly-figure"' in html
    assert "</script><script>alert(1)" not in html
    assert "\\u003cscript\\u003ealert(1)" in html.lower()  # in the figure, escaped
