"""Monthly budgets: spend so far, month-end projection, threshold alerts and the hard stop.

check_budgets() runs from Celery beat. Each threshold crossing creates one
BudgetAlert row; its unique (budget, month, threshold) constraint is what makes
an alert fire once per threshold per month, even with several workers. The
email and the webhook are sent by their own tasks, which take the alert id.
Demo rows never count towards a budget.
"""
import calendar
import datetime
import logging
from decimal import ROUND_CEILING, Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from usage.models import Budget, BudgetAlert
from usage.queries import TAIL_MAX_BACKGROUND, Filters, read_consistently

log = logging.getLogger(__name__)
SCOPES = (("overall", "Overall"), ("provider", "One provider"), ("key", "One gateway key"))


def today_utc(now=None):
    return (now or timezone.now()).astimezone(datetime.UTC).date()


def month_filters(budget, today, **overrides):
    first = today.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    filters = Filters(start=first, end=last)
    if budget is not None and budget.scope == "provider":
        filters.provider = budget.provider_name
    if budget is not None and budget.scope == "key":
        filters.key = budget.gateway_key
    for name, value in overrides.items():
        setattr(filters, name, value)
    return filters


def daily_spend(reader, budget, today):
    """{date: cost} for the month of `today` in the budget's scope, demo rows excluded."""
    filters = month_filters(budget, today)
    rows = reader.sums(filters, ["bucket"], granularity="day", extra={"is_demo": False})
    return {row["bucket"].astimezone(datetime.UTC).date(): row["cost_total"] for row in rows}


def projection(days, today):
    """Spend so far, and at month end if the average of the last full days (up to 7) holds."""
    spent = sum(days.values(), Decimal(0))
    month_days = calendar.monthrange(today.year, today.month)[1]
    full_days = [today - datetime.timedelta(days=offset) for offset in range(1, min(7, today.day - 1) + 1)]
    if full_days:
        per_day = sum((days.get(day, Decimal(0)) for day in full_days), Decimal(0)) / len(full_days)
    else:  # the first of the month: today's spend so far is the only rate there is
        per_day = days.get(today, Decimal(0))
    remaining = month_days - today.day + Decimal("0.5")  # the rest of today counted as half a day
    # Up to the cent: a projection shown below what is already spent ($0.07 against $0.072994) reads wrong.
    return spent, (spent + per_day * remaining).quantize(Decimal("0.01"), rounding=ROUND_CEILING)


def budget_status(budget, today=None, tail_max=TAIL_MAX_BACKGROUND):
    today = today or today_utc()
    days = read_consistently(lambda reader: daily_spend(reader, budget, today), tail_max=tail_max)
    spent, projected = projection(days, today)
    percent = (spent / budget.amount_usd * 100) if budget.amount_usd else Decimal(0)
    return {"budget": budget, "spent": spent, "projected": projected, "percent": percent, "days": days,
            "crossed": [threshold for threshold in budget.threshold_list if percent >= threshold]}


def check_budget(budget, now=None, *, send):
    """Create the alerts this budget now deserves and set its hard stop; returns new alert ids.
    `send(alert)` queues an alert's delivery (usage.tasks.queue_alert_delivery), after commit."""
    today = today_utc(now)
    month = today.replace(day=1)
    status = budget_status(budget, today)
    created = []
    for threshold in status["crossed"]:
        if BudgetAlert.objects.filter(budget=budget, month=month, threshold=threshold).exists():
            continue
        try:
            with transaction.atomic():
                alert = BudgetAlert.objects.create(budget=budget, month=month, threshold=threshold,
                                                   spend_usd=status["spent"], amount_usd=budget.amount_usd)
        except IntegrityError:  # another worker created it first
            continue
        created.append(alert.id)
        transaction.on_commit(lambda alert=alert: send(alert))
    blocked = budget.hard_stop and budget.scope == "key" and status["percent"] >= 100
    blocked_month = month if blocked else None
    if budget.blocked_month != blocked_month:
        budget.blocked_month = blocked_month
        budget.save(update_fields=["blocked_month"])
        log.warning("Gateway key %s %s by budget %s", budget.gateway_key,
                    "blocked" if blocked else "unblocked", budget.id)
    return created


def check_budgets(now=None, *, send):
    alerts, failures = 0, 0
    for budget in Budget.objects.filter(active=True):
        try:
            alerts += len(check_budget(budget, now, send=send))
        except Exception:  # one broken budget must not stop the others
            failures += 1
            log.exception("Checking budget %s failed", budget.id)
    return {"alerts": alerts, "failures": failures, "retried": retry_failed_alerts(now, send=send)}


# --- failed alerts: recorded on the budget, retried by later checks with backoff -----------------------

ALERT_MAX_ATTEMPTS = 8  # failed sends (either channel) after which an alert is given up
ALERT_RETRY_BASE_SECONDS = 60
ALERT_RETRY_MAX_SECONDS = 3600


def retry_delay(attempts):
    """Seconds to wait after the `attempts`-th failure: 1, 2, 4… minutes, at most an hour."""
    return min(ALERT_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), ALERT_RETRY_MAX_SECONDS)


def alert_failure_reason(channel, error):
    return f"{channel}: {type(error).__name__}: {error}"[:1000]


def record_alert_failure(budget_id, alert_id, reason, now=None):
    """Keep why an alert failed on its budget (shown on the budgets page) and on the alert (counts attempts)."""
    now = now or timezone.now()
    Budget.objects.filter(pk=budget_id).update(last_alert_error=reason, last_alert_error_at=now)
    if alert_id is not None:
        BudgetAlert.objects.filter(pk=alert_id).update(last_error=reason, attempts=F("attempts") + 1,
                                                       last_attempt_at=now)
    log.warning("Budget %s alert %s failed: %s", budget_id, alert_id, reason)


def retry_failed_alerts(now=None, *, send):
    """Send again, through `send` (the same tasks), the channels of failed alerts whose backoff has passed."""
    now = now or timezone.now()
    due = []
    pending = (BudgetAlert.objects.select_related("budget")
               .filter(attempts__gt=0, attempts__lt=ALERT_MAX_ATTEMPTS, budget__active=True)
               .filter(Q(email_sent_at=None) | Q(webhook_sent_at=None)))
    for alert in pending:
        waited = (now - alert.last_attempt_at).total_seconds() if alert.last_attempt_at else None
        if waited is None or waited >= retry_delay(alert.attempts):
            due.append(alert)
    for alert in due:
        send(alert)
    return len(due)
