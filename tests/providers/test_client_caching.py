"""Automatic prompt caching through the client (the fakes report writes then reads, priced right)
and the response cache (used only when asked; hits, streams, TTL, invalidations)."""
import time
from decimal import Decimal

import anthropic
import pytest
from anthropic.lib.streaming import MessageStream
from django.db.models import Sum
from django.test import override_settings
from django.urls import reverse

from providers import response_cache, response_cache_calls
from providers.call_records import CallContext
from providers.client import Anthropic
from providers.models import ResponseCacheEntry
from providers.sessions import Session
from tests.fake_providers import model_calls
from usage.models import ModelPrice, UsageHourly, UsageRecord
from usage.pricing import forget_price_book
from usage.rollups import update_rollups

pytestmark = pytest.mark.django_db
SONNET_45 = "claude-sonnet-4-6"  # priced in the shipped price table, not retired; 1,024-token minimum
SYSTEM = "You answer questions about the handbook. " + "Handbook paragraph. " * 300  # ~1,500 tokens
UNREACHABLE_CACHE = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                 "LOCATION": "redis://127.0.0.1:1/0"}}
USE = {"x-moments-cache": "use"}
MICRO_DOLLARS = Decimal("0.000002")


@pytest.fixture
def chain(provider):
    _kind, fake, settings = provider
    fake.cache.clear()  # the fakes keep their prompt cache across tests
    return [settings(name="primary")]


def breakpoints(body):
    blocks = list(body.get("tools") or []) + (body["system"] if isinstance(body.get("system"), list) else [])
    for message in body["messages"]:
        if isinstance(message["content"], list):
            blocks += message["content"]
    return sum(1 for block in blocks if block.get("cache_control"))


def million(tokens, rate):
    return (Decimal(tokens) * Decimal(rate) / Decimal(1_000_000)).quantize(Decimal("0.000001"))


# --- Automatic prompt caching ---------------------------------------------------------

def test_automatic_breakpoints_write_then_read_with_costs_right(chain, provider):
    _kind, fake, _settings = provider
    session = Session(Anthropic(chain=chain), model=SONNET_45, system=SYSTEM, max_tokens=32)
    session.send("echo: first")
    session.send("echo: second")
    first, second = UsageRecord.objects.order_by("id")
    assert all(0 < breakpoints(request.json) <= 4 for request in model_calls(fake))
    assert first.cache_write_5m_tokens > 1000 and first.cache_read_tokens == 0
    assert second.cache_read_tokens >= first.cache_write_5m_tokens  # the whole first prompt is read back
    price = second.price
    # Parts are rounded to the micro-dollar; the largest absorbs the rounding of the total.
    assert abs(second.cost_cache_read - million(second.cache_read_tokens, price.cache_read)) <= MICRO_DOLLARS
    assert abs(first.cost_cache_write - million(first.cache_write_5m_tokens, price.cache_write_5m)) <= MICRO_DOLLARS
    assert second.cache_savings > 0 > first.cache_savings  # a write costs more than input; a read saves
    assert Decimal(price.cache_read) == Decimal(price.input) / 10  # reads at a tenth of the input price
    assert session.cost_usd == first.cost_total + second.cost_total


def test_one_hour_ttl_of_the_provider(provider):
    _kind, fake, make_settings = provider
    fake.cache.clear()
    chain = [make_settings(name="primary", prompt_caching_ttl="1h")]
    Anthropic(chain=chain).messages.create(model=SONNET_45, max_tokens=8, system=SYSTEM,
                                           messages=[{"role": "user", "content": "hi"}])
    record = UsageRecord.objects.get()
    assert record.cache_write_1h_tokens > 1000 and record.cache_write_5m_tokens == 0


@pytest.mark.parametrize("how", ["client", "header", "provider"])
def test_prompt_caching_can_be_turned_off(chain, provider, how):
    _kind, fake, make_settings = provider
    client, headers = Anthropic(chain=chain), {}
    if how == "client":
        client = Anthropic(chain=chain, prompt_caching=False)
    elif how == "header":
        headers = {"x-moments-prompt-caching": "off"}
    else:
        client = Anthropic(chain=[make_settings(name="primary", prompt_caching=False)])
    client.messages.create(model=SONNET_45, max_tokens=8, system=SYSTEM, extra_headers=headers,
                           messages=[{"role": "user", "content": "hi"}])
    [request] = model_calls(fake)
    assert breakpoints(request.json) == 0 and "x-moments-prompt-caching" not in request.headers
    assert UsageRecord.objects.get().cache_write_5m_tokens == 0


