"""The CSV export holds exactly the filtered rows, streamed and bounded."""
import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from providers.clients.usage import Usage
from usage.models import UsageRecord
from usage.views import dashboard as dashboard_views

from .conftest import NOW

pytestmark = pytest.mark.django_db


def read_csv(response):
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text))), text


@pytest.fixture
def rows(record):
    made = []
    for day in range(5):
        moment = NOW - datetime.timedelta(days=day)
        made.append(record(occurred_at=moment, gateway_key="key-a", provider_name="anthropic-main"))
        made.append(record(occurred_at=moment, gateway_key="key-b", provider_name="bedrock-us",
                           provider_kind="bedrock", model_id="us.anthropic.claude-haiku-4-5-20251001-v1:0"))
        made.append(record(occurred_at=moment, gateway_key="=HYPERLINK(1)", model_id="claude-mystery-1",
                           agent="nightly"))
    return made


def test_export_matches_the_filtered_rows(member_client, rows):
    query = {"start": "2026-11-17", "end": "2026-11-20", "provider": "bedrock-us", "key": "key-b"}
    response = member_client.get(reverse("usage:export"), query)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="usage-20261117-20261120.csv"' in response["Content-Disposition"]
    exported, _ = read_csv(response)
    expected = UsageRecord.objects.filter(provider_name="bedrock-us", gateway_key="key-b",
                                          occurred_at__date__gte="2026-11-17", occurred_at__date__lte="2026-11-20")
    assert [int(row["id"]) for row in exported] == list(expected.order_by("occurred_at", "id").values_list("id", flat=True))
    assert len(exported) == 4
    first = UsageRecord.objects.get(id=exported[0]["id"])
    assert exported[0]["cost_total"] == str(first.cost_total)
    assert exported[0]["model_id"] == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert exported[0]["scope"] == "geo"


def test_export_keeps_unpriced_rows_blank_and_neutralizes_formulas(member_client, rows):
    exported, _ = read_csv(member_client.get(reverse("usage:export"), {"start": "2026-11-20", "end": "2026-11-20",
                                                                      "agent": "nightly"}))
    assert len(exported) == 1
    assert exported[0]["cost_total"] == ""  # unpriced is blank, never 0
    assert exported[0]["gateway_key"] == "'=HYPERLINK(1)"


def test_export_says_how_each_request_was_adapted_to_its_model(member_client, record):
    record(occurred_at=NOW, model_id="claude-sonnet-5-5", agent="adapted",
           adaptations=("dropped temperature=0.2 (Claude Sonnet 5.5 takes only the default sampling)",
                        "dropped top_k=40 (Claude Sonnet 5.5 takes only the default sampling)"))
    record(occurred_at=NOW, agent="as-sent")
    exported, _ = read_csv(member_client.get(reverse("usage:export"), {"start": "2026-11-20", "end": "2026-11-20"}))
    by_agent = {row["agent"]: row["adaptations"] for row in exported}
    assert by_agent == {"adapted": "dropped temperature=0.2 (Claude Sonnet 5.5 takes only the default sampling); "
                                   "dropped top_k=40 (Claude Sonnet 5.5 takes only the default sampling)",
                        "as-sent": ""}


def test_export_is_bounded(member_client, rows, monkeypatch):
    monkeypatch.setattr(dashboard_views, "EXPORT_MAX_ROWS", 4)
    exported, text = read_csv(member_client.get(reverse("usage:export"), {"start": "2026-11-10", "end": "2026-11-20"}))
    assert text.rstrip().endswith("narrow the dates or filters")
    assert len([row for row in exported if row["id"].isdigit()]) == 4


def test_bad_export_filters_are_a_clear_400(member_client):
    response = member_client.get(reverse("usage:export"), {"start": "2026-11-20", "end": "2026-11-01"})
    assert response.status_code == 400
    assert b"start date must be on or before" in response.content


def test_export_link_carries_the_filters(member_client, rows):
    html = member_client.get(reverse("usage:dashboard"), {"start": "2026-11-17", "end": "2026-11-20",
                                                          "key": "key-b"}).content.decode()
    assert 'href="/usage/export.csv?start=2026-11-17&amp;end=2026-11-20&amp;key=key-b"' in html


def test_export_carries_what_each_response_cache_hit_saved(member_client, record):
    record(occurred_at=NOW, agent="hit", status="cache_hit", usage=Usage(), response_cache_saving=Decimal("0.0105"))
    record(occurred_at=NOW, agent="paid")
    exported, _ = read_csv(member_client.get(reverse("usage:export"), {"start": "2026-11-20", "end": "2026-11-20"}))
    by_agent = {row["agent"]: (row["cost_total"], row["response_cache_saving"]) for row in exported}
    assert by_agent == {"hit": ("0.000000", "0.010500"), "paid": ("0.010500", "")}
