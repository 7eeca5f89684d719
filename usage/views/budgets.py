"""Budgets: this month's status for everyone; create, edit, delete and test alerts for staff."""
import logging

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from moments_admin.permissions import staff_required
from usage import budgets, notify
from usage.forms import BudgetForm
from usage.models import Budget, BudgetAlert
from usage.queries import TAIL_MAX_PAGE
from usage.tasks import queue_alert_delivery

log = logging.getLogger(__name__)

FIELDS = ("name", "scope", "provider_name", "gateway_key", "amount_usd", "thresholds", "email_recipients",
          "webhook_url", "webhook_format", "hard_stop", "active")


def _check_now(budget):
    """Apply thresholds and the hard stop at once; the periodic check retries if this fails."""
    try:
        budgets.check_budget(budget, send=queue_alert_delivery)
    except Exception:
        log.exception("Checking budget %s after saving it failed", budget.pk)


def _initial(budget):
    return {name: getattr(budget, name) for name in FIELDS}


@require_GET
def budget_list(request):
    return _list_page(request)


def _list_page(request, form=None, status=200):
    today = budgets.today_utc()
    month = today.replace(day=1)
    rows = []
    for budget in Budget.objects.order_by("name"):
        state = budgets.budget_status(budget, today, tail_max=TAIL_MAX_PAGE)
        state["alerts"] = list(BudgetAlert.objects.filter(budget=budget, month=month).order_by("threshold"))
        rows.append(state)
    return render(request, "usage/budgets.html",
                  {"rows": rows, "form": form or BudgetForm(), "month": month}, status=status)


@require_POST
@staff_required
def budget_create(request):
    form = BudgetForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form=form, status=400)
    budget = Budget.objects.create(**{name: form.cleaned_data[name] for name in FIELDS})
    _check_now(budget)
    messages.success(request, f"Budget \"{budget.name}\" saved; alerts are checked every minute.")
    return redirect("usage:budgets")


@require_http_methods(["GET", "POST"])
@staff_required
def budget_edit(request, pk):
    budget = get_object_or_404(Budget, pk=pk)
    form = BudgetForm(request.POST or None, initial=_initial(budget))
    if request.method == "POST" and form.is_valid():
        for name in FIELDS:
            setattr(budget, name, form.cleaned_data[name])
        budget.save()
        _check_now(budget)
        messages.success(request, f"Budget \"{budget.name}\" updated.")
        return redirect("usage:budgets")
    return render(request, "usage/budget_edit.html", {"budget": budget, "form": form},
                  status=400 if request.method == "POST" else 200)


@require_POST
@staff_required
def budget_delete(request, pk):
    budget = get_object_or_404(Budget, pk=pk)
    budget.delete()
    messages.success(request, f"Budget \"{budget.name}\" deleted.")
    return redirect("usage:budgets")


@require_POST
@staff_required
def budget_test_alert(request, pk):
    """Send a test alert through each configured channel now, without retries, and say how it went."""
    budget = get_object_or_404(Budget, pk=pk)
    status = budgets.budget_status(budget)
    alert = BudgetAlert(budget=budget, month=budgets.today_utc().replace(day=1),
                        threshold=budget.threshold_list[0], spend_usd=status["spent"], amount_usd=budget.amount_usd,
                        created_at=timezone.now())
    if not budget.recipient_list and not budget.webhook_url:
        messages.error(request, "This budget has no email recipients and no webhook: add one to test.")
    if budget.recipient_list:
        try:
            notify.send_email(alert, test=True)
            messages.success(request, f"Test email sent to {', '.join(budget.recipient_list)}.")
        except Exception as error:  # SMTP, OSError, BadHeaderError: a message, never a 500
            budgets.record_alert_failure(budget.pk, None, budgets.alert_failure_reason("test email", error))
            messages.error(request, f"Email failed: {error}. Check the recipients and the EMAIL_* settings.")
    if budget.webhook_url:
        try:
            code = notify.post_webhook(alert, test=True)
            messages.success(request, f"Webhook answered HTTP {code}.")
        except Exception as error:
            budgets.record_alert_failure(budget.pk, None, budgets.alert_failure_reason("test webhook", error))
            messages.error(request, f"Webhook failed: {error} Check the URL and that it accepts a JSON POST.")
    return redirect("usage:budgets")
