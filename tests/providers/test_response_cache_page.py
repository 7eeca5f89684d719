"""The response cache page (staff changes, confirmation before a flush), export then import round
trip through the page and the management commands, and bad import files refused by line."""
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from providers import response_cache
from providers.client import Anthropic
from providers.models import ResponseCacheEntry
from tests.fake_providers import anthropic_settings, model_calls

pytestmark = pytest.mark.django_db
USE = {"x-moments-cache": "use"}
PAGE = reverse("providers:response-cache")
FLUSH = reverse("providers:response-cache-flush")


@pytest.fixture
def cached(anthropic_fake):
    """Two stored answers (haiku for agent faq, sonnet) and one hit."""
    client = Anthropic(chain=[anthropic_settings(anthropic_fake)], agent="faq")
    for text in ("echo: first", "echo: first", "echo: second"):
        client.messages.create(model="haiku", max_tokens=32, extra_headers=USE,
                               messages=[{"role": "user", "content": text}])
    Anthropic(chain=[anthropic_settings(anthropic_fake)]).messages.create(
        model="sonnet", max_tokens=32, extra_headers=USE, messages=[{"role": "user", "content": "echo: third"}])
    return client


def replay(anthropic_fake, text="echo: first", model="haiku", agent="faq"):
    before = len(model_calls(anthropic_fake))
    Anthropic(chain=[anthropic_settings(anthropic_fake)], agent=agent).messages.create(
        model=model, max_tokens=32, extra_headers=USE, messages=[{"role": "user", "content": text}])
    return len(model_calls(anthropic_fake)) - before  # 0: served from the cache


def test_the_page_shows_hits_rate_savings_and_entries(cached, member_client):
    response = member_client.get(PAGE)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="cache-hits">1<' in html and 'id="cache-misses">3<' in html and "25.0 %" in html
    assert 'id="cache-entries">3 (' in html and 'data-plotly-figure="cache-chart"' in html
    assert 'id="cache-chart" type="application/json"' in html  # data, not an inline script
    assert "Flush…" not in html and "cache-files" not in html  # members see, staff change
    top = list(response.context["page"].object_list)
    assert [row.hits for row in top] == [1, 0, 0] and top[0].model == "haiku"  # the first entry, hit once


def test_top_entries_are_ranked_by_hits_and_newest_first_on_request(cached, member_client, anthropic_fake):
    """Each process's hit counts reach the index rows when its counters flush (the page flushes its own)."""
    for _ in range(3):
        assert replay(anthropic_fake, "echo: third", "sonnet", None) == 0
    assert replay(anthropic_fake) == 0
    response = member_client.get(PAGE)
    ranked = [(row.model, row.hits) for row in response.context["page"].object_list]
    assert ranked == [("sonnet", 3), ("haiku", 2), ("haiku", 0)]
    html = response.content.decode()
    assert "<h2>Top entries</h2>" in html and "Newest first</a>" in html
    newest = member_client.get(PAGE, {"order": "newest"})
    assert [row.model for row in newest.context["page"].object_list] == ["sonnet", "haiku", "haiku"]
    assert "<h2>Newest entries</h2>" in newest.content.decode()
    by_model = member_client.get(PAGE, {"model": "haiku"}).context["page"].object_list
    assert [(row.model, row.hits) for row in by_model] == [("haiku", 2), ("haiku", 0)]


def test_members_cannot_flush_or_export(cached, member_client):
    assert member_client.post(FLUSH, {"scope": "all"}).status_code == 403
    assert member_client.get(reverse("providers:response-cache-export")).status_code == 403
    assert ResponseCacheEntry.objects.count() == 3


def test_login_is_required(client):
    assert client.get(PAGE).status_code == 302


def test_a_flush_asks_for_confirmation_first(cached, staff_client, anthropic_fake):
    page = staff_client.get(FLUSH, {"scope": "model", "value": "haiku"})
    assert page.status_code == 200 and "2 listed" in page.content.decode()
    assert ResponseCacheEntry.objects.count() == 3 and replay(anthropic_fake) == 0
    done = staff_client.post(FLUSH, {"scope": "model", "value": "haiku"}, follow=True)
    assert "Flushed 2 entries" in done.content.decode()
    assert replay(anthropic_fake) == 1 and replay(anthropic_fake, "echo: third", "sonnet", None) == 0


@pytest.mark.parametrize("scope, value, left", [("all", "", 0), ("agent", "faq", 1)])
def test_flush_all_and_by_agent(cached, staff_client, scope, value, left):
    staff_client.post(FLUSH, {"scope": scope, "value": value})
    assert ResponseCacheEntry.objects.count() == left


