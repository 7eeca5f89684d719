"""Budget alert transports: email, and a webhook in generic JSON or Slack-compatible form.

Webhooks go through moments_admin.outbound (the guard for every admin-typed URL):
checked and resolved again at send time, connected to the checked address, no
redirects. E-mail headers never carry a line break: the form refuses one in any
field that reaches a header, and send_email() strips any that is left.
"""
import re

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from moments_admin import outbound

WEBHOOK_TIMEOUT_SECONDS = 5
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]+")  # what any parser may take for a line break


def header_problem(value):
    """Why `value` may not reach an e-mail header (a line break or control character), or None."""
    if value and _CONTROL.search(value):
        return "Remove the line break or control character: this text goes into e-mail headers."
    return None


def header_safe(value):
    """`value` with every run of control characters (CR, LF, tab…) replaced by one space."""
    return _CONTROL.sub(" ", value or "").strip()


def _dashboard_url():
    return settings.MOMENTS_BASE_URL.rstrip("/") + reverse("usage:dashboard")


def alert_text(alert, test=False):
    budget = alert.budget
    scope = {"overall": "all traffic", "provider": f"provider {budget.provider_name}",
             "key": f"gateway key {budget.gateway_key}"}.get(budget.scope, budget.scope)
    prefix = "[TEST] " if test else ""
    subject = (f"{prefix}Budget \"{budget.name}\" reached {alert.threshold}% for {alert.month:%B %Y}")
    body = (f"{prefix}Spend on {scope} this month is ${alert.spend_usd:,.2f} of the ${alert.amount_usd:,.2f} "
            f"budget ({alert.threshold}% threshold crossed)."
            + (" The gateway key is blocked until the month ends or the budget is raised."
               if budget.hard_stop and budget.scope == "key" and alert.threshold >= 100 else "")
            + f"\nUsage & costs: {_dashboard_url()}")
    return subject, body


def webhook_payload(alert, test=False):
    subject, body = alert_text(alert, test)
    budget = alert.budget
    if budget.webhook_format == "slack":
        return {"text": f"{subject}\n{body}",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{subject}*\n{body}"}}]}
    return {
        "event": "budget.threshold_reached", "test": test,
        "budget": {"id": budget.id, "name": budget.name, "scope": budget.scope,
                   "provider_name": budget.provider_name or None, "gateway_key": budget.gateway_key or None,
                   "amount_usd": str(alert.amount_usd), "hard_stop": budget.hard_stop},
        "month": f"{alert.month:%Y-%m}", "threshold_percent": alert.threshold,
        "spend_usd": str(alert.spend_usd.quantize(alert.amount_usd)), "message": body,
        "dashboard_url": _dashboard_url(),
    }


def send_email(alert, test=False):
    """Send the alert e-mail; raises OSError (SMTP errors included) or ValueError (BadHeaderError, a bad address)."""
    subject, body = alert_text(alert, test)
    recipients = alert.budget.recipient_list
    bad = [address for address in recipients if header_problem(address)]
    if bad:  # an address is a header; one stored before the form refused line breaks is not sent to
        raise ValueError(f"{len(bad)} recipient address(es) contain a line break; fix the budget's recipients.")
    send_mail(header_safe(subject), body, header_safe(settings.DEFAULT_FROM_EMAIL), recipients, fail_silently=False)


def post_webhook(alert, test=False, attempts=1):
    """POST the payload through the outbound guard; the HTTP status, or OSError saying why not."""
    return outbound.post_json(alert.budget.webhook_url, webhook_payload(alert, test),
                              headers={"User-Agent": "moments-admin-budget-alerts"},
                              timeout=WEBHOOK_TIMEOUT_SECONDS, attempts=attempts)
