"""Incident alerts by e-mail and webhook: one when an incident opens, one when it closes.

The webhook goes through the outbound URL guard (moments_admin.outbound), like budget alerts:
checked and resolved at send time, connected to the checked address, never following a redirect.
"""
import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone

from moments_admin import outbound
from moments_admin.locks import job_lock
from providers.health.models import Incident

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 10
RETRY_ALERTS_FOR = dt.timedelta(hours=24)  # an alert no channel took is tried again each round, this long


def _header_safe(text):
    """Mail headers: no CR/LF (header injection), and short."""
    return " ".join(str(text).split())[:200]


def _status_url():
    return settings.MOMENTS_BASE_URL.rstrip("/") + reverse("providers:status")


def incident_text(incident, event, *, test=False):
    prefix = "[TEST] " if test else ""
    how = "fails real traffic" if incident.from_traffic else "failed its health checks"
    if event == "opened":
        subject = f"{prefix}{incident.target} is down ({incident.cause})"
        body = (f"{prefix}{incident.target} {how} since {incident.started_at:%Y-%m-%d %H:%M:%S} "
                f"UTC: {incident.message or incident.cause}."
                + (f"\nTraffic fails over to {incident.failover_target}." if incident.failover_target else ""))
    elif incident.closed_because:
        subject = f"{prefix}{incident.target}: incident closed, no longer monitored"
        body = (f"{prefix}The incident of {incident.target} ({incident.cause}) is closed without a recovery: "
                f"{incident.closed_because}, so nothing checks it any more.")
    else:
        subject = f"{prefix}{incident.target} recovered"
        minutes = incident.duration().total_seconds() / 60
        again = "serves real traffic again" if incident.from_traffic else "passes its health checks again"
        body = f"{prefix}{incident.target} {again} after {minutes:.1f} minutes ({incident.cause})."
        if incident.traffic_share is not None:
            body += (f"\n{incident.traffic_share:.1f} % of traffic was affected ({incident.affected_calls} of "
                     f"{incident.total_calls} call{pluralize(incident.total_calls)} failed there).")
        if incident.served_by:
            body += f"\nCalls served meanwhile: {incident.served_by_text}."
    return _header_safe(subject), f"{body}\nStatus: {_status_url()}"


def webhook_payload(incident, event, *, test=False):
    subject, body = incident_text(incident, event, test=test)
    return {
        "event": f"incident.{event}", "test": test, "provider_name": incident.provider_name,
        "model": incident.model or None, "cause": incident.cause, "opened_by": incident.opened_by,
        "closed_because": incident.closed_because or None,
        "message": body, "summary": subject,
        "started_at": incident.started_at.isoformat(),
        "ended_at": incident.ended_at.isoformat() if incident.ended_at else None,
        "failover_target": incident.failover_target or None, "served_by": incident.served_by or {},
        "status_url": _status_url(),
    }


def post_json(url, payload):
    """POST `payload` through the outbound URL guard; raises OSError (a refused host, an HTTP error, a
    timeout, a redirect) on failure."""
    return outbound.post_json(url, payload, headers={"User-Agent": "moments-admin-health-alerts"},
                              timeout=WEBHOOK_TIMEOUT_SECONDS)


def send_incident_alert(incident, event, health_settings, *, test=False):
    """Send on every configured channel; returns {channel: "sent" | error text}. Never raises."""
    results = {}
    recipients = health_settings.recipient_list
    if recipients:
        subject, body = incident_text(incident, event, test=test)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
            results["email"] = "sent"
        except Exception as exc:  # SMTP down must not end the round
            log.warning("Health alert e-mail failed: %s", type(exc).__name__)
            results["email"] = f"failed ({type(exc).__name__})"
    if health_settings.webhook_url:
        try:
            post_json(health_settings.webhook_url, webhook_payload(incident, event, test=test))
            results["webhook"] = "sent"
        except OSError as exc:
            log.warning("Health alert webhook failed: %s", exc)
            results["webhook"] = f"failed ({str(exc)[:200]})"
    if not test and "sent" in results.values():  # otherwise the next round tries again
        field = "opened_alert_sent_at" if event == "opened" else "closed_alert_sent_at"
        setattr(incident, field, timezone.now())
        incident.save(update_fields=[field])
    return results


def pending_alerts(now, within=RETRY_ALERTS_FOR):
    """(incident, event) whose alert no channel has taken yet, from the last `within`."""
    recent = Incident.objects.filter(quiet=False, started_at__gte=now - within)
    pending = [(i, "opened") for i in recent.filter(ended_at__isnull=True, opened_alert_sent_at__isnull=True)]
    pending += [(i, "closed") for i in recent.filter(ended_at__isnull=False, closed_alert_sent_at__isnull=True)]
    return pending


def send_pending(health_settings, now):
    """Every alert not yet taken by a channel: new openings and closings, and earlier ones whose
    channels failed. A closing is announced only after its opening was. One sender at a time (the
    check round and the breaker watch both call this): a busy lock means the holder sends them."""
    if not health_settings.recipient_list and not health_settings.webhook_url:
        return
    with job_lock("health-alerts") as held:
        if not held:
            return
        for incident, event in pending_alerts(now):
            if event == "closed" and incident.opened_alert_sent_at is None:
                continue
            send_incident_alert(incident, event, health_settings)
