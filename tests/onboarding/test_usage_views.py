"""Usage views: checks (test connection, health, wizard) apart from application traffic by default;
recommendations and the demo banner follow the filters."""
import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from providers.clients.usage import Usage
from usage.models import Recommendation
from usage.rollups import update_rollups

pytestmark = [pytest.mark.django_db]
TODAY = datetime.datetime.now(datetime.UTC).replace(hour=1, minute=0, second=0, microsecond=0)


@pytest.fixture
def mixed(record):
    for _ in range(2):
        record(occurred_at=TODAY, gateway_key="key-web")
    for purpose in ("test", "health", "wizard"):
        record(occurred_at=TODAY, purpose=purpose)
    update_rollups(assume_settled=True)


def requests_shown(html):
    return int(html.split('data-testid="requests">')[1].split("<")[0].replace(",", ""))


def test_default_view_is_application_traffic_with_checks_counted_apart(member_client, mixed):
    html = member_client.get(reverse("usage:dashboard")).content.decode()
    assert requests_shown(html) == 2
    assert 'id="checks-apart"' in html and "3 check calls" in html
    assert '<option value="" selected>Application traffic</option>' in html
    everything = member_client.get(reverse("usage:dashboard"), {"purpose": "all"}).content.decode()
    assert requests_shown(everything) == 5 and 'id="checks-apart"' not in everything
    checks = member_client.get(reverse("usage:dashboard"), {"purpose": "checks"}).content.decode()
    assert requests_shown(checks) == 3
    tests_only = member_client.get(reverse("usage:dashboard"), {"purpose": "test"}).content.decode()
    assert requests_shown(tests_only) == 1


def test_check_traffic_makes_no_recommendation(record):
    from usage.recommendations import refresh_recommendations

    for _ in range(30):  # simple Sonnet requests: a "move to Haiku" candidate, but only test traffic
        record(occurred_at=TODAY, purpose="test", usage=Usage(input_tokens=1000, output_tokens=50))
    assert refresh_recommendations(now=TODAY + datetime.timedelta(hours=1))["recommendations"] == 0


def test_recommendations_follow_the_model_and_provider_filters(member_client, mixed):
    common = {"monthly_saving_usd": Decimal("5"), "period_days": 30, "computed_at": TODAY, "detail": "d"}
    Recommendation.objects.create(kind="haiku", title="Sonnet on Anthropic", provider_kind="anthropic",
                                  base_model="claude-sonnet-4-5", **common)
    Recommendation.objects.create(kind="global_profile", title="Opus on Bedrock", provider_kind="bedrock",
                                  base_model="claude-opus-4-5", **common)
    html = member_client.get(reverse("usage:dashboard")).content.decode()
    assert "Sonnet on Anthropic" in html and "Opus on Bedrock" in html
    html = member_client.get(reverse("usage:dashboard"), {"model": "claude-sonnet-4-5"}).content.decode()
    assert "Sonnet on Anthropic" in html and "Opus on Bedrock" not in html
    html = member_client.get(reverse("usage:dashboard"), {"provider": "anthropic-main"}).content.decode()
    assert "Sonnet on Anthropic" in html and "Opus on Bedrock" not in html
    html = member_client.get(reverse("usage:dashboard"), {"purpose": "health"}).content.decode()
    assert "Sonnet on Anthropic" not in html


def test_demo_banner_only_when_the_filtered_view_has_demo_rows(member_client, record):
    record(occurred_at=TODAY, provider_name="demo-anthropic (demo)", is_demo=True)
    record(occurred_at=TODAY, provider_name="real")
    update_rollups(assume_settled=True)
    assert "demo data" in member_client.get(reverse("usage:dashboard")).content.decode()
    assert "demo data" not in member_client.get(reverse("usage:dashboard"), {"provider": "real"}).content.decode()
    old = (TODAY - datetime.timedelta(days=40)).date().isoformat()
    assert "demo data" not in member_client.get(reverse("usage:dashboard"),
                                                {"start": old, "end": old}).content.decode()
