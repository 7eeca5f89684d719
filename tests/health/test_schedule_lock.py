"""Exactly one health round per interval, however many workers and beats send the task."""
import contextlib
import json
import os
import subprocess
import sys
import time

import pytest

from moments_admin.locks import claim_interval
from providers.health.models import CheckResult, HealthSettings
from providers.health.tasks import run_health_checks
from tests.celery_worker import ROOT, worker_env
from tests.providers.conftest import ANTHROPIC_KEY, make_anthropic


@pytest.mark.django_db
def test_the_first_claim_of_an_interval_wins_and_the_next_interval_is_free():
    assert claim_interval("job", 60, now=120.0)
    assert claim_interval("job", 60, now=150.0) is None
    assert claim_interval("job", 60, now=180.0)


def test_an_unreachable_cache_claims_nothing(monkeypatch):
    class Down:
        def add(self, *args):
            raise ConnectionError("down")

    monkeypatch.setattr("moments_admin.locks.cache", Down())
    assert claim_interval("job", 60) is None


@pytest.mark.django_db
def test_a_round_still_running_skips_the_next_interval(aws_env, fresh_anthropic):
    from moments_admin.locks import job_lock

    make_anthropic(server=fresh_anthropic)
    row = HealthSettings.load()
    row.interval_seconds = 3600
    row.save()
    with job_lock("health-round") as held:
        assert held
        assert run_health_checks() == "skipped: the previous round is still running"
    assert not CheckResult.objects.exists()


@pytest.mark.django_db
def test_the_task_runs_one_round_per_interval(aws_env, fresh_anthropic):
    make_anthropic(server=fresh_anthropic)
    row = HealthSettings.load()
    row.interval_seconds = 3600
    row.save()
    first, second = run_health_checks(), run_health_checks()
    assert first.startswith("4 checks") or first.startswith("3 checks")
    assert second.startswith("skipped")
    assert CheckResult.objects.values("run_id").distinct().count() == 1


@contextlib.contextmanager
def _worker_with_beat(env, tmp_path, index):
    log = open(tmp_path / f"worker-{index}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "moments_admin", "worker", "-B", "--pool", "solo",
         "--without-gossip", "--without-mingle", "--loglevel", "INFO", "-n", f"w{index}@%h",
         "--schedule", str(tmp_path / f"beat-{index}")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _rounds(env):
    code = ("from providers.health.models import CheckResult; import json; "
            "print(json.dumps([r.timestamp() for r in CheckResult.objects.filter(model='')"
            ".values_list('checked_at', flat=True)]))")
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.worker
def test_two_workers_with_beats_run_one_round_per_interval(tmp_path, anthropic_api, monkeypatch):
    # A throwaway SQLite database (DATABASE_URL would be written to); the cache and broker stay
    # whatever this run uses (Redis in CI), since the claim lives in the shared cache.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    broker = os.environ.get("CELERY_BROKER_URL") or f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    setup = ("from providers import crypto; from providers.models import ProviderConfig; "
             "from providers.health.models import HealthSettings; "
             f"ProviderConfig.objects.create(name='anthropic', kind='anthropic', api_key_env='', "
             f"base_url='{anthropic_api.url}', api_key_encrypted=crypto.encrypt('{ANTHROPIC_KEY}')); "
             "HealthSettings.objects.update_or_create(pk=1, defaults={'interval_seconds': 5})")
    env = worker_env(tmp_path, broker, setup_code=setup)
    interval = 5
    with _worker_with_beat(env, tmp_path, 1), _worker_with_beat(env, tmp_path, 2):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(_rounds(env)) < 3:
            time.sleep(2)
        rounds = _rounds(env)
    logs = "".join((tmp_path / f"worker-{i}.log").read_text() for i in (1, 2))
    assert len(rounds) >= 3, logs[-3000:]
    slots = [int(stamp // interval) for stamp in rounds]
    assert len(slots) == len(set(slots)), f"two rounds in one interval: {sorted(rounds)}"
    # Two beats offer a round every 5 s each: more offers than rounds, the rest found their interval claimed.
    # (How many more depends on where each beat's ticks fall: a margin above one made the test flaky.)
    offers = logs.count("Sending due task health-checks")
    assert offers > len(rounds), (offers, len(rounds))
