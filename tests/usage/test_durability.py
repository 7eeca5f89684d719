"""Real processes killed or stopped while holding usage or a job lock: nothing lost, nothing stuck.

Each test starts `python -c` processes on a database of their own (migrated by worker_env), signals
or kills them, then counts in another process. With DATABASE_URL set they share that database,
so every test tags its rows with a key of its own.
"""
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
import redis

from moments_admin.asgi import application
from tests.celery_worker import ROOT, worker_env
from usage import ingest, services
from usage.models import UsageRecord

pytestmark = pytest.mark.worker
REDIS_URL = os.environ.get("USAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/8")

RECORDER = """
import sys, time, django
django.setup()
from providers.clients.usage import Usage
from usage.services import record_usage
count, key = int(sys.argv[1]), sys.argv[2]
for _ in range(count):
    record_usage(provider_name="anthropic-main", provider_kind="anthropic", model_id="claude-sonnet-4-5-20250929",
                 logical_model="sonnet", usage=Usage(input_tokens=10, output_tokens=5), gateway_key=key)
print("recorded", flush=True)
time.sleep(600)
"""
UNDER_UVICORN = """
import sys, django
django.setup()
from providers.clients.usage import Usage
from usage.services import record_usage
import uvicorn
count, key, port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for _ in range(count):
    record_usage(provider_name="anthropic-main", provider_kind="anthropic", model_id="claude-sonnet-4-5-20250929",
                 logical_model="sonnet", usage=Usage(input_tokens=10, output_tokens=5), gateway_key=key)
uvicorn.run("moments_admin.asgi:application", host="127.0.0.1", port=port, lifespan="on", log_level="warning")
"""
COUNTER = """
import sys, django
django.setup()
from usage.models import UsageRecord
print(UsageRecord.objects.filter(gateway_key=sys.argv[1]).count())
"""
STALLED_ROLLUP = """
import time, django
django.setup()
from usage import rollups
def stall(*args, **kwargs):
    print("holding", flush=True)
    time.sleep(600)
rollups._aggregate = stall
rollups.update_rollups(assume_settled=True)
"""
NEXT_ROLLUP = """
import time, django
django.setup()
from usage.rollups import update_rollups
started = time.monotonic()
while time.monotonic() - started < 30:
    if "skipped" not in update_rollups(assume_settled=True):
        print(f"ran after {time.monotonic() - started:.1f}", flush=True)
        break
    time.sleep(0.2)
else:
    print("still skipped after 30 s", flush=True)
"""


@pytest.fixture(scope="module")
def process_env(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("durability")
    return worker_env(tmp_path, f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}")


def python(code, env, *args, **kwargs):
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def wait_for_line(process, expected, timeout=60):
    deadline = time.monotonic() + timeout
    line = process.stdout.readline()
    assert expected in line, (line, process.stderr.read() if process.poll() is not None else "")
    assert time.monotonic() < deadline


def count_rows(env, key):
    result = subprocess.run([sys.executable, "-c", COUNTER, key], cwd=ROOT, env=env, capture_output=True,
                            text=True, check=True)
    return int(result.stdout.strip())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_process_writes_its_buffered_usage_first(process_env, signum):
    # The in-process buffer, with a write interval so long that only the signal can flush it.
    env = {**process_env, "USAGE_WRITE_BUFFER": "1", "USAGE_WRITE_BUFFER_SECONDS": "600", "USAGE_QUEUE_URL": "off"}
    key = f"signal-{uuid.uuid4().hex[:12]}"
    recorder = python(RECORDER, env, 300, key)
    wait_for_line(recorder, "recorded")
    recorder.send_signal(signum)
    recorder.wait(timeout=30)
    assert recorder.returncode != 0  # it still stops as it would have without us (chained handler)
    assert count_rows(env, key) == 300


def test_uvicorn_stopped_by_sigterm_writes_the_buffered_usage(process_env):
    env = {**process_env, "USAGE_WRITE_BUFFER": "1", "USAGE_WRITE_BUFFER_SECONDS": "600", "USAGE_QUEUE_URL": "off"}
    key = f"uvicorn-{uuid.uuid4().hex[:12]}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = python(UNDER_UVICORN, env, 200, key, port)
    deadline = time.monotonic() + 60
    while True:  # serving: uvicorn's own signal handlers are in place
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            break
        assert time.monotonic() < deadline and server.poll() is None, server.stderr.read()
        time.sleep(0.2)
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    assert count_rows(env, key) == 200


def test_a_killed_web_process_loses_no_usage_queued_in_redis(process_env):
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    stream = f"moments:usage:test-{uuid.uuid4().hex}"
    env = {**process_env, "USAGE_WRITE_BUFFER": "1", "USAGE_QUEUE_URL": REDIS_URL, "USAGE_QUEUE_STREAM": stream}
    key = f"kill9-{uuid.uuid4().hex[:12]}"
    try:
        recorder = python(RECORDER, env, 250, key)
        wait_for_line(recorder, "recorded")
        recorder.kill()  # SIGKILL: no handler, no atexit
        recorder.wait(timeout=30)
        drained = subprocess.run([sys.executable, "manage.py", "drain_usage_queue"], cwd=ROOT, env=env,
                                 capture_output=True, text=True, check=True)
        assert "Wrote 250 usage row(s)" in drained.stdout
        assert count_rows(env, key) == 250
    finally:
        client.delete(stream)


def test_a_killed_rollup_does_not_block_the_next_beyond_a_few_seconds(process_env):
    env = {**process_env, "JOB_LOCK_TTL_SECONDS": "2"}
    holder = python(STALLED_ROLLUP, env)
    wait_for_line(holder, "holding")
    holder.kill()  # mid-way, holding the lock (and, on SQLite, the write transaction)
    holder.wait(timeout=30)
    contender = subprocess.run([sys.executable, "-c", NEXT_ROLLUP], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=60)
    assert contender.stdout.startswith("ran after"), (contender.stdout, contender.stderr)
    assert float(contender.stdout.split()[-1]) < 5.0


@pytest.mark.django_db(transaction=True)
def test_the_asgi_lifespan_shutdown_writes_the_buffered_usage(settings, monkeypatch, record):
    settings.USAGE_WRITE_BUFFER, settings.USAGE_QUEUE_URL = True, None
    monkeypatch.setattr(ingest, "_buffer", ingest.UsageBuffer(services._COLUMNS, services._TABLE, autostart=False))
    for _ in range(5):
        record()
    assert not UsageRecord.objects.exists()
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message["type"])

    # In a thread of its own: a browser test earlier in the session leaves Playwright's loop running here.
    worker = threading.Thread(target=asyncio.run, args=(application({"type": "lifespan"}, receive, send),))
    worker.start()
    worker.join(30)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert UsageRecord.objects.count() == 5
