"""Start a real Celery worker process for end-to-end tests."""
import contextlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_FERNET_KEY = "7DPKOt9bzN4dhTLmyt1RD0VNJBs0Q1LEhdFnV6A8Eo4="


def worker_env(tmp_path, broker, backend=None, *, setup_code=None):
    """Environment for a worker on its own database: migrated, cache table made, broker tables made."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "moments_admin.settings", "DEBUG": "1",
           "CELERY_BROKER_URL": broker, "SECRET_KEY": "worker-test-secret",
           "FIELD_ENCRYPTION_KEY": os.environ.get("FIELD_ENCRYPTION_KEY", TEST_FERNET_KEY)}
    if backend:
        env["CELERY_RESULT_BACKEND"] = backend
    if not env.get("DATABASE_URL"):
        env["MOMENTS_VAR_DIR"] = str(tmp_path / "var")
    commands = [["manage.py", "migrate", "--noinput", "-v", "0"], ["manage.py", "createcachetable"]]
    if setup_code:
        commands.append(["manage.py", "shell", "-c", setup_code])
    commands.append(["-m", "celery", "-A", "moments_admin", "purge", "-f"])  # creates the broker's tables
    for command in commands:
        subprocess.run([sys.executable, *command], cwd=ROOT, env=env, check=True, capture_output=True)
    return env


@contextlib.contextmanager
def running_worker(env, log_path):
    """A solo-pool worker logging to log_path; stopped on exit."""
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "moments_admin", "worker", "--pool", "solo",
             "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)
