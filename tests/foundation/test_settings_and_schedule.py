import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from moments_admin.env import env_bool, env_float, env_int
from moments_admin.schedule import HEALTH_TICK_SECONDS, beat_schedule

pytestmark = pytest.mark.smoke


def test_every_periodic_task_expires_before_its_next_run(settings):
    settings.WORKER_HEARTBEAT_INTERVAL_SECONDS = 20
    settings.USAGE_ROLLUP_INTERVAL_SECONDS = 10
    schedule = beat_schedule()
    assert schedule["heartbeat"]["schedule"] == 20.0
    assert schedule["health-checks"]["task"] == "providers.health.tasks.run_health_checks"
    assert schedule["health-checks"]["schedule"] == float(HEALTH_TICK_SECONDS)
    assert schedule["usage-rollups"]["schedule"] == 10.0
    assert schedule["migration-rollouts"]["task"] == "providers.migration.tasks.check_rollouts"
    for name, entry in schedule.items():
        assert 0 < entry["options"]["expires"] < entry["schedule"], name


@pytest.mark.parametrize("helper, value", [(env_bool, "maybe"), (env_int, "ten"), (env_float, "fast")])
def test_strict_env_helpers_refuse_bad_values(monkeypatch, helper, value):
    monkeypatch.setenv("MOMENTS_TEST_VALUE", value)
    with pytest.raises(ImproperlyConfigured, match="MOMENTS_TEST_VALUE"):
        helper("MOMENTS_TEST_VALUE")


def test_strict_env_helpers_parse_and_bound(monkeypatch):
    monkeypatch.setenv("MOMENTS_TEST_VALUE", "no")
    assert env_bool("MOMENTS_TEST_VALUE", True) is False
    monkeypatch.setenv("MOMENTS_TEST_VALUE", "3")
    assert env_int("MOMENTS_TEST_VALUE") == 3
    with pytest.raises(ImproperlyConfigured, match="at least 5"):
        env_int("MOMENTS_TEST_VALUE", minimum=5)


@pytest.mark.parametrize("value, expected", [("http://cache:6379/0", "USAGE_QUEUE_URL must be a redis"),
                                             ("off", "None"), ("redis://q:6379/3", "redis://q:6379/3")])
def test_usage_queue_url_is_redis_or_off(value, expected):
    env = {**os.environ, "DEBUG": "1", "USAGE_QUEUE_URL": value, "DATABASE_URL": "", "CACHE_URL": ""}
    result = subprocess.run([sys.executable, "-c", "import moments_admin.settings as s; print(s.USAGE_QUEUE_URL)"],
                            env=env, capture_output=True, text=True)
    assert expected in result.stdout + result.stderr
