"""The Status page, its htmx live part, the health settings form and the test alert."""
import pytest
from django.core import mail
from django.urls import reverse

from providers.clients.catalog import load_catalog
from providers.fakes import Fault
from providers.health.models import HealthSettings
from providers.health.rounds import run_round
from providers.health.status_page import Day, uptime_days
from tests.providers.conftest import assert_no_secrets, make_anthropic

LOGICAL = load_catalog().logical_names()  # every logical model is checked

pytestmark = pytest.mark.django_db


def test_status_page_shows_each_provider_and_model_with_state_uptime_and_incidents(
        aws_env, fresh_anthropic, staff_client, health_settings):
    make_anthropic(server=fresh_anthropic, model_mapping={"opus": "claude-opus-does-not-exist"})
    run_round()
    run_round()
    response = staff_client.get(reverse("providers:status"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="status-anthropic"' in html and "state-degraded" in html  # up, but opus is down
    assert html.count('class="model-row"') == len(LOGICAL)
    assert html.count("(count_tokens, no tokens)") == len(LOGICAL)  # which check ran and what it spent
    # 24 h, 7 d and 30 d for the provider and every model but opus, which failed both checks
    assert html.count("</span> 100.000 %") == 3 * len(LOGICAL) and html.count("</span> 0.000 %") == 3
    assert html.count('class="uptime-bar" role="img"') == len(LOGICAL) + 1 and "Last 30 days: 1 with every" in html
    assert "model_not_available" in html and 'id="incidents"' in html
    assert 'type="application/json"' in html and "<script>" not in html
    assert_no_secrets(html, "status page")


def test_htmx_poll_gets_only_the_live_part_and_stops_when_nothing_is_watched(staff_client, db):
    response = staff_client.get(reverse("providers:status"), HTTP_HX_REQUEST="true")
    assert response.status_code == 286
    assert 'id="status-live"' in response.content.decode() and "<html" not in response.content.decode()


def test_htmx_poll_continues_while_a_provider_is_watched(aws_env, fresh_anthropic, staff_client, health_settings):
    make_anthropic(server=fresh_anthropic)
    response = staff_client.get(reverse("providers:status"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200


def test_status_page_warns_when_no_worker_ran_recently(staff_client, settings, db):
    from providers.shared_cache import shared_cache

    shared_cache.set("worker:last_heartbeat", "2020-01-01T00:00:00+00:00")
    html = staff_client.get(reverse("providers:status")).content.decode()
    assert "No worker has run a task recently" in html


def test_uptime_counts_checks_and_leaves_gaps_out():
    import datetime as dt

    today = dt.date(2026, 11, 29)
    rows = [(today, 60, 3), (today - dt.timedelta(days=2), 40, 0)]
    days = uptime_days(rows, today, 60, days=5)
    assert [d.level for d in days] == ["none", "none", "ok", "none", "minor"]
    assert days[-1] == Day(today, 60, 3, 3.0)
    from providers.health.status_page import Target

    target = Target("p", "", days=days)
    assert target.uptime == pytest.approx(100 * 97 / 100)  # the gap days count neither up nor down
    assert Target("p", "", days=uptime_days([], today, 60, days=5)).uptime is None


def test_staff_edit_the_interval_and_channels(staff_client, db):
    response = staff_client.post(reverse("health:settings"), {
        "interval_seconds": "30", "down_after_failures": "3", "up_after_successes": "1",
        "alert_emails": "a@example.test\nb@example.test", "webhook_url": ""})
    assert response.status_code == 302
    row = HealthSettings.load()
    assert (row.interval_seconds, row.down_after_failures, row.recipient_list) == (
        30, 3, ["a@example.test", "b@example.test"])


@pytest.mark.parametrize("changes, message", [
    ({"interval_seconds": "1"}, "greater than or equal to 5"),
    ({"alert_emails": "not-an-address"}, "is not an e-mail address"),
    ({"webhook_url": "https://169.254.169.254/latest"}, "link-local"),  # (plain http is refused first)
])
def test_bad_settings_are_refused_and_the_previous_ones_kept(staff_client, db, changes, message):
    before = HealthSettings.load()
    data = {"interval_seconds": "30", "down_after_failures": "2", "up_after_successes": "2", "alert_emails": "",
            "webhook_url": "", **changes}
    response = staff_client.post(reverse("health:settings"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert HealthSettings.load().interval_seconds == before.interval_seconds


def test_members_cannot_change_settings_or_send_alerts(member_client, db):
    assert member_client.post(reverse("health:settings"), {"interval_seconds": "30"}).status_code == 403
    assert member_client.post(reverse("health:test-alert")).status_code == 403
    assert "health-settings" not in member_client.get(reverse("providers:status")).content.decode()


def test_send_test_alert_sends_one_marked_email(staff_client, health_settings):
    response = staff_client.post(reverse("health:test-alert"), follow=True)
    assert "Test alert sent (email: sent)" in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].subject.startswith("[TEST]")
    assert mail.outbox[0].to == ["oncall@example.test"]


def test_send_test_alert_without_channels_says_what_to_set(staff_client, db):
    response = staff_client.post(reverse("health:test-alert"), follow=True)
    assert "Set an alert e-mail address or webhook URL first" in response.content.decode()
    assert mail.outbox == []


def test_failed_checks_show_in_the_error_chart(aws_env, fresh_anthropic, staff_client, health_settings):
    make_anthropic(server=fresh_anthropic)
    fresh_anthropic.inject(Fault("unavailable", times=1))
    run_round()
    html = staff_client.get(reverse("providers:status")).content.decode()
    assert 'id="latency-figure"' in html and 'id="error-figure"' in html
    assert "anthropic checks" in html


def test_past_days_come_from_history_and_gaps_stay_grey(aws_env, fresh_anthropic, staff_client, health_settings):
    import datetime as dt

    from django.utils import timezone

    from providers.health.models import CheckResult

    make_anthropic(server=fresh_anthropic)
    three_days_ago = timezone.now() - dt.timedelta(days=3)
    CheckResult.objects.bulk_create([
        CheckResult(checked_at=three_days_ago, run_id=str(i), provider_name="anthropic", provider_kind="anthropic",
                    model="", ok=i >= 2, check_kind="round") for i in range(10)])
    html = staff_client.get(reverse("providers:status")).content.decode()
    assert "2 of 10 checks failed (~2 min)" in html
    assert html.count("</span> 80.000 %") == 2  # 7 d and 30 d: the days without checks count neither up nor down
    assert "24 h</span> no data" in html  # nothing in the last 24 hours is no data, not 100 %
    assert html.count("day-none") == 29  # its other days; no model was checked yet, so no model rows


def test_latency_chart_has_real_traffic_percentiles_from_the_rollups_beside_the_checks(db):
    import datetime as dt

    from django.utils import timezone

    from providers.health.charts import latency_and_errors
    from usage.histogram import bin_index
    from usage.models import ProviderHourly

    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    common = {"bucket": hour, "provider_kind": "bedrock", "base_model": "claude-haiku-4-5"}
    bins = {f"lat_{bin_index(120):02d}": 90, f"lat_{bin_index(2500):02d}": 10}  # 90 calls at 100-150 ms, 10 slow
    ProviderHourly.objects.create(provider_name="bedrock", purpose="client", requests=100, failed=5, **common, **bins)
    # Health checks and test connections are not traffic: left out of both figures.
    ProviderHourly.objects.create(provider_name="bedrock", purpose="health", requests=50, failed=50,
                                  **common, **{f"lat_{bin_index(20000):02d}": 50})
    ProviderHourly.objects.create(provider_name="bedrock", purpose="client", requests=1,
                                  **{**common, "bucket": hour - dt.timedelta(days=2)})  # older than the window

    latency, errors = latency_and_errors()
    traces = {t["name"]: t["y"] for t in latency["data"]}
    assert set(traces) == {"bedrock traffic p50", "bedrock traffic p95"}
    assert 100 <= traces["bedrock traffic p50"][-1] <= 150  # inside its bin
    assert 2000 <= traces["bedrock traffic p95"][-1] <= 3000
    assert traces["bedrock traffic p50"][:-1] == [None] * 23, "one point per hour with traffic"
    rates = {t["name"]: t["y"] for t in errors["data"]}
    assert rates["bedrock traffic"][-1] == 5.0
