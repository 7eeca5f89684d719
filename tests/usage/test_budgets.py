"""Budget alerts fire once per threshold per month, by email and webhook; the hard stop blocks a key."""
import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from usage import budgets, services
from usage.models import Budget, BudgetAlert
from usage.tasks import queue_alert_delivery, send_budget_alert_webhook

from .conftest import NOW

pytestmark = pytest.mark.django_db


def spend(record, dollars, **overrides):
    """Record Haiku 4.5 output tokens worth exactly `dollars` ($5 per million)."""
    tokens = int(Decimal(dollars) * 200_000)
    return record({"output_tokens": tokens}, model_id="claude-haiku-4-5-20251001", **overrides)


@pytest.fixture
def budget(webhook_server):
    return Budget.objects.create(name="All traffic", scope="overall", amount_usd=Decimal("1.00"),
                                 thresholds="50,80,100", email_recipients="ops@example.test, cfo@example.test",
                                 webhook_url=webhook_server.url, webhook_format="json")


def check(django_capture_on_commit_callbacks, now=NOW):
    with django_capture_on_commit_callbacks(execute=True):
        return budgets.check_budgets(now=now, send=queue_alert_delivery)


def test_each_threshold_alerts_once_per_month(record, budget, webhook_server, eager_celery,
                                              django_capture_on_commit_callbacks):
    spend(record, "0.60")
    assert check(django_capture_on_commit_callbacks) == {"alerts": 1, "failures": 0, "retried": 0}
    assert check(django_capture_on_commit_callbacks)["alerts"] == 0  # 50% again: nothing new
    assert len(mail.outbox) == 1 and len(webhook_server.received) == 1
    assert "reached 50%" in mail.outbox[0].subject
    assert mail.outbox[0].to == ["ops@example.test", "cfo@example.test"]
    payload = webhook_server.received[0]["json"]
    assert (payload["event"], payload["threshold_percent"], payload["month"]) == ("budget.threshold_reached", 50,
                                                                                  "2026-11")
    assert payload["spend_usd"] == "0.60" and payload["budget"]["amount_usd"] == "1.00"

    spend(record, "0.25")  # 85%: the 80% alert, once
    check(django_capture_on_commit_callbacks)
    check(django_capture_on_commit_callbacks)
    spend(record, "0.20")  # 105%: the 100% alert, once
    check(django_capture_on_commit_callbacks)
    check(django_capture_on_commit_callbacks)
    assert [message.subject.split("reached ")[1][:4] for message in mail.outbox] == ["50% ", "80% ", "100%"]
    assert [hook["json"]["threshold_percent"] for hook in webhook_server.received] == [50, 80, 100]
    alerts = BudgetAlert.objects.order_by("threshold")
    assert [alert.threshold for alert in alerts] == [50, 80, 100]
    assert all(alert.email_sent_at and alert.webhook_sent_at for alert in alerts)

    # A new month starts from zero: its 50% alert fires again, once.
    december = NOW + datetime.timedelta(days=15)
    spend(record, "0.55", occurred_at=december)
    check(django_capture_on_commit_callbacks, now=december)
    check(django_capture_on_commit_callbacks, now=december)
    assert len(mail.outbox) == 4 and "December 2026" in mail.outbox[3].subject
    assert BudgetAlert.objects.filter(month=datetime.date(2026, 12, 1)).count() == 1


def test_crossing_several_thresholds_at_once_sends_each(record, budget, webhook_server, eager_celery,
                                                        django_capture_on_commit_callbacks):
    spend(record, "0.90")
    assert check(django_capture_on_commit_callbacks)["alerts"] == 2
    assert sorted(hook["json"]["threshold_percent"] for hook in webhook_server.received) == [50, 80]


