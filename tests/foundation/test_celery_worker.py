"""Starts a real Celery worker process and sees a task run end to end."""
import datetime as dt
import os

import pytest
from celery import Celery

from tests.celery_worker import running_worker, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.smoke]


def _broker_and_backend(tmp_path):
    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        return f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}", f"db+sqlite:///{tmp_path / 'results.sqlite'}"
    if broker.startswith("redis"):
        return broker, broker.rsplit("/", 1)[0] + "/2"
    return broker, "rpc://"


def test_worker_runs_heartbeat_task(tmp_path):
    broker, backend = _broker_and_backend(tmp_path)
    log_path = tmp_path / "worker.log"
    with running_worker(worker_env(tmp_path, broker, backend), log_path):
        sender = Celery("probe", broker=broker, backend=backend)
        before = dt.datetime.now(dt.UTC)
        result = sender.send_task("providers.tasks.heartbeat")
        stamp = result.get(timeout=90)
        assert dt.datetime.fromisoformat(stamp) >= before - dt.timedelta(seconds=1)
        assert "providers.tasks.heartbeat" in log_path.read_text()