def test_the_callers_own_breakpoint_is_left_alone(chain, provider):
    _kind, fake, _settings = provider
    system = [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]
    Anthropic(chain=chain).messages.create(model=SONNET_45, max_tokens=8, system=system,
                                           messages=[{"role": "user", "content": "x " * 3000}])
    [request] = model_calls(fake)
    assert breakpoints(request.json) == 1


def test_a_short_prompt_is_sent_unmarked(chain, provider):
    _kind, fake, _settings = provider
    Anthropic(chain=chain).messages.create(model=SONNET_45, max_tokens=8, system="Short.",
                                           messages=[{"role": "user", "content": "hi"}])
    assert breakpoints(model_calls(fake)[0].json) == 0


# --- Response cache -------------------------------------------------------------------

def ask(client, text="echo: cached answer", **options):
    return client.messages.create(model="haiku", max_tokens=32, messages=[{"role": "user", "content": text}],
                                  **options)


def test_requests_that_did_not_ask_are_never_served_from_the_cache(chain, provider):
    _kind, fake, _settings = provider
    client = Anthropic(chain=chain)
    ask(client, extra_headers=USE)
    ask(client)
    ask(client, extra_headers={"x-moments-cache": "skip"})
    assert len(model_calls(fake)) == 3
    assert "x-moments-cache" not in model_calls(fake)[0].headers


def test_a_hit_is_served_without_a_call_and_recorded_at_zero_cost(chain, provider):
    _kind, fake, _settings = provider
    client = Anthropic(chain=chain, agent="faq")
    first = ask(client, extra_headers=USE)
    second = ask(client, extra_headers=USE)
    assert len(model_calls(fake)) == 1
    assert second.model_dump() == first.model_dump() and type(second) is anthropic.types.Message
    hit = UsageRecord.objects.get(status="cache_hit")
    assert (hit.input_tokens, hit.output_tokens, hit.cost_total, hit.agent) == (0, 0, Decimal(0), "faq")
    totals = {stat: sum(row[stat] for _hour, row in response_cache.hourly_stats(2)) for stat in response_cache.STATS}
    assert totals["hits"] == 1 and totals["misses"] == 1 and totals["stores"] == 1
    paid = UsageRecord.objects.get(status="ok")
    assert totals["saved_output_tokens"] == paid.output_tokens
    assert totals["saved_microusd"] == int(paid.cost_total * 1_000_000)


def test_a_hit_records_what_it_saved_the_cost_of_the_answer_it_replays(chain, provider):
    _kind, fake, _settings = provider
    client = Anthropic(chain=chain)
    for _ in range(3):
        ask(client, extra_headers=USE)
    assert len(model_calls(fake)) == 1
    paid = UsageRecord.objects.get(status="ok")
    hits = UsageRecord.objects.filter(status="cache_hit")
    assert paid.cost_total > 0 and paid.response_cache_saving is None
    assert [(hit.cost_total, hit.response_cache_saving) for hit in hits] == [(0, paid.cost_total)] * 2
    update_rollups(assume_settled=True)
    assert UsageHourly.objects.aggregate(saved=Sum("response_cache_saving"))["saved"] == 2 * paid.cost_total


@pytest.fixture
def no_prices():
    """Every model unpriced for this test (the price table comes back with the rolled-back transaction)."""
    ModelPrice.objects.all().delete()
    forget_price_book()
    yield
    forget_price_book()


def test_a_hit_of_an_unpriced_answer_records_no_saving(chain, provider, no_prices):
    client = Anthropic(chain=chain)
    ask(client, extra_headers=USE)
    ask(client, extra_headers=USE)
    assert UsageRecord.objects.get(status="ok").cost_total is None
    assert UsageRecord.objects.get(status="cache_hit").response_cache_saving is None


