"""The embedded default's database cache: `incr` from several processes at once loses nothing."""
import os
import subprocess
import sys

import pytest

from tests.celery_worker import ROOT

PROCESSES, EACH = 4, 40
COUNT = ("import django; django.setup(); from django.core.cache import cache; "
         f"[cache.incr('shared-counter') for _ in range({EACH})]")


def _embedded_env(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")}
    return {**env, "MOMENTS_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "tests.settings"}


def _run(code, env):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_processes_counting_at_once_leave_the_exact_count_and_its_expiry(tmp_path):
    env = _embedded_env(tmp_path)
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr
    setup = _run("import django; django.setup(); from django.core.cache import cache; "
                 "from django.core.cache import caches; print(type(caches['default']).__name__); cache.set('shared-counter', 0, 3600)", env)
    assert setup.stdout.strip() == "AtomicDatabaseCache", setup.stderr
    workers = [subprocess.Popen([sys.executable, "-c", COUNT], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
               for _ in range(PROCESSES)]
    for worker in workers:
        assert worker.wait(timeout=120) == 0, worker.stderr.read()
    check = _run("import django, datetime; django.setup(); from django.core.cache import cache; "
                 "from django.db import connection; c = connection.cursor(); "
                 "c.execute('SELECT expires FROM moments_cache'); raw = c.fetchone()[0]; "
                 "expires = raw if isinstance(raw, datetime.datetime) else datetime.datetime.fromisoformat(raw); "
                 "left = expires.replace(tzinfo=None) - datetime.datetime.utcnow(); "
                 "print(cache.get('shared-counter'), int(left.total_seconds()))", env)
    assert check.returncode == 0, check.stderr
    count, seconds_left = map(int, check.stdout.split())
    assert count == PROCESSES * EACH, "an increment was lost"
    assert 3000 < seconds_left <= 3600, "incr keeps the expiry the key was set with"


@pytest.mark.django_db
def test_incr_of_a_missing_or_expired_key_raises_like_django(settings):
    from django.core.cache import caches

    settings.CACHES = {"default": {"BACKEND": "moments_admin.db_cache.AtomicDatabaseCache",
                                   "LOCATION": "moments_cache"}}
    from django.core.management import call_command

    call_command("createcachetable", verbosity=0)  # missing when the suite runs with CACHE_URL (Redis)
    cache = caches.create_connection("default")
    with pytest.raises(ValueError):
        cache.incr("never-set")
    cache.set("gone", 5, timeout=-1)  # already expired
    with pytest.raises(ValueError):
        cache.incr("gone")
    cache.set("n", 5, timeout=60)
    assert cache.incr("n", 3) == 8 and cache.get("n") == 8