def test_flush_one_entry(cached, staff_client, anthropic_fake):
    entry = ResponseCacheEntry.objects.get(model="sonnet")
    staff_client.post(FLUSH, {"scope": "entry", "value": str(entry.pk)})
    assert replay(anthropic_fake, "echo: third", "sonnet", None) == 1 and replay(anthropic_fake) == 0


@pytest.mark.parametrize("data", [{"scope": "model"}, {"scope": "nonsense"}, {"scope": "entry", "value": "x"}])
def test_a_bad_flush_request_is_an_error_message_not_a_500(cached, staff_client, data):
    response = staff_client.post(FLUSH, data, follow=True)
    assert response.status_code == 200 and "Choose what to flush" in response.content.decode()
    assert ResponseCacheEntry.objects.count() == 3


def test_export_then_import_round_trip_through_the_page(cached, staff_client, anthropic_fake):
    exported = b"".join(staff_client.get(reverse("providers:response-cache-export")).streaming_content)
    assert len(exported.splitlines()) == 3
    response_cache.invalidate_all()
    assert replay(anthropic_fake) == 1
    response_cache.invalidate_all()
    upload = SimpleUploadedFile("cache.jsonl", exported)
    done = staff_client.post(reverse("providers:response-cache-import"), {"file": upload}, follow=True)
    assert "Imported 3 response cache entries" in done.content.decode()
    assert replay(anthropic_fake) == 0 and replay(anthropic_fake, "echo: second") == 0


def test_export_then_import_round_trip_through_the_commands(cached, anthropic_fake, tmp_path):
    path = tmp_path / "cache.jsonl"
    call_command("cache_export", str(path), stderr=io.StringIO())
    response_cache.invalidate_all()
    out = io.StringIO()
    call_command("cache_import", str(path), stdout=out)
    assert "Imported 3" in out.getvalue() and replay(anthropic_fake, "echo: third", "sonnet", None) == 0


def good_line(**changes):
    entry = {"digest": "a" * 64, "model": "haiku", "agent": "", "usage": {"input_tokens": 3, "output_tokens": 2},
             "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
                         "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
                         "usage": {"input_tokens": 3, "output_tokens": 2}}, "cost_usd": "0.000013"}
    return json.dumps({**entry, **changes})


@pytest.mark.parametrize("bad, expected", [
    ("{not json", "Line 2: not valid JSON"),
    ("[1, 2]", "Line 2: each line must be a JSON object"),
    (good_line(digest="abc"), "Line 2: digest must be"),
    (good_line(message={"type": "message", "content": []}), "Line 2: message must be a complete"),
    (good_line(usage={"input_tokens": -1}), "Line 2: usage must hold"),
    (good_line(cost_usd="free"), "Line 2: cost_usd must be"),
    # Accepted once, these broke the page and cache_export (the index row's decimal could not be read back)
    (good_line(cost_usd="1e999999"), "Line 2: cost_usd must be"),
    (good_line(cost_usd="Infinity"), "Line 2: cost_usd must be"),
    (good_line(cost_usd="NaN"), "Line 2: cost_usd must be"),
    (good_line(cost_usd=True), "Line 2: cost_usd must be"),
    (good_line(usage={"input_tokens": 10 ** 30}), "Line 2: usage must hold"),
    (good_line(model=""), "Line 2: model must be text"),
    (good_line(message={"type": "message", "content": [{"type": "text"}], "stop_reason": "end_turn"}),
     "Line 2: message."),
])
def test_a_bad_import_file_is_refused_by_line_and_changes_nothing(staff_client, tmp_path, bad, expected):
    content = (good_line() + "\n" + bad + "\n").encode()
    response = staff_client.post(reverse("providers:response-cache-import"),
                                 {"file": SimpleUploadedFile("bad.jsonl", content)})
    assert response.status_code == 400 and expected in response.content.decode()
    assert "Nothing was imported" in response.content.decode()
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=expected):
        call_command("cache_import", str(path))
    assert ResponseCacheEntry.objects.count() == 0


def test_an_entry_too_large_to_store_is_refused_by_line_not_skipped(staff_client, tmp_path, settings):
    settings.RESPONSE_CACHE_MAX_ENTRY_BYTES = 2048
    large = json.loads(good_line(digest="b" * 64))
    large["message"]["content"] = [{"type": "text", "text": "x" * 4096}]
    path = tmp_path / "large.jsonl"
    path.write_text(good_line() + "\n" + json.dumps(large) + "\n")
    with pytest.raises(CommandError, match=r"Line 2: the entry is [\d,]+ bytes, more than the 2,048 bytes"):
        call_command("cache_import", str(path))
    assert ResponseCacheEntry.objects.count() == 0