@pytest.mark.parametrize(("stored", "saving"), [
    ({"cost_usd": "0.010500"}, Decimal("0.010500")), ({"cost_usd": "0"}, Decimal(0)), ({}, None),
    ({"cost_usd": None}, None), ({"cost_usd": "NaN"}, None), ({"cost_usd": "Infinity"}, None),
    ({"cost_usd": "-0.5"}, None), ({"cost_usd": "a lot"}, None), ({"cost_usd": True}, None)])
def test_a_hit_saves_its_entrys_cost_only_when_that_is_an_amount(stored, saving):
    entry = {"message": {"id": "msg_stored"}, "model_id": "claude-haiku-4-5", **stored}
    hit = response_cache_calls.cache_hit(entry, {"model": "haiku"}, CallContext(purpose="client"))
    assert hit.record.response_cache_saving == saving


def test_another_question_is_a_miss(chain, provider):
    _kind, fake, _settings = provider
    client = Anthropic(chain=chain)
    ask(client, "echo: one", extra_headers=USE)
    assert ask(client, "echo: two", extra_headers=USE).content[0].text == "two"
    assert len(model_calls(fake)) == 2


def test_cache_control_markers_do_not_change_the_key():
    plain = {"model": "haiku", "max_tokens": 8, "messages": [{"role": "user", "content": [{"type": "text",
                                                                                            "text": "x"}]}]}
    marked = {**plain, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "x", "cache_control": {"type": "ephemeral"}}]}], "metadata": {"user_id": "u"}}
    assert response_cache.request_digest(plain) == response_cache.request_digest(marked)
    assert response_cache.request_digest(plain) != response_cache.request_digest({**plain, "max_tokens": 9})
    beta = {**plain, "extra_headers": {"anthropic-beta": "some-beta-2026"}}
    assert response_cache.request_digest(beta) != response_cache.request_digest(plain)
    assert response_cache.request_digest({**plain, "extra_headers": {"x-trace": "1"}}) == \
        response_cache.request_digest(plain)


def test_a_streamed_request_is_served_from_the_cache_as_a_well_formed_stream(chain, provider):
    _kind, fake, _settings = provider
    client = Anthropic(chain=chain)
    with client.messages.stream(model="haiku", max_tokens=32, extra_headers=USE,
                                messages=[{"role": "user", "content": "echo: streamed then cached"}]) as stream:
        stored_text = stream.get_final_text()
    raw = client.messages.create(model="haiku", max_tokens=32, stream=True, extra_headers=USE,
                                 messages=[{"role": "user", "content": "echo: streamed then cached"}])
    types = [event.type for event in MessageStream(raw, output_format=anthropic.NOT_GIVEN)]
    assert len(model_calls(fake)) == 1
    assert types[0] == "message_start" and types[-1] == "message_stop" and "text" in types
    with client.messages.stream(model="haiku", max_tokens=32, extra_headers=USE,
                                messages=[{"role": "user", "content": "echo: streamed then cached"}]) as stream:
        assert stream.get_final_text() == stored_text == "streamed then cached"
        assert stream.get_final_message().stop_reason == "end_turn"
    assert ask(client, "echo: streamed then cached", extra_headers=USE).content[0].text == stored_text
    assert len(model_calls(fake)) == 1


def test_refresh_calls_the_provider_and_replaces_the_entry(chain, provider):
    _kind, fake, _settings = provider
    client = Anthropic(chain=chain)
    ask(client, extra_headers=USE)
    ask(client, extra_headers={"x-moments-cache": "refresh"})
    ask(client, extra_headers=USE)
    assert len(model_calls(fake)) == 2 and ResponseCacheEntry.objects.count() == 1


def test_entries_expire_after_their_ttl(chain, provider, settings):
    _kind, fake, _settings = provider
    settings.RESPONSE_CACHE_TTL_SECONDS = 1
    client = Anthropic(chain=chain)
    ask(client, extra_headers=USE)
    ask(client, extra_headers=USE)  # a hit: now also in this process's memory of recent entries
    assert len(model_calls(fake)) == 1
    time.sleep(1.2)
    ask(client, extra_headers=USE)
    assert len(model_calls(fake)) == 2


