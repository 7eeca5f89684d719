"""Price edits apply from their date; past costs change only when staff recompute a period."""
import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from usage.models import ModelPrice, ProfileMapping, RecomputeJob, UsageDaily, UsageRecord
from usage.rollups import update_rollups

from .conftest import NOW

pytestmark = pytest.mark.django_db


def new_price(effective_from, input_price):
    base = ModelPrice.objects.get(provider_kind="anthropic", base_model="claude-sonnet-4-5", scope="standard")
    base.pk = None
    base.effective_from, base.input = effective_from, Decimal(input_price)
    base.save()
    return base


def test_editing_a_price_does_not_rewrite_past_costs_until_recompute(record, staff_client, eager_celery,
                                                                     django_capture_on_commit_callbacks):
    old = record({"input_tokens": 100_000}, occurred_at=NOW - datetime.timedelta(days=3))
    outside = record({"input_tokens": 100_000}, occurred_at=NOW - datetime.timedelta(days=30))
    update_rollups(assume_settled=True)
    new_price(datetime.date(2026, 11, 1), "2")  # backdated correction
    old.refresh_from_db()
    assert old.cost_total == Decimal("0.300000")  # untouched by the edit
    assert record({"input_tokens": 100_000}).cost_total == Decimal("0.200000")  # new calls use it

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("usage:recompute"), {"start": "2026-11-01", "end": "2026-11-30"})
    assert response.status_code == 302
    job = RecomputeJob.objects.get()
    assert (job.status, job.records, job.changed) == ("done", 2, 1)
    old.refresh_from_db()
    outside.refresh_from_db()
    assert old.cost_total == Decimal("0.200000")
    assert outside.cost_total == Decimal("0.300000")  # before the period: unchanged
    update_rollups(assume_settled=True)
    day_total = UsageDaily.objects.filter(bucket__date=old.occurred_at.date()).values_list("cost_total", flat=True)
    assert list(day_total) == [Decimal("0.200000")]
    raw = sum(UsageRecord.objects.values_list("cost_total", flat=True))
    assert sum(UsageDaily.objects.values_list("cost_total", flat=True)) == raw


def test_recompute_prices_records_that_were_unpriced(record):
    from usage.recompute import recompute_period

    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/p1"
    row = record({"input_tokens": 1000}, provider_kind="bedrock", model_id=arn)
    assert row.cost_total is None
    ProfileMapping.objects.create(arn=arn, model_id="global.anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert recompute_period(NOW.date(), NOW.date()) == (1, 1)
    row.refresh_from_db()
    assert (row.base_model, row.scope, row.cost_total) == ("claude-sonnet-4-5", "global", Decimal("0.003000"))


def test_recompute_status_stops_polling_when_done(staff_client):
    job = RecomputeJob.objects.create(start=NOW.date(), end=NOW.date(), status="running")
    url = reverse("usage:recompute-status", args=[job.pk])
    running = staff_client.get(url, HTTP_HX_REQUEST="true")
    assert running.status_code == 200 and 'hx-trigger="every 2s"' in running.content.decode()
    job.status = "done"
    job.save()
    done = staff_client.get(url, HTTP_HX_REQUEST="true")
    assert done.status_code == 286 and "every 2s" not in done.content.decode()
