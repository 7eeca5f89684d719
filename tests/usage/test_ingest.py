"""The optional write-behind buffer: same rows as direct inserts, written in one go, fork-safe, bounded."""
from decimal import Decimal

import pytest

from usage import ingest, services
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def buffered(settings, monkeypatch):
    settings.USAGE_WRITE_BUFFER = True
    buffer = ingest.UsageBuffer(services._COLUMNS, services._TABLE, autostart=False, max_pending=5)
    monkeypatch.setattr(ingest, "_buffer", buffer)
    return buffer


def test_buffered_calls_are_written_on_flush(buffered, record):
    row = record({"input_tokens": 1000, "output_tokens": 500}, gateway_key="key-a")
    assert row.pk is None and row.cost_total == Decimal("0.010500")
    record(model_id="claude-mystery-1")
    assert not UsageRecord.objects.exists() and buffered.pending() == 2
    assert ingest.flush_usage_buffer() == 2
    stored = UsageRecord.objects.order_by("id")
    assert [(r.gateway_key, r.cost_total, r.base_model) for r in stored] == [
        ("key-a", Decimal("0.010500"), "claude-sonnet-4-5"), ("", None, "claude-mystery-1")]
    assert stored[0].occurred_at == row.occurred_at and stored[0].price_id == row.price_id
    assert ingest.flush_usage_buffer() == 0


def test_a_forked_child_does_not_write_its_parents_rows(buffered, record, monkeypatch):
    record()
    monkeypatch.setattr(ingest.os, "getpid", lambda: -1)  # as seen from a forked child
    record(gateway_key="child")
    ingest.flush_usage_buffer()
    assert list(UsageRecord.objects.values_list("gateway_key", flat=True)) == ["child"]


def test_a_failed_write_keeps_the_rows_within_a_bound(buffered, record, monkeypatch):
    def broken(rows):
        raise OSError("database unreachable")

    monkeypatch.setattr(buffered, "_write", broken)
    for _ in range(7):
        record()
    with pytest.raises(OSError):
        buffered.flush()
    assert buffered.pending() == 5  # the oldest beyond max_pending were dropped, with an error logged
    monkeypatch.undo()


def test_without_the_setting_every_call_is_saved_at_once(record):
    row = record()
    assert row.pk is not None and UsageRecord.objects.filter(pk=row.pk).exists()