def test_slack_payload(record, budget, webhook_server, eager_celery, django_capture_on_commit_callbacks):
    budget.webhook_format = "slack"
    budget.save()
    spend(record, "0.50")
    check(django_capture_on_commit_callbacks)
    payload = webhook_server.received[0]["json"]
    assert set(payload) == {"text", "blocks"}
    assert "All traffic" in payload["text"] and "50%" in payload["text"]
    assert payload["blocks"][0]["type"] == "section" and payload["blocks"][0]["text"]["type"] == "mrkdwn"


def test_demo_rows_and_other_scopes_do_not_count(record, webhook_server, eager_celery,
                                                 django_capture_on_commit_callbacks):
    Budget.objects.create(name="Bedrock", scope="provider", provider_name="bedrock-us", amount_usd=1,
                          email_recipients="ops@example.test")
    Budget.objects.create(name="Key", scope="key", gateway_key="key-a", amount_usd=1,
                          email_recipients="ops@example.test")
    spend(record, "5.00", is_demo=True, provider_name="bedrock-us", gateway_key="key-a")
    spend(record, "5.00", provider_name="anthropic-main", gateway_key="key-b")
    check(django_capture_on_commit_callbacks)
    assert mail.outbox == []
    spend(record, "0.50", provider_name="bedrock-us", gateway_key="key-b")
    check(django_capture_on_commit_callbacks)
    assert [message.subject for message in mail.outbox] == ['Budget "Bedrock" reached 50% for November 2026']


def test_hard_stop_blocks_the_key_at_100_percent_until_the_budget_is_raised(record,
                                                                            django_capture_on_commit_callbacks):
    now = timezone.now()  # is_key_blocked looks at the real current month
    budget = Budget.objects.create(name="Key", scope="key", gateway_key="key-a", amount_usd=1, hard_stop=True)
    Budget.objects.create(name="Soft", scope="key", gateway_key="key-b", amount_usd=1, hard_stop=False)
    spend(record, "0.99", gateway_key="key-a", occurred_at=now)
    spend(record, "2.00", gateway_key="key-b", occurred_at=now)
    check(django_capture_on_commit_callbacks, now=now)
    assert not services.is_key_blocked("key-a")
    spend(record, "0.01", gateway_key="key-a", occurred_at=now)
    check(django_capture_on_commit_callbacks, now=now)
    budget.refresh_from_db()
    assert budget.blocked_month == now.date().replace(day=1)
    services.forget_blocked_keys()
    assert services.is_key_blocked("key-a")
    assert not services.is_key_blocked("key-b") and not services.is_key_blocked("")
    budget.amount_usd = 5
    budget.save()
    check(django_capture_on_commit_callbacks, now=now)
    budget.refresh_from_db()
    assert budget.blocked_month is None and not services.is_key_blocked("key-a")


def test_is_key_blocked_reads_the_current_month(record):
    month = services.month_start()
    Budget.objects.create(name="Key", scope="key", gateway_key="key-a", amount_usd=1, hard_stop=True,
                          blocked_month=month)
    Budget.objects.create(name="Old", scope="key", gateway_key="key-old", amount_usd=1, hard_stop=True,
                          blocked_month=month - datetime.timedelta(days=40))
    assert services.is_key_blocked("key-a")
    assert not services.is_key_blocked("key-old")  # last month's block ended with the month


def test_failed_webhook_is_recorded_and_sent_again_by_a_later_check(record, budget, webhook_server, eager_celery,
                                                                     django_capture_on_commit_callbacks):
    webhook_server.status = 500
    spend(record, "0.60")
    check(django_capture_on_commit_callbacks)
    alert = BudgetAlert.objects.get()
    assert alert.webhook_sent_at is None and "500" in alert.last_error and alert.attempts == 1
    budget.refresh_from_db()
    assert "HTTP 500" in budget.last_alert_error and budget.last_alert_error_at is not None
    sent = len(webhook_server.received)  # the worker tried twice in one run (bounded, with backoff)
    webhook_server.status = 200
    assert budgets.retry_failed_alerts(now=alert.last_attempt_at + datetime.timedelta(seconds=10), send=queue_alert_delivery) == 0  # backoff
    assert len(webhook_server.received) == sent
    assert budgets.retry_failed_alerts(now=alert.last_attempt_at + datetime.timedelta(seconds=61), send=queue_alert_delivery) == 1
    alert.refresh_from_db()
    assert alert.webhook_sent_at is not None
    assert send_budget_alert_webhook.run(alert.id) == "nothing to send"  # never twice
    assert budgets.retry_failed_alerts(now=alert.last_attempt_at + datetime.timedelta(days=1), send=queue_alert_delivery) == 0
    assert len(webhook_server.received) == sent + 1


