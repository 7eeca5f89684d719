"""The usage queue's lean XADD: the reply is awaited, and nothing Redis does not confirm is dropped."""
import os
import socket
import threading
import uuid

import pytest
from django.conf import settings as django_settings

from tests.usage.test_queue import REDIS_URL, redis_client
from usage import queue as usage_queue_module
from usage import queue_writer, services
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream(settings):
    client = redis_client()
    name = f"moments:usage:test-{uuid.uuid4().hex}"
    settings.USAGE_WRITE_BUFFER, settings.USAGE_QUEUE_URL, settings.USAGE_QUEUE_STREAM = True, REDIS_URL, name
    yield name
    client.delete(name)


def test_rows_are_in_the_stream_when_the_call_returns(stream, record, settings):
    queued = usage_queue_module.usage_queue(settings)
    assert queued.writer is not None, "a plain redis:// URL takes the lean path"
    for index in range(20):
        record(gateway_key=f"key-{index}")
    assert redis_client().xlen(stream) == 20, "each XADD was confirmed before record_usage returned"
    assert services.drain_queue(queued) == {"written": 20, "dead_lettered": 0}
    assert UsageRecord.objects.count() == 20


def test_a_row_redis_refuses_is_written_directly_not_dropped(stream, record, settings, caplog):
    redis_client().set(stream, "not a stream")  # every XADD to it gets WRONGTYPE
    row = record(gateway_key="refused")
    assert row.pk is not None and UsageRecord.objects.filter(gateway_key="refused").count() == 1
    assert "Usage queue (Redis) unreachable" in caplog.text and "WRONGTYPE" in caplog.text


@pytest.fixture
def closing_server(settings):
    """The usage queue pointed at a server that reads one write and closes without a reply:
    yields (what it received, a function that waits for it to be done)."""
    listener = socket.create_server(("127.0.0.1", 0))
    received = []

    def serve():
        conn, _ = listener.accept()
        received.append(conn.recv(65536))
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings.USAGE_WRITE_BUFFER = True
    settings.USAGE_QUEUE_URL = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    yield received, lambda: thread.join(5)
    listener.close()


def test_a_connection_closed_before_the_reply_writes_the_row_directly(closing_server, record, caplog):
    """A server that reads the command and closes without a reply: the row is not lost."""
    received, served = closing_server
    row = record(gateway_key="unconfirmed")
    served()
    assert received and received[0].startswith(b"*5\r\n$4\r\nXADD\r\n")
    assert row.pk is not None and UsageRecord.objects.filter(gateway_key="unconfirmed").count() == 1
    assert "Redis closed the connection" in caplog.text


