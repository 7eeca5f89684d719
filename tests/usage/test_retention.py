"""Retention: old usage rows are pruned in batches, the 90-day views keep their figures, the page shows sizes."""
import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from moments_admin.schedule import beat_schedule
from usage import retention
from usage.forms import RecomputeForm
from usage.models import KeyDaily, ProviderDaily, ProviderHourly, UsageDaily, UsageHourly, UsageRecord
from usage.queries import Filters
from usage.rollups import update_rollups

pytestmark = pytest.mark.django_db
DAYS_AGO = (300, 120, 80, 40, 10, 0)  # one call at noon UTC each day; today's a minute ago


@pytest.fixture
def short_retention(settings):
    settings.USAGE_RAW_RETENTION_DAYS = 31
    settings.USAGE_HOURLY_RETENTION_DAYS = 5
    settings.USAGE_DAILY_RETENTION_DAYS = 200
    return settings


@pytest.fixture
def history(record):
    for days in DAYS_AGO:
        moment = datetime.datetime.combine(_days_ago(days), datetime.time(12), datetime.UTC) if days else \
            timezone.now() - datetime.timedelta(minutes=1)
        record(occurred_at=moment, gateway_key="team-a")
    update_rollups(assume_settled=True)


def _dashboard_totals(client, start, end):
    response = client.get("/usage/", {"start": start.isoformat(), "end": end.isoformat()})
    assert response.status_code == 200
    totals = response.context["totals"]
    return totals["requests"], totals["cost_total"]


def _days_ago(days):
    return timezone.now().astimezone(datetime.UTC).date() - datetime.timedelta(days=days)


def test_pruning_keeps_every_90_day_view_whole(staff_client, history, short_retention):
    ninety = (_days_ago(89), _days_ago(0))
    before = _dashboard_totals(staff_client, *ninety)
    assert before[0] == 4  # 80, 40 and 10 days ago, and the last minute
    one_old_day = _days_ago(40)
    old_day_before = _dashboard_totals(staff_client, one_old_day, one_old_day)
    assert old_day_before[0] == 1
    assert Filters(start=one_old_day, end=one_old_day).hourly  # nothing pruned yet: hourly rollups

    result = retention.prune(batch=100)

    assert result[UsageRecord._meta.db_table] == 4  # 300, 120, 80 and 40 days ago (raw kept 31 days)
    assert result[UsageHourly._meta.db_table] == 5  # all but the last minute's (hourly kept 5 days)
    assert result[UsageDaily._meta.db_table] == 1  # 300 days ago only (daily kept 200 days)
    assert UsageRecord.objects.count() == 2  # 10 days ago and the last minute
    assert not UsageHourly.objects.filter(bucket__lt=retention.kept_from(5)).exists()
    assert not ProviderHourly.objects.filter(bucket__lt=retention.kept_from(5)).exists()
    assert not ProviderDaily.objects.filter(bucket__lt=retention.kept_from(200)).exists()
    assert KeyDaily.objects.count() == 5
    # The figures every view shows are unchanged: 90 days from the daily rollups, and one day 40 days ago
    # (its hourly rows are gone: it reads the daily rollup instead).
    assert _dashboard_totals(staff_client, *ninety) == before
    assert _dashboard_totals(staff_client, one_old_day, one_old_day) == old_day_before
    assert not Filters(start=one_old_day, end=one_old_day).hourly
    assert Filters(start=_days_ago(1), end=_days_ago(0)).hourly
    assert retention.hourly_pruned_before() == retention.kept_from(5)


def test_rows_not_rolled_up_yet_are_never_pruned(record, short_retention):
    record(occurred_at=timezone.now() - datetime.timedelta(days=100))  # arrived late, rollups not run
    assert retention.prune()[UsageRecord._meta.db_table] == 0
    assert UsageRecord.objects.count() == 1
    update_rollups(assume_settled=True)
    assert retention.prune()[UsageRecord._meta.db_table] == 1
    assert UsageDaily.objects.count() == 1  # its daily figures stay


def test_pruning_goes_in_small_batches(record, short_retention):
    old = timezone.now() - datetime.timedelta(days=60)
    for minute in range(7):
        record(occurred_at=old + datetime.timedelta(minutes=minute))
    update_rollups(assume_settled=True)
    assert retention.prune(batch=2)[UsageRecord._meta.db_table] == 7
    assert not UsageRecord.objects.exists()


def test_the_command_counts_with_dry_run_and_then_deletes(history, short_retention):
    out = StringIO()
    call_command("prune_usage", "--dry-run", stdout=out)
    assert f"{UsageRecord._meta.db_table}: would delete 4 row(s)" in out.getvalue()
    assert UsageRecord.objects.count() == len(DAYS_AGO)
    call_command("prune_usage", stdout=out)
    assert f"{UsageRecord._meta.db_table}: deleted 4 row(s)" in out.getvalue()
    assert UsageRecord.objects.count() == 2


def test_the_schedule_prunes_every_hour():
    entry = beat_schedule()["usage-retention"]
    from usage.tasks import prune_usage_data

    assert entry["task"] == prune_usage_data.name == "usage.tasks.prune_usage_data"
    assert 0 < entry["options"]["expires"] < entry["schedule"] == 3600.0


def test_the_task_prunes(history, short_retention):
    from usage.tasks import prune_usage_data

    assert prune_usage_data()[UsageRecord._meta.db_table] == 4


def test_retention_page_shows_every_table_with_rows_and_size(staff_client, history):
    response = staff_client.get("/usage/retention/")
    assert response.status_code == 200
    html = response.content.decode()
    for rule in retention.RULES:
        assert rule.model._meta.db_table in html
        assert rule.setting in html
    report = {row["table"]: row for row in response.context["tables"]}
    assert report[UsageRecord._meta.db_table]["rows"] == len(DAYS_AGO)
    assert report[UsageRecord._meta.db_table]["estimated"] is False
    # PostgreSQL always reports sizes; SQLite does when built with dbstat (Debian's and Python's are).
    assert report[UsageRecord._meta.db_table]["bytes"] > 0
    assert "Data retention" in html


def test_retention_page_is_for_staff(member_client):
    assert member_client.get("/usage/retention/").status_code == 403


def test_recompute_refuses_a_period_whose_raw_rows_are_pruned(short_retention):
    form = RecomputeForm({"start": _days_ago(40).isoformat(), "end": _days_ago(35).isoformat()})
    assert not form.is_valid()
    assert "USAGE_RAW_RETENTION_DAYS" in str(form.errors)
    assert RecomputeForm({"start": _days_ago(20).isoformat(), "end": _days_ago(1).isoformat()}).is_valid()


def test_retention_page_without_size_statistics_shows_exact_counts(staff_client, history, monkeypatch):
    from django.db import DatabaseError

    def no_statistics(cursor, tables):
        raise DatabaseError("no such table: dbstat")

    monkeypatch.setattr(retention, "_sqlite_sizes", no_statistics)
    monkeypatch.setattr(retention, "_postgresql_sizes", no_statistics)
    response = staff_client.get("/usage/retention/")
    assert response.status_code == 200
    report = {row["table"]: row for row in response.context["tables"]}
    assert report[UsageRecord._meta.db_table]["rows"] == len(DAYS_AGO)
    assert report[UsageRecord._meta.db_table]["bytes"] is None
    assert "does not report table sizes" in response.content.decode()