def test_projection_uses_the_last_full_days():
    today = datetime.date(2026, 11, 10)
    days = {datetime.date(2026, 11, day): Decimal(10) for day in range(1, 10)}
    days[today] = Decimal(4)
    spent, projected = budgets.projection(days, today)
    assert spent == Decimal(94)
    assert projected == Decimal("94") + Decimal(10) * Decimal("20.5")  # 30-day month, 20.5 days to go


def test_a_projection_is_never_shown_below_what_is_spent():
    """Cents rounded half-even once gave $0.07 projected against $0.072994 spent: it rounds up instead."""
    today = datetime.date(2026, 11, 30)
    days = {today: Decimal("0.072994")}  # spend today only: none on the last full days
    spent, projected = budgets.projection(days, today)
    assert (spent, projected) == (Decimal("0.072994"), Decimal("0.08"))


def test_test_alert_button_sends_both_channels(staff_client, budget, webhook_server):
    from django.urls import reverse

    response = staff_client.post(reverse("usage:budget-test-alert", args=[budget.pk]), follow=True)
    assert response.status_code == 200
    assert mail.outbox[0].subject.startswith("[TEST]")
    assert webhook_server.received[0]["json"]["test"] is True
    assert "Webhook answered HTTP 200" in response.content.decode()
    assert not BudgetAlert.objects.exists()  # a test alert is not a real one


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/hook",
                                 "https://169.254.170.2/creds"])
def test_webhooks_to_link_local_metadata_addresses_are_refused(staff_client, url, settings):
    from django.urls import reverse

    settings.OUTBOUND_ALLOW_HTTP = True  # so the address, not the scheme, is what refuses them

    response = staff_client.post(reverse("usage:budget-add"), {
        "name": "Metadata", "scope": "overall", "amount_usd": "10", "thresholds": "50",
        "webhook_url": url, "webhook_format": "json", "active": "on"})
    assert response.status_code in (200, 400) and "link-local" in response.content.decode()
    assert not Budget.objects.filter(name="Metadata").exists()


def test_a_stored_link_local_webhook_is_never_called(record, budget, webhook_server):
    Budget.objects.filter(pk=budget.pk).update(webhook_url="http://169.254.169.254/latest/meta-data/")
    spend(record, "0.60")
    budgets.check_budgets(now=NOW, send=queue_alert_delivery)
    assert "link-local" in send_budget_alert_webhook.run(BudgetAlert.objects.get().id)
    assert "link-local" in BudgetAlert.objects.get().last_error
    assert webhook_server.received == []


def test_a_budget_check_waits_for_the_one_already_running(record, budget, eager_celery,
                                                          django_capture_on_commit_callbacks):
    from moments_admin.locks import job_lock
    from usage.tasks import BUDGET_LOCK, check_usage_budgets

    spend(record, "0.60", occurred_at=timezone.now())  # the task checks the current month
    with job_lock(BUDGET_LOCK) as held:
        assert held
        assert check_usage_budgets() == {"skipped": "another budget check is running"}
    assert not BudgetAlert.objects.exists()  # the skipped run sent nothing
    with django_capture_on_commit_callbacks(execute=True):
        result = check_usage_budgets()
    assert result["alerts"] == 1
