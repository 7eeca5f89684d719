"""Command one's launcher: web, worker and beat come up together on the embedded defaults, and stop together."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.smoke]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except OSError:
        return None, ""


def test_launcher_runs_web_worker_and_beat_then_stops_them(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL")}
    env.update(MOMENTS_VAR_DIR=str(tmp_path / "var"), MOMENTS_ADMIN_PASSWORD="launcher-test-password",
               HEALTH_CHECK_INTERVAL_SECONDS="5", DJANGO_SETTINGS_MODULE="moments_admin.settings")
    env.pop("SECRET_KEY", None)
    env.pop("ALLOW_PLAIN_HTTP", None)  # set for the test process; `make run` must serve plain http by itself
    log_path = tmp_path / "launcher.log"
    with open(log_path, "w") as log:
        launcher = subprocess.Popen([sys.executable, "-m", "moments_admin.launcher", "--port", str(port)],
                                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and status != 200:
            time.sleep(1)
            status, body = _get(f"http://127.0.0.1:{port}/accounts/login/")
        assert status == 200 and "csrfmiddlewaretoken" in body, log_path.read_text()[-3000:]
        # Beat schedules the heartbeat every 5 s and the worker runs it.
        while time.monotonic() < deadline and "heartbeat" not in _succeeded(log_path):
            time.sleep(1)
        assert "providers.tasks.heartbeat" in _succeeded(log_path), log_path.read_text()[-3000:]
    finally:
        os.killpg(launcher.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground process group
        launcher.wait(timeout=60)
    assert _get(f"http://127.0.0.1:{port}/accounts/login/")[0] is None
    assert "Created admin user 'admin'" in log_path.read_text()


def _succeeded(log_path):
    return "\n".join(line for line in log_path.read_text().splitlines() if "succeeded" in line)
