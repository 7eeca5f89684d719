"""The usage queue's XADD without a wait for the reply: nothing Redis does not confirm is dropped."""
import socket
import threading
import uuid

import pytest

from tests.usage.test_queue import REDIS_URL, redis_client
from usage import queue as usage_queue_module
from usage import queue_writer, services
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db(transaction=True)  # rows the reply thread writes use its own connection


@pytest.fixture
def stream(settings):
    client = redis_client()
    name = f"moments:usage:test-{uuid.uuid4().hex}"
    settings.USAGE_WRITE_BUFFER, settings.USAGE_QUEUE_URL, settings.USAGE_QUEUE_STREAM = True, REDIS_URL, name
    yield name
    client.delete(name)


def test_rows_are_sent_without_waiting_and_confirmed_in_order(stream, record, settings):
    queued = usage_queue_module.usage_queue(settings)
    assert queued.writer is not None, "a plain redis:// URL takes the pipelined path"
    for index in range(50):
        record(gateway_key=f"key-{index}")
    assert queued.settle(timeout=5) and queued.length() == 50
    assert services.drain_queue(queued) == {"written": 50, "dead_lettered": 0}
    assert UsageRecord.objects.count() == 50


def test_a_row_redis_refuses_is_written_directly_not_dropped(stream, record, settings, caplog):
    redis_client().set(stream, "not a stream")  # every XADD to it gets WRONGTYPE
    queued = usage_queue_module.usage_queue(settings)
    row = record(gateway_key="refused")
    assert row.pk is None, "handed to Redis: the call did not wait"
    assert queued.settle(timeout=5)
    assert UsageRecord.objects.filter(gateway_key="refused").count() == 1
    assert "did not confirm 1 row(s) (WRONGTYPE" in caplog.text


def test_rows_in_flight_when_the_connection_drops_are_written_directly(settings, record, caplog):
    """A server that reads the commands and closes without a reply: the rows are not lost."""
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
    queued = usage_queue_module.usage_queue(settings)
    record(gateway_key="in-flight")
    thread.join(5)
    assert received and received[0].startswith(b"*5\r\n$4\r\nXADD\r\n")
    assert queued.settle(timeout=5)
    assert UsageRecord.objects.filter(gateway_key="in-flight").count() == 1
    assert "closed before it confirmed them" in caplog.text
    listener.close()


def test_tls_and_unix_socket_urls_keep_the_synchronous_xadd():
    assert queue_writer.supports("redis://:secret@127.0.0.1:6379/3")
    assert not queue_writer.supports("rediss://127.0.0.1:6380/0")
    assert not queue_writer.supports("unix:///run/redis.sock?db=1")
    assert queue_writer.command("XADD", "s", "*", "row", b"{}") == (
        b"*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n$1\r\n*\r\n$3\r\nrow\r\n$2\r\n{}\r\n")


def test_a_forked_child_sends_on_its_own_connection(stream):
    import os

    writer = queue_writer.PipelinedWriter(REDIS_URL)
    unconfirmed = []
    xadd = queue_writer.command("XADD", stream, "*", "row", b'{"from": "parent"}')
    writer.send(xadd, "parent", unconfirmed.append)
    pid = os.fork()
    if pid == 0:  # the child: the parent's socket and rows are not its own
        try:
            writer.send(queue_writer.command("XADD", stream, "*", "row", b'{"from": "child"}'), "child",
                        unconfirmed.append)
            os._exit(0 if writer.settle(timeout=5) and not unconfirmed else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert writer.settle(timeout=5) and unconfirmed == []
    rows = [fields[b"row"] for _, fields in redis_client().xrange(stream)]
    assert sorted(rows) == [b'{"from": "child"}', b'{"from": "parent"}']
