"""Budget alert transports: email, and a webhook in generic JSON or Slack-compatible form."""
import ipaddress
import json
import socket
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

WEBHOOK_TIMEOUT_SECONDS = 10
# Link-local addresses hold cloud instance metadata (and its credentials): never a webhook target.
BLOCKED_NETWORKS = (ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fe80::/10"),
                    ipaddress.ip_network("fd00:ec2::254/128"))


def blocked_webhook_reason(url):
    """Why `url` may not receive webhooks, or None. Checks every address its host resolves to."""
    host = urllib.parse.urlsplit(url).hostname
    if not host:
        return "The webhook URL has no host."
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return None  # unresolvable now: sending fails with its own clear error
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in network for network in BLOCKED_NETWORKS):
            return f"{host} resolves to {ip}, a link-local (cloud metadata) address; use another webhook host."
    return None


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
    subject, body = alert_text(alert, test)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, alert.budget.recipient_list, fail_silently=False)


def post_webhook(alert, test=False):
    """POST the payload; raises OSError (URLError, HTTPError, timeouts, a blocked host) on failure."""
    reason = blocked_webhook_reason(alert.budget.webhook_url)  # checked again at send time: DNS can change
    if reason:
        raise OSError(reason)
    data = json.dumps(webhook_payload(alert, test)).encode()
    request = urllib.request.Request(alert.budget.webhook_url, data=data, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "User-Agent": "moments-admin-budget-alerts"})
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310 (staff-set URL)
        return response.status
