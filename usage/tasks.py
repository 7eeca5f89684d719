"""Celery tasks: thin wrappers that take ids and return a short summary."""
import logging

from celery import shared_task
from celery.signals import worker_process_shutdown, worker_shutdown
from django.conf import settings
from django.utils import timezone

from moments_admin.locks import job_lock
from usage import budgets, notify, recommendations, recompute, retention, rollups, services
from usage.ingest import flush_usage_buffer
from usage.models import BudgetAlert
from usage.queue import usage_queue

log = logging.getLogger(__name__)
DRAIN_TASK_SECONDS = 5.0
BUDGET_LOCK = "usage-budget-check"


@shared_task(ignore_result=True)
def update_usage_rollups():
    return rollups.update_rollups()


@shared_task(ignore_result=True)
def drain_usage_queue():
    """Write the usage rows waiting in the Redis stream (USAGE_QUEUE_URL)."""
    queue = usage_queue(settings)
    if queue is None:
        return {"skipped": "no usage queue configured"}
    # A few seconds at most, then the next beat's run continues: other periodic tasks get the slot in between.
    return services.drain_queue(queue, max_seconds=DRAIN_TASK_SECONDS)


@shared_task(ignore_result=True)
def check_usage_budgets():
    # One check at a time across workers and beat restarts: two would both retry the same failed alert.
    with job_lock(BUDGET_LOCK) as held:
        if not held:
            return {"skipped": "another budget check is running"}
        return budgets.check_budgets(send=queue_alert_delivery)


@shared_task(ignore_result=True)
def refresh_usage_recommendations():
    return recommendations.refresh_recommendations()


@shared_task(ignore_result=True)
def prune_usage_data():
    """Delete usage rows older than their retention (usage/retention.py), in small batches."""
    return retention.prune()


@shared_task(ignore_result=True)
def recompute_usage_costs(job_id):
    return recompute.run_job(job_id)


# Alerts are not retried by Celery: a failure is recorded on the budget and check_usage_budgets sends it
# again with backoff (budgets.retry_failed_alerts), so a retry survives a worker restart.
@shared_task(ignore_result=True)
def send_budget_alert_email(alert_id):
    alert = BudgetAlert.objects.select_related("budget").filter(id=alert_id).first()
    if alert is None or alert.email_sent_at:
        return "nothing to send"
    try:
        notify.send_email(alert)
    except Exception as error:  # SMTP errors, OSError, BadHeaderError: recorded, never lost silently
        reason = budgets.alert_failure_reason("email", error)
        budgets.record_alert_failure(alert.budget_id, alert.id, reason)
        return f"failed: {reason}"
    BudgetAlert.objects.filter(id=alert_id).update(email_sent_at=timezone.now())
    return f"emailed {len(alert.budget.recipient_list)} recipient(s)"


@shared_task(ignore_result=True)
def send_budget_alert_webhook(alert_id):
    alert = BudgetAlert.objects.select_related("budget").filter(id=alert_id).first()
    if alert is None or alert.webhook_sent_at or not alert.budget.webhook_url:
        return "nothing to send"
    try:
        status = notify.post_webhook(alert, attempts=2)  # the guard runs again: DNS may have changed
    except Exception as error:  # refused address, redirect, HTTP error, timeout
        reason = budgets.alert_failure_reason("webhook", error)
        budgets.record_alert_failure(alert.budget_id, alert.id, reason)
        return f"failed: {reason}"
    BudgetAlert.objects.filter(id=alert_id).update(webhook_sent_at=timezone.now())
    return f"webhook answered {status}"


@worker_process_shutdown.connect
@worker_shutdown.connect
def _flush_usage_buffer(**kwargs):
    """A worker (pool process or solo) exits: write the usage it buffered (USAGE_WRITE_BUFFER)."""
    services.hit_rows.wait(30)  # response-cache hits' rows on their way to the queue (or, failing that, the buffer)
    flush_usage_buffer()


def queue_alert_delivery(alert):
    """Queue each channel of `alert` that is configured and not delivered yet."""
    if alert.budget.recipient_list and not alert.email_sent_at:
        send_budget_alert_email.delay(alert.id)
    if alert.budget.webhook_url and not alert.webhook_sent_at:
        send_budget_alert_webhook.delay(alert.id)