def test_a_server_that_never_answers_costs_one_timeout_then_direct_writes(settings, record):
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (the kernel's backlog), never replies
    settings.USAGE_WRITE_BUFFER = True
    settings.USAGE_QUEUE_URL = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    queued = usage_queue_module.usage_queue(settings)
    queued.writer.timeout = 0.3
    first, second = record(gateway_key="first"), record(gateway_key="second")
    assert first.pk is not None and second.pk is not None, "written directly, the second without waiting"
    assert UsageRecord.objects.count() == 2
    listener.close()


def test_threads_and_a_forked_child_each_use_their_own_connection(stream):
    writer = queue_writer.LeanWriter(REDIS_URL)

    def xadd(origin):
        return writer.execute(queue_writer.command("XADD", stream, "*", "row", origin.encode()))

    xadd("parent")
    threads = [threading.Thread(target=xadd, args=(f"thread-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    pid = os.fork()
    if pid == 0:  # the child: the parent's socket is not its own
        try:
            xadd("child")
            os._exit(0)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    xadd("parent-after-fork")
    rows = sorted(fields[b"row"].decode() for _, fields in redis_client().xrange(stream))
    assert rows == sorted(["parent", "child", "parent-after-fork", *(f"thread-{i}" for i in range(4))])


def test_tls_and_unix_socket_urls_keep_redis_py():
    assert queue_writer.supports("redis://:secret@127.0.0.1:6379/3")
    assert not queue_writer.supports("rediss://127.0.0.1:6380/0")
    assert not queue_writer.supports("unix:///run/redis.sock?db=1")
    assert queue_writer.command("XADD", "s", "*", "row", b"{}") == (
        b"*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$3\r\nrow\r\n$2\r\n{}\r\n")


def test_a_batch_holds_its_rows_and_sends_them_in_one_pipeline_when_it_ends(stream, record, settings):
    queued = usage_queue_module.usage_queue(settings)
    with services.batched_records():
        rows = [record(gateway_key=f"burst-{index}") for index in range(30)]
        assert redis_client().xlen(stream) == 0, "held until the block ends"
    assert all(row.pk is None for row in rows) and rows[0].cost_total is not None  # priced as usual
    assert redis_client().xlen(stream) == 30
    assert services.drain_queue(queued) == {"written": 30, "dead_lettered": 0}
    assert sorted(UsageRecord.objects.values_list("gateway_key", flat=True)) == sorted(
        f"burst-{index}" for index in range(30))


def test_rows_redis_refuses_in_a_batch_are_written_directly(stream, record, settings, caplog):
    redis_client().set(stream, "not a stream")  # every XADD of the pipeline gets WRONGTYPE
    with services.batched_records():
        record(gateway_key="refused-1")
        record(gateway_key="refused-2")
    assert UsageRecord.objects.filter(gateway_key__startswith="refused-").count() == 2
    assert "refused 2 of 2 rows" in caplog.text and "WRONGTYPE" in caplog.text


def test_a_batch_whose_redis_closed_before_replying_writes_its_rows_directly(closing_server, record, caplog):
    received, served = closing_server
    with services.batched_records():
        record(gateway_key="unconfirmed-1")
        record(gateway_key="unconfirmed-2")
    served()
    assert received and received[0].count(b"XADD") == 2, "both commands went out in one write"
    assert UsageRecord.objects.filter(gateway_key__startswith="unconfirmed-").count() == 2
    assert "writing 2 usage rows directly" in caplog.text


def test_a_cache_hits_row_reaches_the_queue_in_the_next_burst_and_a_paid_calls_row_at_once(stream, record):
    """A response-cache hit (zero tokens, zero cost) must cost far less than the call it saves: its row
    goes out with the next burst of hits (services.hit_rows), in one pipeline; a paid call's row is
    confirmed by Redis before record_usage returns, as always."""
    rows = [record({"input_tokens": 0}, gateway_key=f"hit-{index}", status="cache_hit") for index in range(25)]
    record(gateway_key="paid")
    assert redis_client().xlen(stream) >= 1, "the paid call's row is in Redis already"
    assert services.hit_rows.wait(10)
    assert redis_client().xlen(stream) == 26 and all(row.cost_total == 0 for row in rows)
    assert services.drain_queue(usage_queue_module.usage_queue(django_settings)) == {"written": 26,
                                                                                     "dead_lettered": 0}


def test_inside_a_batch_a_cache_hits_row_is_held_by_the_batch(stream, record):
    with services.batched_records():
        record(gateway_key="hit-in-batch", status="cache_hit")
        assert services.hit_rows.wait(10) and redis_client().xlen(stream) == 0, "held by the batch, not sent"
    assert redis_client().xlen(stream) == 1


@pytest.mark.django_db(transaction=True)
def test_a_cache_hits_row_with_redis_down_is_written_to_the_database(settings, record):
    settings.USAGE_WRITE_BUFFER = True
    settings.USAGE_QUEUE_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    record(gateway_key="hit-redis-down", status="cache_hit")
    assert services.hit_rows.wait(10)
    assert UsageRecord.objects.filter(gateway_key="hit-redis-down", status="cache_hit").count() == 1
