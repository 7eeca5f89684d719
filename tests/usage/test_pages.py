"""Pages render for members and staff; changes need staff, CSRF and valid input."""
import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from providers.clients.usage import Usage
from usage.models import Budget, ModelPrice, ProfileMapping, RecomputeJob
from usage.rollups import update_rollups

from .conftest import NOW

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]
TODAY = datetime.datetime.now(datetime.UTC).replace(hour=1, minute=0, second=0, microsecond=0)


@pytest.fixture
def traffic(record):
    for days_ago in range(3):
        moment = TODAY - datetime.timedelta(days=days_ago)
        record(occurred_at=moment, gateway_key="key-web", agent="web")
        record(occurred_at=moment, provider_name="bedrock-us", provider_kind="bedrock",
               model_id="us.anthropic.claude-haiku-4-5-20251001-v1:0", gateway_key="key-batch", agent="nightly",
               status="rate_limited")
        record(occurred_at=moment, model_id="claude-mystery-7")
    update_rollups(assume_settled=True)


def test_dashboard_renders_cards_and_charts(member_client, traffic):
    response = member_client.get(reverse("usage:dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("vendor/plotly-4.1.1.min.js") == 1
    for chart in ("chart-over-time", "chart-cost-by-kind", "chart-latency", "chart-month"):
        assert f'id="{chart}"' in html
    assert 'data-testid="requests">9<' in html
    assert 'data-testid="unpriced">3' in html
    assert "claude-mystery-7" in html


def test_an_empty_period_says_so_instead_of_drawing_empty_axes(member_client):
    html = member_client.get(reverse("usage:dashboard")).content.decode()
    assert "Cost by provider name: no data in this period." in html
    assert 'id="chart-over-time" class="plotly-graph-div"' not in html


def test_htmx_request_gets_only_the_partial(member_client, traffic):
    response = member_client.get(reverse("usage:dashboard"), {"by": "model"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="usage-body">')
    assert "<html" not in html and "plotly-4.1.1.min.js" not in html
    assert "claude-haiku-4-5" in html
    assert response["Vary"].count("HX-Request") == 1


def test_date_presets_keep_the_other_filters(member_client, traffic):
    query = {"provider": "bedrock-us", "model": "claude-haiku-4-5", "key": "key-batch", "agent": "nightly",
             "purpose": "gateway", "by": "model", "metric": "tokens"}
    response = member_client.get(reverse("usage:dashboard"), query, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    kept = "&amp;provider=bedrock-us&amp;model=claude-haiku-4-5&amp;key=key-batch&amp;agent=nightly" \
           "&amp;purpose=gateway&amp;by=model&amp;metric=tokens"
    assert html.count(kept) == 10  # href and hx-get of each of the five presets


@pytest.mark.parametrize("query", [{"start": "2026-13-40"}, {"start": "2026-11-10", "end": "2026-11-01"},
                                   {"start": "2020-01-01", "end": "2026-01-01"}, {"by": "nonsense"}])
def test_bad_filters_show_an_error_not_a_500(member_client, traffic, query):
    response = member_client.get(reverse("usage:dashboard"), query)
    assert response.status_code == 200
    assert "Filters not applied" in response.content.decode()


@pytest.mark.parametrize("name", ["usage:dashboard", "usage:prices", "usage:budgets"])
def test_pages_need_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["usage:prices", "usage:budgets"])
def test_members_see_pages_without_change_forms(member_client, name):
    html = member_client.get(reverse(name)).content.decode()
    assert "csrfmiddlewaretoken" not in html.split("</header>", 1)[1]


def test_staff_see_change_forms(staff_client):
    assert 'action="/usage/prices/add/"' in staff_client.get(reverse("usage:prices")).content.decode()
    assert 'action="/usage/budgets/add/"' in staff_client.get(reverse("usage:budgets")).content.decode()


PRICE = {"provider_kind": "anthropic", "model": "claude-sonnet-4-5-20250929", "scope": "standard",
         "effective_from": "2030-01-01", "input": "2.5", "output": "12.5", "batch_discount": "0.5",
         "source_url": "https://docs.claude.com/en/docs/about-claude/pricing"}
BUDGET = {"name": "Team", "scope": "overall", "amount_usd": "100", "thresholds": "50,80,100",
          "webhook_format": "json", "active": "on"}
CHANGES = [
    ("usage:price-add", (), PRICE),
    ("usage:recompute", (), {"start": "2026-11-01", "end": "2026-11-02"}),
    ("usage:mapping-add", (), {"arn": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/x1",
                               "model_id": "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}),
    ("usage:budget-add", (), BUDGET),
    ("usage:recommendations-refresh", (), {}),
    ("usage:batchable-agent-add", (), {"name": "nightly"}),
]


@pytest.mark.parametrize(("name", "args", "data"), CHANGES)
def test_changes_are_forbidden_to_members(member_client, name, args, data):
    counts = (ModelPrice.objects.count(), Budget.objects.count(), ProfileMapping.objects.count(),
              RecomputeJob.objects.count())
    response = member_client.post(reverse(name, args=args), data)
    assert response.status_code == 403
    assert counts == (ModelPrice.objects.count(), Budget.objects.count(), ProfileMapping.objects.count(),
                      RecomputeJob.objects.count())


def test_member_cannot_edit_or_delete_a_budget(member_client):
    budget = Budget.objects.create(name="B", amount_usd=10)
    assert member_client.get(reverse("usage:budget-edit", args=[budget.pk])).status_code == 403
    assert member_client.post(reverse("usage:budget-delete", args=[budget.pk])).status_code == 403
    assert member_client.post(reverse("usage:budget-test-alert", args=[budget.pk])).status_code == 403
    assert Budget.objects.filter(pk=budget.pk).exists()


def test_changes_need_a_csrf_token(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post(reverse("usage:budget-add"), BUDGET)
    assert response.status_code == 403
    assert not Budget.objects.exists()


def test_staff_add_a_dated_price(staff_client):
    response = staff_client.post(reverse("usage:price-add"), PRICE)
    assert response.status_code == 302
    price = ModelPrice.objects.get(base_model="claude-sonnet-4-5", scope="standard", effective_from="2030-01-01")
    assert (str(price.cache_write_5m), str(price.cache_read)) == ("3.125000", "0.250000")  # derived from input
    again = staff_client.post(reverse("usage:price-add"), PRICE)
    assert again.status_code == 400 and "pick another date" in again.content.decode()


@pytest.mark.parametrize("change", [{"scope": "global"}, {"input": "-1"}, {"model": "gpt-4o"},
                                    {"long_context_threshold": "200000"}, {"source_url": "not a url"},
                                    {"effective_from": "someday"},
                                    {"long_context_threshold": "99999999999999999999", "long_context_input": "6",
                                     "long_context_output": "22.5"}])
def test_bad_price_input_is_a_form_error_and_writes_nothing(staff_client, change):
    before = ModelPrice.objects.count()
    response = staff_client.post(reverse("usage:price-add"), {**PRICE, **change})
    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert ModelPrice.objects.count() == before


@pytest.mark.parametrize("change", [{"scope": "key"}, {"scope": "provider"}, {"amount_usd": "0"},
                                    {"thresholds": "50,abc"}, {"thresholds": "0"},
                                    {"email_recipients": "ops@example.test, nope"}, {"hard_stop": "on"},
                                    {"webhook_url": "ftp://x"}])
def test_bad_budget_input_is_a_form_error_and_writes_nothing(staff_client, change):
    response = staff_client.post(reverse("usage:budget-add"), {**BUDGET, **change})
    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert not Budget.objects.exists()


def test_staff_create_edit_and_delete_a_budget(staff_client):
    staff_client.post(reverse("usage:budget-add"), {**BUDGET, "scope": "key", "gateway_key": "key-web",
                                                    "hard_stop": "on", "thresholds": "80, 50"})
    budget = Budget.objects.get()
    assert (budget.scope, budget.gateway_key, budget.hard_stop, budget.thresholds) == ("key", "key-web", True, "50,80")
    response = staff_client.post(reverse("usage:budget-edit", args=[budget.pk]), {**BUDGET, "amount_usd": "250"})
    assert response.status_code == 302
    budget.refresh_from_db()
    assert (budget.amount_usd, budget.scope, budget.gateway_key, budget.hard_stop) == (250, "overall", "", False)
    staff_client.post(reverse("usage:budget-delete", args=[budget.pk]))
    assert not Budget.objects.exists()


def test_recompute_form_rejects_reversed_dates(staff_client):
    response = staff_client.post(reverse("usage:recompute"), {"start": "2026-11-05", "end": "2026-11-01"})
    assert response.status_code == 400 and not RecomputeJob.objects.exists()


def test_prices_page_lists_current_prices_with_sources(member_client):
    html = member_client.get(reverse("usage:prices")).content.decode()
    assert "claude-haiku-4-5" in html and "https://aws.amazon.com/bedrock/pricing/" in html


def test_dashboard_shows_what_the_response_cache_saved_in_the_period(member_client, record):
    def hit(day, saving):
        record(occurred_at=NOW.replace(day=day), status="cache_hit", usage=Usage(), response_cache_saving=saving)

    hit(17, Decimal("7.00"))  # before the period
    hit(18, Decimal("1.25"))
    hit(20, Decimal("0.50"))
    hit(20, None)  # the original was unpriced: saved nothing known
    record(occurred_at=NOW)  # a paid call saves nothing
    update_rollups(assume_settled=True)
    hit(20, Decimal("0.25"))  # not rolled up yet: read from the tail
    period = {"start": "2026-11-18", "end": "2026-11-20"}
    html = member_client.get(reverse("usage:dashboard"), period).content.decode()
    line = re.search(r'<p data-testid="response-cache-saving">(.*?)</p>', html, re.S).group(1)
    assert "Response cache saved <strong>$2.00</strong>" in line
    assert f'href="{reverse("providers:response-cache")}"' in line
    html = member_client.get(reverse("usage:dashboard"), {"start": "2026-11-19", "end": "2026-11-20"}).content
    assert b"Response cache saved <strong>$0.75</strong>" in html  # two days: the hourly rollups
    html = member_client.get(reverse("usage:dashboard"), {"start": "2026-11-01", "end": "2026-11-02"}).content
    assert b"Response cache saved <strong>$0.00</strong>" in html  # shown at zero, like prompt caching's line
