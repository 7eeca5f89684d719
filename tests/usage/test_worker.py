"""A real Celery worker runs the usage tasks end to end: rollups, then a budget alert and its email."""
import os
import sqlite3
import time
from pathlib import Path

import pytest
from celery import Celery

from tests.celery_worker import running_worker, worker_env

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.worker, pytest.mark.smoke, pytest.mark.filterwarnings("ignore::DeprecationWarning:kombu.*"),
              pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")),
                                 reason="runs on a throwaway SQLite database; DATABASE_URL would be written to")]

SETUP = """
from decimal import Decimal
from providers.clients.usage import Usage
from usage.models import Budget
from usage.services import record_usage
for _ in range(3):
    record_usage(provider_name="anthropic-main", provider_kind="anthropic", model_id="claude-haiku-4-5-20251001",
                 logical_model="haiku", usage=Usage(output_tokens=200_000))  # $1.00 each
Budget.objects.create(name="Worker test", amount_usd=Decimal("4"), email_recipients="ops@example.test")
"""


def query(database, sql):
    with sqlite3.connect(database) as connection:
        return connection.execute(sql).fetchall()


def wait_for(check, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def test_worker_rolls_up_and_sends_the_budget_alert(tmp_path):
    broker = f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    env = worker_env(tmp_path, broker, setup_code=SETUP)
    database = tmp_path / "var" / "moments.sqlite3"
    log_path = tmp_path / "worker.log"
    with running_worker(env, log_path):
        sender = Celery("probe", broker=broker)
        sender.send_task("usage.tasks.update_usage_rollups")
        assert wait_for(lambda: query(database, "SELECT last_id FROM usage_rollupstate") == [(3,)]), \
            log_path.read_text()[-3000:]
        assert query(database, "SELECT SUM(requests), SUM(cost_total) FROM usage_providerdaily") == [(3, 3)]
        sender.send_task("usage.tasks.check_usage_budgets")  # $3 of $4: the 50% alert, emailed by its own task
        assert wait_for(lambda: query(database, "SELECT threshold FROM usage_budgetalert "
                                                "WHERE email_sent_at IS NOT NULL") == [(50,)]), \
            log_path.read_text()[-3000:]
        assert 'Budget "Worker test" reached 50%' in log_path.read_text()  # the console email backend
