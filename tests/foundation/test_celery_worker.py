"""Starts a real Celery worker process and sees a task run end to end."""
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery import Celery

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.smoke]


def _broker_and_backend(tmp_path):
    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        return f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}", f"db+sqlite:///{tmp_path / 'results.sqlite'}"
    if broker.startswith("redis"):
        return broker, broker.rsplit("/", 1)[0] + "/2"
    return broker, "rpc://"


@pytest.fixture
def worker_env(tmp_path):
    broker, backend = _broker_and_backend(tmp_path)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "moments_admin.settings", "DEBUG": "1",
           "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": backend,
           "SECRET_KEY": "worker-test-secret", "FIELD_ENCRYPTION_KEY": os.environ.get(
               "FIELD_ENCRYPTION_KEY", "7DPKOt9bzN4dhTLmyt1RD0VNJBs0Q1LEhdFnV6A8Eo4=")}
    if not env.get("DATABASE_URL"):
        env["MOMENTS_VAR_DIR"] = str(tmp_path / "var")
    for command in (["manage.py", "migrate", "--noinput", "-v", "0"], ["manage.py", "createcachetable"],
                    ["-m", "celery", "-A", "moments_admin", "purge", "-f"]):
        subprocess.run([sys.executable, *command], cwd=ROOT, env=env, check=True, capture_output=True)
    return env, broker, backend


def test_worker_runs_heartbeat_task(worker_env, tmp_path):
    env, broker, backend = worker_env
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "moments_admin", "worker", "--pool", "solo",
             "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        sender = Celery("probe", broker=broker, backend=backend)
        before = dt.datetime.now(dt.UTC)
        result = sender.send_task("providers.tasks.heartbeat")
        stamp = result.get(timeout=90)
        assert dt.datetime.fromisoformat(stamp) >= before - dt.timedelta(seconds=1)
        assert "providers.tasks.heartbeat" in log_path.read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
