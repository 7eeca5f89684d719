"""Between check rounds: a breaker that real traffic opened opens its incident and alert at once,
and its recovery (not a passing token count) closes it."""
import time

import pytest
from django.core import mail

from moments_admin.schedule import HEALTH_TICK_SECONDS, beat_schedule
from providers import breaker, snapshot
from providers.call_records import CallContext
from providers.calls import invoke
from providers.fakes import Fault
from providers.health.breaker_watch import watch
from providers.health.models import Incident, TargetState
from providers.health.rounds import run_round
from providers.health.tasks import watch_breakers
from providers.models import ProviderRouting
from tests.providers.conftest import make_anthropic, make_bedrock

pytestmark = pytest.mark.django_db
REQUEST = {"model": "haiku", "max_tokens": 20, "messages": [{"role": "user", "content": "hello"}]}


def _state(name, model=""):
    return TargetState.objects.get(provider_name=name, model=model).state


@pytest.fixture
def chain(aws_env, fresh_anthropic, bedrock_api, health_settings):
    make_anthropic(server=fresh_anthropic, position=0)
    make_bedrock(server=bedrock_api, position=1)
    # A 1 s window, so that "no failure in the window" comes within the test.
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic", "fallbacks": ["bedrock"],
                                                             "breaker_window_seconds": 1})
    snapshot.forget()
    breaker.forget_recent()
    bedrock_api.reset()
    return fresh_anthropic


def _fail_real_traffic(anthropic):
    anthropic.inject(Fault("unavailable", times=None))
    for _ in range(breaker.FAILURE_THRESHOLD):
        assert invoke(None, REQUEST, CallContext(purpose="client")).provider_name == "bedrock"
    assert breaker.is_open("anthropic")


def test_real_traffic_opens_an_incident_with_one_alert_and_its_recovery_closes_it(chain):
    assert watch() == [], "all breakers closed: nothing to do"
    _fail_real_traffic(chain)
    changes = watch()
    assert {(c.incident.target, c.event) for c in changes} == {("anthropic", "opened"), ("anthropic / haiku", "opened")}
    incident = Incident.objects.get(provider_name="anthropic", model="")
    assert (incident.opened_by, incident.cause, incident.failover_target) == ("traffic", "unavailable", "bedrock")
    assert incident.message.startswith("Circuit breaker opened by real traffic:")
    assert Incident.objects.get(model="haiku").quiet, "the provider's incident speaks for its model"
    assert _state("anthropic") == "down"
    assert [m.subject for m in mail.outbox] == ["anthropic is down (unavailable)"]
    assert "anthropic fails real traffic since" in mail.outbox[0].body

    assert watch() == [] and len(mail.outbox) == 1, "one alert per incident, not one per tick"

    chain.reset()
    run_round()
    run_round()
    assert not breaker.is_open("anthropic"), "passing checks close the breaker"
    assert _state("anthropic") == "down", "passing token counts do not close what real traffic opened"
    time.sleep(2.2)  # the breaker's window (1 s, and the one before) now holds no failure
    breaker.forget_recent()
    changes = watch()
    assert {(c.incident.target, c.event) for c in changes} == {("anthropic", "closed"), ("anthropic / haiku", "closed")}
    incident.refresh_from_db()
    assert incident.ended_at is not None and incident.closed_alert_sent_at is not None
    assert _state("anthropic") == "operational"
    assert [m.subject for m in mail.outbox] == ["anthropic is down (unavailable)", "anthropic recovered"]
    assert "anthropic serves real traffic again" in mail.outbox[1].body


def test_a_target_under_maintenance_or_already_down_opens_nothing_more(chain, health_settings):
    health_settings.maintenance = ["anthropic"]
    health_settings.save()
    _fail_real_traffic(chain)
    assert watch() == [] and Incident.objects.count() == 0 and mail.outbox == []
    health_settings.maintenance = []
    health_settings.save()
    run_round()
    run_round()  # the checks fail too: their incident is open
    assert Incident.objects.get(model="").opened_by == "checks"
    assert watch() == [] and Incident.objects.filter(model="").count() == 1


def test_beat_offers_the_watch_every_tick_and_one_run_takes_each_tick(chain):
    entry = beat_schedule()["breaker-watch"]
    assert entry["task"] == "providers.health.tasks.watch_breakers"
    assert entry["schedule"] == HEALTH_TICK_SECONDS and entry["options"]["expires"] < HEALTH_TICK_SECONDS
    _fail_real_traffic(chain)
    tick = 3600  # a fresh slot for this test
    first, second = watch_breakers(tick_seconds=tick), watch_breakers(tick_seconds=tick)
    assert first.startswith("2 incident change") and second == "skipped: this tick is claimed"
    assert Incident.objects.filter(opened_by="traffic").count() == 2


def test_a_breaker_opened_by_failed_checks_waits_for_the_checks_grace(chain, health_settings):
    health_settings.down_after_failures = 5
    health_settings.save()
    chain.inject(Fault("unavailable", times=None))
    for _ in range(breaker.FAILURE_THRESHOLD):
        run_round()
    assert breaker.is_open("anthropic") and breaker.state("anthropic")["last_error"]["source"] == "checks"
    assert watch() == [] and Incident.objects.count() == 0, "no 'real traffic' incident from checks alone"
    assert _state("anthropic") == "degraded"


def test_one_sender_at_a_time_for_pending_alerts(chain, health_settings):
    from django.utils import timezone

    from moments_admin.locks import job_lock
    from providers.health.alerts import send_pending

    _fail_real_traffic(chain)
    with job_lock("health-alerts") as held:  # another task is sending
        assert held
        watch()
        assert mail.outbox == [], "the holder sends; no second sender for the same incident"
    send_pending(health_settings, timezone.now())
    assert [m.subject for m in mail.outbox] == ["anthropic is down (unavailable)"]
    send_pending(health_settings, timezone.now())
    assert len(mail.outbox) == 1


def test_an_incident_of_a_provider_disabled_or_a_model_unmapped_is_closed_with_the_reason(chain):
    from providers.models import ProviderConfig

    _fail_real_traffic(chain)
    watch()
    assert Incident.objects.filter(ended_at__isnull=True).count() == 2  # anthropic and anthropic / haiku
    config = ProviderConfig.objects.get(name="anthropic")
    config.enabled = False
    config.save()
    changes = watch()
    assert {(c.incident.target, c.event) for c in changes} == {("anthropic", "closed"), ("anthropic / haiku", "closed")}
    incident = Incident.objects.get(provider_name="anthropic", model="")
    assert incident.ended_at is not None and incident.closed_because == "its provider is disabled or removed"
    assert not TargetState.objects.filter(provider_name="anthropic", model__in=["", "haiku"]).exists()
    assert [m.subject for m in mail.outbox] == ["anthropic is down (unavailable)",
                                                "anthropic: incident closed, no longer monitored"]
    assert "closed without a recovery: its provider is disabled or removed" in mail.outbox[1].body
    assert watch() == [], "closed once"


def test_an_incident_of_a_model_no_longer_mapped_is_closed(chain):
    from django.utils import timezone

    Incident.objects.create(provider_name="anthropic", model="summarizer", started_at=timezone.now(),
                            cause="model_not_available")  # a mapping key since removed
    changes = watch()
    assert [(c.incident.target, c.event) for c in changes] == [("anthropic / summarizer", "closed")]
    assert Incident.objects.get(model="summarizer").closed_because == "its model is no longer mapped"
    assert mail.outbox == [], "its opening was never announced: no closing alert either"
