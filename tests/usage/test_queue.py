"""Usage buffered in a Redis stream: drained in batches by the worker, re-claimed from dead consumers,
written directly when Redis is down. Needs a Redis server (USAGE_TEST_REDIS_URL, default db 8)."""
import json
import os
import time
import uuid
from decimal import Decimal

import pytest
import redis

from moments_admin.schedule import beat_schedule
from providers.clients.usage import Usage
from usage import queue as usage_queue_module
from usage import services
from usage.models import UsageDeadLetter, UsageRecord
from usage.tasks import drain_usage_queue

pytestmark = pytest.mark.django_db
REDIS_URL = os.environ.get("USAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/8")


def redis_client():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    return client


@pytest.fixture
def queued(settings):
    """The Redis path on a stream of this test's own, deleted afterwards."""
    client = redis_client()
    settings.USAGE_WRITE_BUFFER = True
    settings.USAGE_QUEUE_URL = REDIS_URL
    settings.USAGE_QUEUE_STREAM = f"moments:usage:test-{uuid.uuid4().hex}"
    settings.USAGE_QUEUE_CLAIM_SECONDS = 1.0
    yield usage_queue_module.usage_queue(settings)
    client.delete(settings.USAGE_QUEUE_STREAM)


def test_rows_wait_in_the_stream_until_the_worker_drains_them(queued, record):
    row = record({"input_tokens": 1000, "output_tokens": 500}, gateway_key="key-a")
    for index in range(4):
        record(gateway_key=f"key-{index}")
    assert row.pk is None and row.cost_total == Decimal("0.010500")
    assert not UsageRecord.objects.exists() and queued.length() == 5
    assert services.drain_queue(queued) == {"written": 5, "dead_lettered": 0}
    assert queued.length() == 0
    stored = UsageRecord.objects.get(gateway_key="key-a")
    assert (stored.cost_total, stored.occurred_at, stored.price_id) == (row.cost_total, row.occurred_at, row.price_id)
    assert services.drain_queue(queued) == {"written": 0, "dead_lettered": 0}


def test_rows_a_dead_consumer_had_read_are_claimed_after_the_delay(queued, record):
    for index in range(3):
        record(gateway_key=f"key-{index}")
    queued._ensure_group()
    read = queued.client.xreadgroup(usage_queue_module.GROUP, "a-consumer-that-died", {queued.stream: ">"}, count=10)
    assert len(read[0][1]) == 3  # read, never acknowledged
    assert services.drain_queue(queued)["written"] == 0  # not idle long enough yet
    time.sleep(1.2)
    assert services.drain_queue(queued)["written"] == 3
    assert UsageRecord.objects.count() == 3 and queued.length() == 0


def test_a_message_that_is_not_a_row_is_dead_lettered_and_the_rest_written(queued, record):
    record(gateway_key="before")
    queued.client.xadd(queued.stream, {"row": "{not json"})
    record(gateway_key="after")
    assert services.drain_queue(queued) == {"written": 2, "dead_lettered": 1}
    assert json.loads(UsageDeadLetter.objects.get().payload) == {"raw_message": {"row": "{not json"}}


def test_a_row_queued_by_an_older_release_gets_the_newer_text_columns_defaults(queued, record):
    # Rows queued before a deploy added a text column (inference_geo, adaptations) lack its key: the drain
    # writes "" (the column's default), never NULL into a NOT NULL column and a dead letter.
    record(gateway_key="older-release")
    [(message_id, fields)] = queued.client.xrange(queued.stream)
    payload = json.loads(fields[usage_queue_module.FIELD.encode()])
    queued.client.xdel(queued.stream, message_id)
    older = {name: value for name, value in payload.items() if name not in ("inference_geo", "adaptations")}
    queued.client.xadd(queued.stream, {usage_queue_module.FIELD: json.dumps(older)})
    assert services.drain_queue(queued) == {"written": 1, "dead_lettered": 0}
    stored = UsageRecord.objects.get(gateway_key="older-release")
    assert (stored.inference_geo, stored.adaptations) == ("", "")


def test_a_cache_hit_queued_by_an_older_release_gets_no_response_cache_saving(queued, record):
    # Rows queued before a deploy added response_cache_saving lack its key: the drain writes NULL (no saving
    # known), never a dead letter.
    record(gateway_key="older-hit", status="cache_hit", usage=Usage(), response_cache_saving=Decimal("0.0105"))
    record(gateway_key="newer-hit", status="cache_hit", usage=Usage(), response_cache_saving=Decimal("0.0105"))
    assert services.hit_rows.wait(10)  # hits' rows reach the queue in the next burst
    [(message_id, fields), _newer] = queued.client.xrange(queued.stream)
    payload = json.loads(fields[usage_queue_module.FIELD.encode()])
    queued.client.xdel(queued.stream, message_id)
    older = {name: value for name, value in payload.items() if name != "response_cache_saving"}
    queued.client.xadd(queued.stream, {usage_queue_module.FIELD: json.dumps(older)})
    assert services.drain_queue(queued) == {"written": 2, "dead_lettered": 0}
    stored = dict(UsageRecord.objects.values_list("gateway_key", "response_cache_saving"))
    assert stored == {"older-hit": None, "newer-hit": Decimal("0.010500")}


def test_redis_down_at_record_time_writes_the_row_directly(settings, record, caplog):
    settings.USAGE_WRITE_BUFFER = True
    settings.USAGE_QUEUE_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    row = record(gateway_key="while-redis-is-down")
    assert row.pk is not None and UsageRecord.objects.filter(gateway_key="while-redis-is-down").exists()
    assert "Usage queue (Redis) unreachable" in caplog.text
    assert record().pk is not None  # and the next call does not wait on Redis again


def test_the_worker_task_drains_the_queue_and_beat_runs_it_when_configured(queued, record, settings):
    record()
    assert drain_usage_queue() == {"written": 1, "dead_lettered": 0}
    settings.USAGE_QUEUE_DRAIN_SECONDS = 2.0
    assert beat_schedule()["usage-queue"]["schedule"] == 2.0
    settings.USAGE_QUEUE_URL = None
    assert "usage-queue" not in beat_schedule()
    assert drain_usage_queue() == {"skipped": "no usage queue configured"}


def test_a_stream_deleted_under_the_drainer_is_recreated_with_its_group(queued, record):
    record()
    assert services.drain_queue(queued)["written"] == 1
    queued.client.delete(queued.stream)  # e.g. Redis restarted without persistence
    record()
    assert services.drain_queue(queued)["written"] == 1
    assert UsageRecord.objects.count() == 2


def test_idle_consumers_holding_nothing_are_forgotten(queued, record, settings):
    record()
    queued._ensure_group()
    queued.client.xgroup_createconsumer(queued.stream, usage_queue_module.GROUP, "an-exited-worker")
    queued.claim_idle_ms = 10  # idle for more than ten times this
    time.sleep(0.2)
    services.drain_queue(queued)
    names = [entry["name"] for entry in queued.client.xinfo_consumers(queued.stream, usage_queue_module.GROUP)]
    assert b"an-exited-worker" not in names and "an-exited-worker" not in names and len(names) == 1
