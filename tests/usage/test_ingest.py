"""The optional write-behind buffer: same rows as direct inserts, written in one go, fork-safe, bounded,
and a bad row never takes the others with it (bisection and the dead-letter table)."""
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection

from usage import ingest, services
from usage.models import UsageDeadLetter, UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def buffered(settings, monkeypatch):
    settings.USAGE_WRITE_BUFFER = True
    settings.USAGE_QUEUE_URL = None  # the in-process buffer (tests/usage/test_queue.py covers Redis)
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
    def broken(columns, table, rows):
        raise OperationalError("database unreachable")

    monkeypatch.setattr(ingest, "_write_batch", broken)
    for _ in range(7):
        record()
    with pytest.raises(OperationalError):
        buffered.flush()
    assert buffered.pending() == 5  # the oldest beyond max_pending were dropped, with an error logged
    monkeypatch.undo()


def test_without_the_setting_every_call_is_saved_at_once(record):
    row = record()
    assert row.pk is not None and UsageRecord.objects.filter(pk=row.pk).exists()


def _bad_values(record, buffered, **bad):
    """A row exactly as record_usage builds it, with `bad` values put in after sanitizing."""
    record()
    good = dict(zip(buffered.columns, buffered._rows.pop(), strict=True))
    return {**good, **bad}


BAD_VALUES = [pytest.param({"gateway_key": "key-\ud800"}, id="lone-surrogate")]
if connection.vendor == "postgresql":  # SQLite stores NUL and over-long text as they are
    BAD_VALUES += [pytest.param({"gateway_key": "key\x00nul"}, id="nul-byte"),
                   pytest.param({"agent": "a" * 500}, id="over-long")]


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_one_refused_row_in_300_loses_no_other(buffered, record, bad):
    buffered.max_pending = 100_000
    for index in range(300):
        if index == 150:
            buffered.add(_bad_values(record, buffered, **bad))
        else:
            record(gateway_key=f"key-{index}")
    assert buffered.flush() == 299
    assert UsageRecord.objects.count() == 299 and buffered.pending() == 0
    letter = UsageDeadLetter.objects.get()
    payload = json.loads(letter.payload)
    assert {name: payload[name] for name in bad} == bad and payload["model_id"] == "claude-sonnet-4-5-20250929"
    assert letter.error


def test_bad_values_are_cleaned_at_the_sink_and_every_row_is_kept(buffered, record):
    buffered.max_pending = 100_000
    for index in range(298):
        record(gateway_key=f"key-{index}")
    record(gateway_key="key\x00-with-nul\ud800", request_id="r\r\n1")
    record(agent="a" * 500, latency_ms=float("nan"), ttft_ms=float("inf"))
    assert buffered.flush() == 300
    assert UsageRecord.objects.count() == 300 and not UsageDeadLetter.objects.exists()
    cleaned = UsageRecord.objects.get(gateway_key="key-with-nul")
    assert cleaned.request_id == "r1"
    long_one = UsageRecord.objects.get(agent__startswith="aaa")
    assert len(long_one.agent) == 128 and long_one.latency_ms is None and long_one.ttft_ms is None


def test_a_lost_connection_mid_bisection_keeps_exactly_the_unwritten_rows(buffered, record, monkeypatch):
    buffered.max_pending = 100_000
    for index in range(8):
        record(gateway_key=f"key-{index}")
    real = ingest._write_batch
    calls = []

    def flaky(columns, table, rows):
        calls.append(len(rows))
        if len(calls) == 1:
            raise ValueError("a bad row somewhere")  # split in two halves
        if len(calls) == 3:
            raise OperationalError("connection lost")  # the second half
        return real(columns, table, rows)

    monkeypatch.setattr(ingest, "_write_batch", flaky)
    with pytest.raises(OperationalError):
        buffered.flush()
    assert UsageRecord.objects.count() == 4 and buffered.pending() == 4
    monkeypatch.setattr(ingest, "_write_batch", real)
    assert buffered.flush() == 4
    assert sorted(UsageRecord.objects.values_list("gateway_key", flat=True)) == [f"key-{n}" for n in range(8)]


def test_a_direct_insert_refused_by_the_database_goes_to_the_dead_letters(record, monkeypatch):
    monkeypatch.setattr(services, "sanitize_row", lambda values: values)  # as if a value slipped through
    row = record(gateway_key="key-\ud800")
    assert row.pk is None and not UsageRecord.objects.exists()
    assert json.loads(UsageDeadLetter.objects.get().payload)["gateway_key"] == "key-\ud800"


def test_replay_writes_dead_letters_back_and_keeps_what_still_fails(buffered, record, capsys):
    buffered.add(_bad_values(record, buffered, gateway_key="key-\ud800"))
    buffered.flush()
    UsageDeadLetter.objects.create(payload="{not json", error="corrupt")
    call_command("replay_usage_dead_letters")
    assert "Replayed 1 usage row(s); 1 still refused" in capsys.readouterr().out
    assert list(UsageRecord.objects.values_list("gateway_key", flat=True)) == ["key-"]
    assert UsageDeadLetter.objects.get().payload == "{not json"


def test_record_call_takes_a_plain_dict_or_object(record):
    stored = services.record_call({"provider_name": "anthropic-main", "provider_kind": "anthropic",
                                   "model_id": "claude-sonnet-4-5-20250929", "logical_model": "sonnet",
                                   "input_tokens": 1000, "output_tokens": 500, "gateway_key": "k\x00ey"})
    assert stored.cost_total == Decimal("0.010500") and stored.gateway_key == "key"

    class Call:
        provider_name, provider_kind, model_id = "bedrock-us", "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
        usage = {"input_tokens": 10}
        status = "ok"

    assert services.record_call(Call()).input_tokens == 10
    assert UsageRecord.objects.count() == 2
