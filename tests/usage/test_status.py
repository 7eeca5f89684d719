"""The Status page shows the usage pipeline: last rollup, rows waiting, a stalled warning, dead letters."""
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from usage.models import RollupState, UsageDeadLetter
from usage.rollups import update_rollups
from usage.status import usage_pipeline_status

pytestmark = pytest.mark.django_db


def test_fresh_rollups_show_no_warning(member_client, record):
    record()
    update_rollups(assume_settled=True)
    record()
    page = member_client.get(reverse("providers:status")).content.decode()
    assert "Last rollup: <time" in page and "about 1 record waiting" in page
    assert "Rollups are stalled" not in page and "dead letters: 0" in page


def test_a_stalled_rollup_and_dead_letters_show_on_the_status_page(member_client, record, settings):
    settings.USAGE_ROLLUP_INTERVAL_SECONDS = 30
    record()
    update_rollups(assume_settled=True)
    for _ in range(3):
        record()
    RollupState.objects.update(updated_at=timezone.now() - datetime.timedelta(minutes=5))  # its worker died
    UsageDeadLetter.objects.create(payload="{}", error="DataError: test")
    page = member_client.get(reverse("providers:status")).content.decode()
    assert "about 3 records waiting" in page
    assert "Rollups are stalled: none has finished in the last 90 s" in page
    assert "1 usage row refused by the database is kept in the dead-letter table" in page
    assert "docs/usage.md" in page


def test_no_rows_waiting_is_not_a_stall_even_long_after_the_last_rollup(record):
    record()
    update_rollups(assume_settled=True)
    RollupState.objects.update(updated_at=timezone.now() - datetime.timedelta(days=1))
    assert usage_pipeline_status()["stalled"] is False


def test_an_unreachable_usage_queue_is_a_warning_not_an_error(member_client, settings):
    settings.USAGE_WRITE_BUFFER = True
    settings.USAGE_QUEUE_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = member_client.get(reverse("providers:status"))
    assert response.status_code == 200
    assert "The Redis usage queue is unreachable" in response.content.decode()