def test_a_too_large_answer_is_not_stored(chain, provider, settings):
    _kind, fake, _settings = provider
    settings.RESPONSE_CACHE_MAX_ENTRY_BYTES = 1024
    client = Anthropic(chain=chain)
    for _ in range(2):
        client.messages.create(model="haiku", max_tokens=1024, extra_headers=USE,
                               messages=[{"role": "user", "content": "echo: " + "big " * 400}])
    assert len(model_calls(fake)) == 2 and ResponseCacheEntry.objects.count() == 0


def fill(chain):
    """Three entries: two models, two agents."""
    Anthropic(chain=chain, agent="a").messages.create(model="haiku", max_tokens=8, extra_headers=USE,
                                                      messages=[{"role": "user", "content": "one"}])
    Anthropic(chain=chain, agent="b").messages.create(model="haiku", max_tokens=8, extra_headers=USE,
                                                      messages=[{"role": "user", "content": "two"}])
    Anthropic(chain=chain, agent="a").messages.create(model=SONNET_45, max_tokens=8, extra_headers=USE,
                                                      messages=[{"role": "user", "content": "three"}])


def replay_misses(chain, fake):
    before = len(model_calls(fake))
    fill(chain)
    return len(model_calls(fake)) - before


@pytest.mark.parametrize("how, misses, left", [
    ("all", 3, 0), ("model", 2, 1), ("agent", 2, 1), ("entry", 1, 2),
])
def test_invalidation(chain, provider, how, misses, left):
    _kind, fake, _settings = provider
    fill(chain)
    assert replay_misses(chain, fake) == 0
    if how == "all":
        assert response_cache.invalidate_all() == 3
    elif how == "model":
        assert response_cache.invalidate_model("haiku") == 2
    elif how == "agent":
        assert response_cache.invalidate_agent("a") == 2
    else:
        assert response_cache.invalidate_entry(ResponseCacheEntry.objects.get(model=SONNET_45).pk) == 1
    assert ResponseCacheEntry.objects.count() == left
    assert replay_misses(chain, fake) == misses


def test_an_unreachable_cache_is_never_a_point_of_failure(chain, provider):
    _kind, fake, _settings = provider
    with override_settings(CACHES=UNREACHABLE_CACHE):
        client = Anthropic(chain=chain)
        assert ask(client, extra_headers=USE).content[0].text == "cached answer"
        assert ask(client, extra_headers=USE).content[0].text == "cached answer"
    assert len(model_calls(fake)) == 2


def test_a_bad_cache_header_is_a_bad_request(chain, provider):
    _kind, fake, _settings = provider
    with pytest.raises(anthropic.BadRequestError, match="x-moments-cache must be one of"):
        ask(Anthropic(chain=chain), extra_headers={"X-Moments-Cache": "always"})
    assert model_calls(fake) == []


def test_cache_hits_are_requests_not_failures_in_the_rollups(chain):
    client = Anthropic(chain=chain)
    ask(client, extra_headers=USE)
    ask(client, extra_headers=USE)
    update_rollups(assume_settled=True)
    totals = [(row.requests, row.failed) for row in UsageHourly.objects.all()]
    assert sum(r for r, _f in totals) == 2 and sum(f for _r, f in totals) == 0


def test_the_usage_dashboard_shows_the_prompt_cache_hit_rate(chain, member_client):
    session = Session(Anthropic(chain=chain), model=SONNET_45, system=SYSTEM, max_tokens=32)
    session.send("echo: first")
    session.send("echo: second")
    update_rollups(assume_settled=True)
    records = list(UsageRecord.objects.all())
    read = sum(r.cache_read_tokens for r in records)
    total = sum(r.input_tokens + r.cache_read_tokens + r.cache_write_5m_tokens + r.cache_write_1h_tokens
                for r in records)
    html = member_client.get(reverse("usage:dashboard")).content.decode()
    assert f'id="prompt-cache-hit-rate">{100 * read / total:.1f}% of input tokens' in html


def test_a_per_model_policy_uses_the_cache_unless_a_call_says_skip(chain, provider, settings):
    _kind, fake, _settings = provider
    settings.RESPONSE_CACHE_MODELS = ["haiku"]
    client = Anthropic(chain=chain)
    ask(client)
    ask(client)
    assert len(model_calls(fake)) == 1
    ask(client, extra_headers={"x-moments-cache": "skip"})
    client.messages.create(model=SONNET_45, max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    client.messages.create(model=SONNET_45, max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert len(model_calls(fake)) == 4
