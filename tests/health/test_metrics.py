"""/metrics: prometheus_client's exposition, parsed by prometheus_client's own parser."""
import os

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from providers import snapshot
from providers.call_records import CallContext
from providers.calls import invoke
from providers.fakes import Fault
from providers.health.rounds import run_round
from providers.models import ProviderRouting
from providers.shared_cache import SharedCache, shared_cache
from tests.providers.conftest import make_anthropic, make_bedrock

pytestmark = pytest.mark.django_db
REQUEST = {"model": "haiku", "max_tokens": 20, "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture(autouse=True)
def metrics_on(settings):
    settings.METRICS_TOKEN = "metrics-token-for-tests-0001"  # /metrics is off without it


def _samples(text):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_calls_failures_checks_and_show_states(aws_env, fresh_anthropic, staff_client,
                                                             health_settings):
    make_anthropic(server=fresh_anthropic)
    before = _samples(staff_client.get(reverse("metrics")).content.decode())
    result = invoke(None, REQUEST, CallContext(purpose="client"))
    fresh_anthropic.inject(Fault("unavailable", times=None))
    run_round()
    response = staff_client.get(reverse("metrics"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    after = _samples(response.content.decode())
    ok_call = dict(provider="anthropic", model=result.model_id, status="ok", purpose="client")
    assert _value(after, "moments_calls_total", **ok_call) - _value(before, "moments_calls_total", **ok_call) == 1
    check = dict(provider="anthropic", model="haiku", check="count_tokens", result="fail")
    assert _value(after, "moments_health_checks_total", **check) - _value(before, "moments_health_checks_total",
                                                                          **check) == 1
    latency = dict(provider="anthropic", model=result.model_id)
    assert _value(after, "moments_call_latency_seconds_count", **latency) >= 1
    assert _value(after, "moments_health_state", provider="anthropic", model="", state="degraded") == 1
    assert _value(after, "moments_health_check_up", provider="anthropic", model="haiku") == 0
    assert _value(after, "moments_breaker_open", provider="anthropic") == 0


def test_failed_calls_and_failovers_are_counted(aws_env, fresh_anthropic, bedrock_api, staff_client, db):
    make_anthropic(server=fresh_anthropic, position=0)
    make_bedrock(server=bedrock_api, position=1)
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic", "fallbacks": ["bedrock"]})
    snapshot.forget()
    before = _samples(staff_client.get(reverse("metrics")).content.decode())
    fresh_anthropic.inject(Fault("overloaded", times=None))
    result = invoke(None, REQUEST, CallContext(purpose="client"))
    assert (result.provider_name, result.failed_over) == ("bedrock", True)
    after = _samples(staff_client.get(reverse("metrics")).content.decode())
    kind = dict(provider="anthropic", kind="overloaded")
    assert _value(after, "moments_call_failures_total", **kind) - _value(
        before, "moments_call_failures_total", **kind) == 1
    assert _value(after, "moments_failovers_total", provider="bedrock") - _value(
        before, "moments_failovers_total", provider="bedrock") == 1


def test_shared_cache_failures_are_counted(staff_client, db):
    class Broken:
        def get(self, *args):
            raise ConnectionError("cache down")

    before = _samples(staff_client.get(reverse("metrics")).content.decode())
    broken = SharedCache(Broken())
    broken.failure_listeners = shared_cache.failure_listeners
    broken.get("anything")
    after = _samples(staff_client.get(reverse("metrics")).content.decode())
    assert _value(after, "moments_shared_cache_failures_total", operation="get") - _value(
        before, "moments_shared_cache_failures_total", operation="get") == 1


def test_metrics_are_off_without_a_token_and_need_it_or_staff_when_on(member_client, settings, db):
    from django.test import Client

    client = Client()  # anonymous
    url = reverse("metrics")
    settings.METRICS_TOKEN = None
    for who in (client, member_client):
        response = who.get(url, HTTP_AUTHORIZATION="Bearer anything")
        assert response.status_code == 404 and b"set METRICS_TOKEN" in response.content
    settings.METRICS_TOKEN = "metrics-token-for-tests-0001"
    assert client.get(url).status_code == 401
    assert client.get(url, HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 401
    assert member_client.get(url).status_code == 403  # staff sessions: the tests above
    response = client.get(url, HTTP_AUTHORIZATION="Bearer metrics-token-for-tests-0001")
    assert response.status_code == 200
    list(text_string_to_metric_families(response.content.decode()))  # parses


def test_metrics_are_off_for_staff_too_without_a_token(staff_client, settings):
    settings.METRICS_TOKEN = ""
    assert staff_client.get(reverse("metrics")).status_code == 404


def test_multiprocess_mode_merges_counters_of_every_process(tmp_path, monkeypatch, staff_client):
    import subprocess
    import sys

    from tests.celery_worker import ROOT

    code = ("import django, os; django.setup(); from providers.health.metrics import CALLS; "
            "CALLS.labels('multi', 'm', 'ok', 'client').inc()")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "tests.settings"}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = _samples(staff_client.get(reverse("metrics")).content.decode())
    assert _value(samples, "moments_calls_total", provider="multi", model="m", status="ok", purpose="client") == 2


def _usage(samples, name, **labels):
    return _value(samples, name, **labels)


def test_usage_rows_written_directly_are_counted(aws_env, fresh_anthropic, staff_client):
    make_anthropic(server=fresh_anthropic)
    before = _samples(staff_client.get(reverse("metrics")).content.decode())
    invoke(None, REQUEST, CallContext(purpose="client"))
    after = _samples(staff_client.get(reverse("metrics")).content.decode())
    assert _usage(after, "moments_usage_rows_written_total", path="direct") - _usage(
        before, "moments_usage_rows_written_total", path="direct") == 1
    assert ("moments_usage_queue_depth", ()) not in after, "no queue in use: no depth sample"


def test_usage_rows_in_the_memory_buffer_are_counted_buffered_then_written(aws_env, fresh_anthropic, staff_client,
                                                                          settings, monkeypatch):
    from usage import ingest, services

    settings.USAGE_WRITE_BUFFER, settings.USAGE_QUEUE_URL = True, None
    monkeypatch.setattr(ingest, "_buffer", ingest.UsageBuffer(services._COLUMNS, services._TABLE, autostart=False))
    make_anthropic(server=fresh_anthropic)
    before = _samples(staff_client.get(reverse("metrics")).content.decode())
    for _ in range(3):
        invoke(None, REQUEST, CallContext(purpose="client"))
    buffered = _samples(staff_client.get(reverse("metrics")).content.decode())
    assert _usage(buffered, "moments_usage_rows_buffered_total", buffer="memory") - _usage(
        before, "moments_usage_rows_buffered_total", buffer="memory") == 3
    assert _usage(buffered, "moments_usage_buffer_rows") - _usage(before, "moments_usage_buffer_rows") == 3
    assert ingest.flush_usage_buffer() == 3
    written = _samples(staff_client.get(reverse("metrics")).content.decode())
    assert _usage(written, "moments_usage_rows_written_total", path="memory") - _usage(
        before, "moments_usage_rows_written_total", path="memory") == 3
    assert _usage(written, "moments_usage_buffer_rows") == _usage(before, "moments_usage_buffer_rows")


def test_usage_rows_in_the_redis_queue_show_its_depth_and_are_counted_when_drained(aws_env, fresh_anthropic,
                                                                                  staff_client, settings):
    import uuid

    import redis

    from usage import services
    from usage.queue import usage_queue

    url = os.environ.get("USAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/8")
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    settings.USAGE_WRITE_BUFFER, settings.USAGE_QUEUE_URL = True, url
    settings.USAGE_QUEUE_STREAM = f"moments:usage:test-{uuid.uuid4().hex}"
    make_anthropic(server=fresh_anthropic)
    try:
        before = _samples(staff_client.get(reverse("metrics")).content.decode())
        for _ in range(2):
            invoke(None, REQUEST, CallContext(purpose="client"))
        queued = _samples(staff_client.get(reverse("metrics")).content.decode())
        assert _usage(queued, "moments_usage_queue_depth") == 2
        assert _usage(queued, "moments_usage_rows_buffered_total", buffer="queue") - _usage(
            before, "moments_usage_rows_buffered_total", buffer="queue") == 2
        assert services.drain_queue(usage_queue(settings))["written"] == 2
        drained = _samples(staff_client.get(reverse("metrics")).content.decode())
        assert _usage(drained, "moments_usage_queue_depth") == 0
        assert _usage(drained, "moments_usage_rows_written_total", path="queue") - _usage(
            before, "moments_usage_rows_written_total", path="queue") == 2
    finally:
        client.delete(settings.USAGE_QUEUE_STREAM)


def test_breaker_phases_of_providers_and_models_are_exported(aws_env, fresh_anthropic, staff_client,
                                                             health_settings):
    from providers import breaker
    from providers.clients.errors import ErrorKind, ProviderError

    make_anthropic(server=fresh_anthropic)
    run_round()  # states for the provider and each model
    for _ in range(breaker.FAILURE_THRESHOLD):
        breaker.record_failure("anthropic/haiku", ProviderError(ErrorKind.MODEL_NOT_AVAILABLE, "gone"))
    samples = _samples(staff_client.get(reverse("metrics")).content.decode())
    assert _value(samples, "moments_breaker_state", provider="anthropic", model="haiku", state="open") == 1
    assert _value(samples, "moments_breaker_state", provider="anthropic", model="", state="closed") == 1
    assert _value(samples, "moments_breaker_open", provider="anthropic") == 0
