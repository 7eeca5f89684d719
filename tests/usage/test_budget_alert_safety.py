"""Budget alerts: webhooks only to public hosts (form and worker), no header injection, every failure
recorded on the budget and retried, and "Send a test alert" never a 500."""
import datetime
import smtplib
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from usage import budgets, notify
from usage.forms import BudgetForm
from usage.models import Budget, BudgetAlert
from usage.tasks import queue_alert_delivery, send_budget_alert_email

from .conftest import NOW
from .test_budgets import spend

pytestmark = pytest.mark.django_db


def form_data(**changes):
    data = {"name": "Ops", "scope": "overall", "amount_usd": "10", "thresholds": "50,100",
            "email_recipients": "ops@example.test", "webhook_url": "", "webhook_format": "json", "active": "on"}
    data.update(changes)
    return data


@pytest.mark.parametrize("url, reason", [
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://10.0.0.8/hook", "private"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://localhost/hook", "loopback"),
    ("ftp://hooks.example.com/hook", "https://"),
    ("https://nowhere.invalid/hook", "cannot be resolved"),
])
def test_budget_form_refuses_internal_webhooks_naming_the_address_class(url, reason, settings):
    settings.OUTBOUND_ALLOW_HTTP = True
    form = BudgetForm(form_data(webhook_url=url))
    assert not form.is_valid()
    assert reason in " ".join(form.errors["webhook_url"])


def test_the_worker_checks_a_stored_url_again_and_delivers_nothing(record, listener, settings,
                                                                   django_capture_on_commit_callbacks, eager_celery):
    settings.OUTBOUND_ALLOW_HTTP = True
    budget = Budget.objects.create(name="Stored", scope="overall", amount_usd=Decimal("1.00"), thresholds="50",
                                   webhook_url=f"http://localhost:{listener.port}/hook")  # saved before the rule
    spend(record, "0.60")
    with django_capture_on_commit_callbacks(execute=True):
        budgets.check_budgets(now=NOW, send=queue_alert_delivery)
    assert listener.connections == 0
    budget.refresh_from_db()
    assert "loopback" in budget.last_alert_error


@pytest.mark.parametrize("field, value", [
    ("name", "Ops\r\nBcc: attacker@example.test"),
    ("name", "Ops\nX"),
    ("name", "Ops\u2028X"),
    ("email_recipients", "ops@example.test,\r\nBcc: attacker@example.test"),
    ("email_recipients", "ops@exa\nmple.test"),
])
def test_line_breaks_in_header_fields_are_refused_with_a_clear_error(staff_client, field, value):
    response = staff_client.post(reverse("usage:budget-add"), form_data(**{field: value}))
    assert response.status_code == 400
    html = response.content.decode()
    assert "line break" in html or "not an email address" in html
    assert not Budget.objects.exists()


def test_a_stored_name_with_a_line_break_still_alerts_with_a_clean_subject(record, eager_celery,
                                                                        django_capture_on_commit_callbacks):
    Budget.objects.create(name="Ops\r\nBcc: attacker@example.test", scope="overall", amount_usd=Decimal("1.00"),
                          thresholds="50", email_recipients="ops@example.test")
    spend(record, "0.60")
    with django_capture_on_commit_callbacks(execute=True):
        budgets.check_budgets(now=NOW, send=queue_alert_delivery)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.recipients() == ["ops@example.test"]
    assert BudgetAlert.objects.get().email_sent_at is not None


def test_a_stored_recipient_with_a_line_break_is_recorded_as_a_failure(record):
    budget = Budget.objects.create(name="Ops", scope="overall", amount_usd=Decimal("1.00"), thresholds="50",
                                   email_recipients="ops@example.test\r\nBcc: attacker@example.test")
    spend(record, "0.60")
    budgets.check_budgets(now=NOW, send=queue_alert_delivery)
    alert = BudgetAlert.objects.get()
    assert send_budget_alert_email.run(alert.id).startswith("failed: email")
    budget.refresh_from_db()
    assert "line break" in budget.last_alert_error and budget.last_alert_error_at is not None
    assert mail.outbox == []


class BrokenSMTP:
    """An e-mail backend whose SMTP server refuses the message (what a real one does on 5xx)."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise smtplib.SMTPRecipientsRefused({"ops@example.test": (550, b"mailbox unavailable")})


def test_smtp_failures_are_recorded_and_retried_with_backoff(record, settings, monkeypatch):
    settings.EMAIL_BACKEND = "tests.usage.test_budget_alert_safety.BrokenSMTP"
    budget = Budget.objects.create(name="Ops", scope="overall", amount_usd=Decimal("1.00"), thresholds="50",
                                   email_recipients="ops@example.test")
    spend(record, "0.60")
    budgets.check_budgets(now=NOW, send=queue_alert_delivery)
    alert = BudgetAlert.objects.get()
    assert "SMTPRecipientsRefused" in send_budget_alert_email.run(alert.id)
    alert.refresh_from_db()
    budget.refresh_from_db()
    assert alert.attempts == 1 and "SMTPRecipientsRefused" in budget.last_alert_error
    sent = []
    monkeypatch.setattr(send_budget_alert_email, "delay", sent.append)
    assert budgets.retry_failed_alerts(now=alert.last_attempt_at, send=queue_alert_delivery) == 0  # too soon
    assert budgets.retry_failed_alerts(now=alert.last_attempt_at + datetime.timedelta(seconds=budgets.retry_delay(1)), send=queue_alert_delivery) == 1
    assert sent == [alert.id]
    BudgetAlert.objects.filter(pk=alert.pk).update(attempts=budgets.ALERT_MAX_ATTEMPTS)
    assert budgets.retry_failed_alerts(now=alert.last_attempt_at + datetime.timedelta(days=30), send=queue_alert_delivery) == 0  # bounded


def test_retry_delays_grow_and_are_capped():
    delays = [budgets.retry_delay(n) for n in range(1, 10)]
    assert delays[:3] == [60, 120, 240] and max(delays) == budgets.ALERT_RETRY_MAX_SECONDS


@pytest.mark.parametrize("backend", ["tests.usage.test_budget_alert_safety.BrokenSMTP", None])
def test_send_test_alert_never_500s_and_shows_the_reason(staff_client, settings, backend, listener):
    settings.OUTBOUND_ALLOW_HTTP = True
    if backend:
        settings.EMAIL_BACKEND = backend
    budget = Budget.objects.create(name="Ops\r\nBcc: attacker@example.test", scope="overall", amount_usd=10,
                                   thresholds="50", email_recipients="ops@example.test",
                                   webhook_url=f"http://127.0.0.1:{listener.port}/hook")
    response = staff_client.post(reverse("usage:budget-test-alert", args=[budget.pk]), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Webhook failed" in html and "loopback" in html
    if backend:
        assert "Email failed" in html and "mailbox unavailable" in html
    else:
        assert "Test email sent" in html and "\n" not in mail.outbox[0].subject
    budget.refresh_from_db()
    assert budget.last_alert_error_at is not None
    assert listener.connections == 0


def test_header_safe_strips_every_line_break_form():
    assert notify.header_safe("a\r\nb\x85c\u2028d\te") == "a b c d e"
    assert notify.header_problem("plain name") is None
