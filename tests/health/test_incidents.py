"""States with a grace period, incidents, one alert per incident, and the breaker fed by checks."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from providers import breaker, snapshot
from providers.call_records import CallContext
from providers.calls import invoke
from providers.clients.catalog import load_catalog
from providers.fakes import Fault
from providers.health.alerts import incident_text
from providers.health.models import CheckResult, Incident, TargetState
from providers.health.rounds import run_round
from providers.models import ProviderRouting
from tests.fake_providers import model_calls
from tests.providers.conftest import make_anthropic, make_bedrock

LOGICAL = load_catalog().logical_names()  # every logical model is checked

pytestmark = pytest.mark.django_db
REQUEST = {"model": "haiku", "max_tokens": 20, "messages": [{"role": "user", "content": "hello"}]}


def _state(name, model=""):
    return TargetState.objects.get(provider_name=name, model=model).state


def test_one_failed_check_degrades_and_opens_nothing(aws_env, fresh_anthropic, health_settings):
    make_anthropic(server=fresh_anthropic)
    fresh_anthropic.inject(Fault("unavailable", times=None))
    run_round()
    assert _state("anthropic") == "degraded"
    assert Incident.objects.count() == 0
    assert mail.outbox == []


def test_an_outage_opens_one_incident_with_one_alert_and_recovery_closes_it_with_one_more(
        aws_env, fresh_anthropic, health_settings):
    make_anthropic(server=fresh_anthropic)
    fresh_anthropic.inject(Fault("unavailable", times=None))
    for _ in range(4):
        run_round()
    assert _state("anthropic") == "down"
    provider_incident = Incident.objects.get(model="")
    assert (provider_incident.cause, provider_incident.ended_at) == ("unavailable", None)
    assert Incident.objects.filter(ended_at__isnull=True).count() == 1 + len(LOGICAL)  # the provider and its models
    assert len(mail.outbox) == 1, "one alert per incident, and none for the models of a provider that is down"
    assert "anthropic is down (unavailable)" in mail.outbox[0].subject

    fresh_anthropic.reset()
    run_round()
    assert _state("anthropic") == "down", "one good check does not close an incident (no flapping)"
    run_round()
    assert _state("anthropic") == "operational"
    provider_incident.refresh_from_db()
    assert provider_incident.ended_at is not None and provider_incident.closed_alert_sent_at is not None
    assert Incident.objects.filter(ended_at__isnull=True).count() == 0
    assert [m.subject for m in mail.outbox] == ["anthropic is down (unavailable)", "anthropic recovered"]


def test_one_model_down_opens_its_own_incident_and_leaves_the_provider_up(aws_env, fresh_anthropic,
                                                                         health_settings):
    make_anthropic(server=fresh_anthropic, model_mapping={"opus": "claude-opus-does-not-exist"})
    run_round()
    run_round()
    assert _state("anthropic") == "operational"
    assert _state("anthropic", "opus") == "down"
    incident = Incident.objects.get()
    assert (incident.model, incident.cause) == ("opus", "model_not_available")
    assert len(mail.outbox) == 1 and "anthropic / opus is down" in mail.outbox[0].subject
    assert not breaker.is_open("anthropic"), "a missing model must not take a working provider out"


def test_maintenance_keeps_checking_without_incidents_alerts_or_breaker(aws_env, fresh_anthropic, health_settings):
    make_anthropic(server=fresh_anthropic)
    health_settings.maintenance = ["anthropic"]
    health_settings.save()
    fresh_anthropic.inject(Fault("unavailable", times=None))
    for _ in range(4):
        run_round()
    assert _state("anthropic") == "maintenance"
    assert Incident.objects.count() == 0 and mail.outbox == []
    assert breaker.state("anthropic")["failures"] == 0
    assert CheckResult.objects.filter(ok=False).exists()


def test_failing_checks_open_the_breaker_and_traffic_moves_to_the_fallback_without_a_failed_call(
        aws_env, fresh_anthropic, bedrock_api, health_settings):
    make_anthropic(server=fresh_anthropic, position=0)
    make_bedrock(server=bedrock_api, position=1)
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic", "fallbacks": ["bedrock"]})
    snapshot.forget()
    fresh_anthropic.inject(Fault("unavailable", times=None))
    for _ in range(breaker.FAILURE_THRESHOLD - 1):
        run_round()
    assert not breaker.is_open("anthropic")
    run_round()
    assert breaker.is_open("anthropic")
    bedrock_api.reset()
    breaker.forget_recent()
    result = invoke(None, REQUEST, CallContext(purpose="client"))
    assert result.provider_name == "bedrock"
    assert model_calls(fresh_anthropic) == [], "an open breaker is skipped: no failed call first"
    invoke(None, REQUEST, CallContext(purpose="client"))

    fresh_anthropic.reset()
    run_round()
    assert not breaker.is_open("anthropic"), "a passing check closes the breaker"
    run_round()
    incident = Incident.objects.get(provider_name="anthropic", model="")
    assert incident.ended_at is not None
    assert (incident.failover_target, incident.failovers) == ("bedrock", 2)
    breaker.forget_recent()
    assert invoke(None, REQUEST, CallContext(purpose="client")).provider_name == "anthropic"


class _Collector(BaseHTTPRequestHandler):
    received = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Collector.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_receiver(settings):
    settings.OUTBOUND_ALLOW_HTTP = True  # the receiver is a plain-http listener on loopback
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Collector.received
    server.shutdown()


def test_webhook_gets_one_opened_and_one_closed_event_without_secrets(aws_env, fresh_anthropic, health_settings,
                                                                     webhook_receiver):
    from tests.providers.conftest import assert_no_secrets

    url, received = webhook_receiver
    health_settings.webhook_url = url
    health_settings.save()
    make_anthropic(server=fresh_anthropic)
    fresh_anthropic.inject(Fault("unavailable", times=None))
    for _ in range(3):
        run_round()
    fresh_anthropic.reset()
    for _ in range(3):
        run_round()
    assert [(e["event"], e["provider_name"], e["model"]) for e in received] == [
        ("incident.opened", "anthropic", None), ("incident.closed", "anthropic", None)]
    assert_no_secrets(json.dumps(received), "webhook payload")


def test_alert_subject_cannot_carry_new_header_lines(db):
    incident = Incident(provider_name="p", model="opus\r\nBcc: victim@example.test", started_at=__import__(
        "django.utils.timezone").utils.timezone.now(), cause="unavailable")
    subject, _ = incident_text(incident, "opened")
    assert "\r" not in subject and "\n" not in subject


def test_an_alert_no_channel_took_is_sent_by_a_later_round_once(aws_env, fresh_anthropic, health_settings, settings):
    import socket

    with socket.socket() as probe:  # a port with nothing listening: the SMTP connection is refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 2
    make_anthropic(server=fresh_anthropic)
    fresh_anthropic.inject(Fault("unavailable", times=None))
    run_round()
    run_round()
    incident = Incident.objects.get(model="")
    assert incident.opened_alert_sent_at is None, "SMTP refused: not marked as sent"

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run_round()
    run_round()
    assert [m.subject for m in mail.outbox] == ["anthropic is down (unavailable)"]
    incident.refresh_from_db()
    assert incident.opened_alert_sent_at is not None


def test_an_incident_counts_the_share_of_real_traffic_it_affected(aws_env, fresh_anthropic, bedrock_api,
                                                                  health_settings, staff_client):
    from django.urls import reverse

    make_anthropic(server=fresh_anthropic, position=0)
    make_bedrock(server=bedrock_api, position=1)
    ProviderRouting.objects.update_or_create(pk=1, defaults={
        "primary": "anthropic", "fallbacks": ["bedrock"], "breaker_failures": 100, "breaker_error_rate": 0})
    snapshot.forget()
    bedrock_api.reset()
    invoke(None, REQUEST, CallContext(purpose="client"))  # before the incident: not counted
    fresh_anthropic.inject(Fault("unavailable", times=None))
    run_round()
    run_round()
    incident = Incident.objects.get(provider_name="anthropic", model="")
    for _ in range(2):  # each fails at anthropic, then bedrock serves it
        assert invoke(None, REQUEST, CallContext(purpose="client")).provider_name == "bedrock"
    html = staff_client.get(reverse("providers:status")).content.decode()
    assert "50.0 % of traffic affected (2 of 4 calls)" in html, "an open incident is counted up to now"
    assert "calls served meanwhile: bedrock (2 calls)" in html  # where the traffic went, measured

    fresh_anthropic.reset()
    run_round()
    run_round()
    incident.refresh_from_db()
    assert incident.ended_at is not None
    assert (incident.affected_calls, incident.total_calls, incident.traffic_share) == (2, 4, 50.0)
    assert "50.0 % of traffic was affected (2 of 4 calls failed there)" in mail.outbox[-1].body
    assert incident.served_by == {"bedrock": 2} and "Calls served meanwhile: bedrock (2 calls)." in mail.outbox[-1].body
    html = staff_client.get(reverse("providers:status")).content.decode()
    assert "50.0 % of traffic affected (2 of 4 calls)" in html
