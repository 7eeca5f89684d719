"""Uptime arithmetic: 24 h, 7 d and 30 d figures and the day bars, with gaps that count neither way."""
import datetime as dt

import pytest
from django.utils import timezone

from providers.health.models import CheckResult
from providers.health.status_page import providers_status
from providers.health.uptime import Window, day_window, uptime_days, windows
from tests.providers.conftest import make_anthropic

TODAY = dt.date(2026, 11, 29)


def test_a_window_without_checks_has_no_figure_rather_than_100_percent():
    days = uptime_days([(TODAY - dt.timedelta(days=20), 100, 0)], TODAY, 60)
    figures = windows(days, (0, 0))
    assert [w.label for w in figures] == ["24 h", "7 d", "30 d"]
    assert figures[0].uptime is None and figures[1].uptime is None  # old good days do not make today "up"
    assert figures[0].text == "24 h: no data"
    assert figures[2].uptime == 100.0 and figures[2].partial and figures[2].days_with_data == 1


def test_gap_days_are_left_out_and_each_check_weighs_the_same():
    rows = [(TODAY, 50, 4), (TODAY - dt.timedelta(days=1), 150, 0), (TODAY - dt.timedelta(days=6), 100, 11),
            (TODAY - dt.timedelta(days=7), 1000, 1000)]  # day 8 back: in 30 d, not in 7 d
    days = uptime_days(rows, TODAY, 60)
    assert len(days) == 30 and days[-1].date == TODAY and days[0].date == TODAY - dt.timedelta(days=29)
    seven = day_window(days, 7)
    assert (seven.checks, seven.failed, seven.days_with_data, seven.days) == (300, 15, 3, 7)
    assert seven.uptime == pytest.approx(95.0)  # 285 of 300, not an average of the three days' rates
    assert seven.text == "7 d: 95.000 % of 300 checks passed, on 3 of 7 days"
    thirty = day_window(days, 30)
    assert thirty.uptime == pytest.approx(100 * 285 / 1300)
    assert [d.level for d in days[-8:]] == ["major", "major", "none", "none", "none", "none", "ok", "minor"]


def test_the_same_day_from_two_aggregates_is_added_up():
    days = uptime_days([(TODAY, 10, 1), (TODAY, 30, 0)], TODAY, 60, days=1)
    assert (days[0].checks, days[0].failed) == (40, 1)


def test_every_check_failed_is_zero_not_no_data():
    assert Window("24 h", 12, 12).uptime == 0.0
    assert Window("24 h", 12, 12).text == "24 h: 0.000 % of 12 checks passed"


def test_one_check_is_counted_in_the_singular():
    assert Window("24 h", 1, 0).text == "24 h: 100.000 % of 1 check passed"  # the first check after set-up
    assert Window("7 d", 1, 0, days_with_data=1, days=7).text == "7 d: 100.000 % of 1 check passed, on 1 of 7 days"


@pytest.mark.django_db
def test_status_page_figures_from_stored_checks(aws_env, fresh_anthropic):
    make_anthropic(server=fresh_anthropic)
    today = timezone.localdate()
    now = timezone.make_aware(dt.datetime.combine(today, dt.time(12, 0)))

    def checks(at, number, failed, model=""):
        CheckResult.objects.bulk_create([
            CheckResult(checked_at=at, run_id=f"r{i}", provider_name="anthropic", provider_kind="anthropic",
                        model=model, ok=i >= failed, check_kind="count_tokens") for i in range(number)])

    checks(now - dt.timedelta(hours=1), 10, 1)  # today
    checks(now - dt.timedelta(hours=20), 10, 4)  # yesterday 16:00: in the rolling 24 hours
    checks(now - dt.timedelta(hours=30), 10, 10)  # yesterday 06:00: outside them, in yesterday's bar
    checks(now - dt.timedelta(days=10), 20, 0)  # in 30 d only
    checks(now - dt.timedelta(days=40), 50, 50)  # older than the bars: in no figure
    checks(now - dt.timedelta(hours=2), 4, 0, model="haiku")

    [provider] = providers_status(now=now)
    day_24h, week, month = provider.target.windows
    assert (day_24h.checks, day_24h.failed) == (20, 5) and day_24h.uptime == pytest.approx(75.0)
    assert (week.checks, week.failed, week.days_with_data) == (30, 15, 2)
    assert (month.checks, month.failed, month.days_with_data, month.days) == (50, 15, 3, 30)
    assert len(provider.target.days) == 30
    assert (provider.target.days[-2].checks, provider.target.days[-2].failed) == (20, 14)  # yesterday, whole day
    assert "Last 30 days: 1 with every check passed; 2 with failed checks" in provider.target.bar_summary
    [haiku] = [m for m in provider.models if m.model == "haiku"]
    assert [w.uptime for w in haiku.windows] == [100.0, 100.0, 100.0] and haiku.windows[1].partial
