"""The record_usage contract, the demo seeding command and the beat schedule."""
import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from providers.clients.errors import ErrorKind
from providers.clients.usage import Usage
from usage import services
from usage.models import Budget, ProviderDaily, Recommendation, RollupState, UsageDaily, UsageRecord

from .conftest import NOW

pytestmark = pytest.mark.django_db


def test_record_usage_stores_every_field(record):
    row = record({"input_tokens": 10, "output_tokens": 5, "cache_write_1h_tokens": 3, "cache_read_tokens": 2},
                 status=ErrorKind.RATE_LIMITED, purpose="health", latency_ms=12.5, ttft_ms=3.0, gateway_key="k",
                 agent="a", batch=True, stream=True, has_tools=True, region="us-east-1", request_id="req_1",
                 prompt_prefix_hash="h" * 200, is_demo=True, logical_model="sonnet")
    row = UsageRecord.objects.get(pk=row.pk)
    assert (row.status, row.purpose, row.gateway_key, row.agent, row.region) == (
        "rate_limited", "health", "k", "a", "us-east-1")
    assert (row.batch, row.stream, row.has_tools, row.is_demo) == (True, True, True, True)
    assert (row.input_tokens, row.output_tokens, row.cache_write_1h_tokens, row.cache_read_tokens) == (10, 5, 3, 2)
    assert len(row.prompt_prefix_hash) == 128  # cut to the column, never a database error
    assert (row.base_model, row.scope, row.logical_model) == ("claude-sonnet-4-5", "standard", "sonnet")


def test_a_response_cache_saving_is_kept_on_cache_hits_only_and_within_its_column(record):
    hit = record(status="cache_hit", usage=Usage(), response_cache_saving=Decimal("0.0105"))
    unpriced_hit = record(status="cache_hit", usage=Usage())
    too_large = record(status="cache_hit", usage=Usage(), response_cache_saving=Decimal("1e15"))
    not_a_hit = record(response_cache_saving=Decimal("0.0105"))
    stored = {row.pk: row.response_cache_saving for row in UsageRecord.objects.all()}
    assert stored == {hit.pk: Decimal("0.010500"), unpriced_hit.pk: None, too_large.pk: None, not_a_hit.pk: None}
    assert UsageRecord.objects.get(pk=hit.pk).cost_total == 0


def test_record_usage_is_one_insert(record):
    record()  # warm the price book
    with CaptureQueriesContext(connection) as queries:
        record()
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    # Tests run inside a transaction, so the insert sits in a savepoint (see services._insert).
    assert [name for name in statements if name not in ("SAVEPOINT", "RELEASE")] == ["INSERT"]
    assert 'INSERT INTO "usage_usagerecord"' in queries.captured_queries[-2]["sql"]


def test_a_failed_insert_leaves_the_callers_transaction_usable(record, monkeypatch):
    from django.db import DatabaseError

    from usage import services as module

    def broken(db, values):
        with db.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_for_usage")

    monkeypatch.setattr(module, "_insert_on", broken)
    with pytest.raises(DatabaseError):
        record()
    monkeypatch.undo()
    assert record().pk  # the surrounding (test) transaction still works


def test_naive_occurred_at_is_utc(record):
    row = record(occurred_at=datetime.datetime(2026, 11, 20, 23, 30))
    assert row.occurred_at == datetime.datetime(2026, 11, 20, 23, 30, tzinfo=datetime.UTC)


def test_bad_purpose_is_rejected(record):
    with pytest.raises(ValueError, match="purpose"):
        record(purpose="fun")


def test_is_key_blocked_costs_no_query_within_its_refresh_window(django_assert_num_queries):
    Budget.objects.create(name="K", scope="key", gateway_key="key-a", amount_usd=1, hard_stop=True,
                          blocked_month=services.month_start())
    with django_assert_num_queries(1):
        assert services.is_key_blocked("key-a")
        assert not services.is_key_blocked("key-b")
        assert services.is_key_blocked("key-a")


def test_seed_demo_usage_and_remove(record):
    real = record(usage=Usage(input_tokens=100))
    RollupState.objects.create(name="usage", last_id=real.id - 1)  # ids below were rolled back by earlier tests
    call_command("seed_demo_usage", records=300, days=10, stdout=open("/dev/null", "w"))
    demo = UsageRecord.objects.filter(is_demo=True)
    assert demo.count() == 300
    assert all(name.endswith("(demo)") for name in demo.values_list("provider_name", flat=True).distinct())
    assert all(key.startswith("demo-") for key in demo.values_list("gateway_key", flat=True).distinct())
    # Demo mode shows all three provider kinds, each costed (no $0 rows for a kind without prices).
    assert set(demo.values_list("provider_kind", flat=True)) == {"anthropic", "bedrock", "aws_platform"}
    assert demo.filter(provider_kind="aws_platform", cost_total__gt=0).exists()
    assert ProviderDaily.objects.filter(is_demo=True).exists()
    assert Recommendation.objects.exists()
    call_command("seed_demo_usage", remove=True, stdout=open("/dev/null", "w"))
    assert list(UsageRecord.objects.values_list("id", flat=True)) == [real.id]
    assert not ProviderDaily.objects.filter(is_demo=True).exists()
    assert not UsageDaily.objects.filter(is_demo=True).exists()


def test_seed_demo_usage_twice_keeps_one_copy():
    call_command("seed_demo_usage", records=50, days=5, stdout=open("/dev/null", "w"))
    out = io.StringIO()
    call_command("seed_demo_usage", records=50, days=5, stdout=out)  # as the demo launcher does on every start
    assert UsageRecord.objects.filter(is_demo=True).count() == 50
    assert "already present (50 records)" in out.getvalue()


def test_seed_demo_usage_rejects_silly_sizes():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_demo_usage", records=0)


def test_beat_schedule_runs_usage_tasks_with_expiry_under_the_interval():
    import usage.tasks  # noqa: F401 (registers the tasks, as autodiscovery does in a worker)
    from moments_admin.celery import app
    from moments_admin.schedule import beat_schedule

    schedule = beat_schedule()
    for name in ("usage-rollups", "usage-budgets", "usage-recommendations"):
        entry = schedule[name]
        assert entry["task"] in app.tasks
        assert 0 < entry["options"]["expires"] < entry["schedule"]


def test_dashboard_tail_shows_rows_not_rolled_up_yet(record, member_client):
    from django.urls import reverse

    record(occurred_at=NOW)
    record(occurred_at=NOW)
    html = member_client.get(reverse("usage:dashboard"), {"start": "2026-11-20", "end": "2026-11-20"}).content
    assert b'data-testid="requests">2<' in html
    assert not UsageDaily.objects.exists()
