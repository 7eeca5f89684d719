"""`manage.py call`, the configuration snapshot (no query, no decryption; invalidated by the version token,
revision restores included) and the client pool, on stored providers."""
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from providers import client_pool, crypto, snapshot
from providers.call_records import CallContext
from providers.calls import invoke
from providers.fakes import Fault
from providers.models import ProviderRouting
from providers.revisions import record_revision, restore
from providers.shared_cache import shared_cache
from tests.providers.conftest import assert_no_secrets, make_anthropic, make_bedrock
from usage.models import UsageRecord

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]
HELLO = {"model": "haiku", "max_tokens": 16, "messages": [{"role": "user", "content": "Hello"}]}


@pytest.fixture(autouse=True)
def fresh_snapshot(aws_env):
    snapshot.forget()
    yield
    snapshot.forget()


@pytest.fixture
def stored(anthropic_api, bedrock_api):
    anthropic = make_anthropic(server=anthropic_api, position=0)
    bedrock = make_bedrock(server=bedrock_api, position=1)
    ProviderRouting.objects.create(pk=1, primary="anthropic", fallbacks=["bedrock"])
    return anthropic, bedrock


def run_call(*args):
    out = io.StringIO()
    call_command("call", *args, stdout=out)
    return out.getvalue()


def test_call_prints_who_served_it_tokens_cost_and_latency(stored):
    output = run_call("--model", "haiku", "--prompt", "Hi there")
    assert "provider:    anthropic (anthropic)" in output
    assert "haiku -> claude-haiku" in output and "tokens:      input" in output
    assert "cost:        $" in output and "latency:" in output and "failed over: no" in output
    record = UsageRecord.objects.get()
    assert (record.purpose, record.status, record.provider_name) == ("cli", "ok", "anthropic")
    assert_no_secrets(output, "command output")


def test_call_streams_and_reports_failover(stored, anthropic_api):
    anthropic_api.inject(Fault("unavailable", times=None))
    try:
        output = run_call("--model", "haiku", "--stream")
    finally:
        anthropic_api.reset()
    assert "provider:    bedrock (bedrock)" in output and "failed over: yes" in output
    assert "first token" in output


def test_call_pinned_to_a_failing_provider_exits_non_zero_with_the_kind(stored, anthropic_api):
    anthropic_api.inject(Fault("unavailable", times=None))
    try:
        with pytest.raises(CommandError) as caught:
            run_call("--provider", "anthropic")
    finally:
        anthropic_api.reset()
    assert str(caught.value).startswith("unavailable:")


def test_call_with_nothing_configured_says_so():
    with pytest.raises(CommandError) as caught:
        run_call()
    assert str(caught.value).startswith("configuration:")


def test_a_call_on_the_snapshot_reads_no_configuration(stored):
    invoke(None, HELLO, CallContext(purpose="cli"))  # builds the snapshot
    with CaptureQueriesContext(connection) as queries:
        invoke(None, HELLO, CallContext(purpose="cli"))
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [q for q in sql if "providers_" in q], sql  # configuration comes from memory
    assert [q for q in sql if q.startswith("INSERT") and "usage_usagerecord" in q]  # the usage row
    # With the embedded database cache the breaker read is a query on the cache table; with Redis, none.
    assert all(q.startswith(("INSERT", "SAVEPOINT", "RELEASE")) or "moments_cache" in q for q in sql), sql


def test_a_configuration_change_is_seen_by_the_next_call_and_gets_a_new_client(stored):
    first = invoke(None, HELLO, CallContext(purpose="cli"))
    pooled = client_pool.client_for(snapshot.active_chain()[0])
    assert client_pool.client_for(snapshot.active_chain()[0]) is pooled  # reused across calls
    routing = ProviderRouting.load()
    routing.primary, routing.fallbacks = "bedrock", ["anthropic"]
    routing.save()
    second = invoke(None, HELLO, CallContext(purpose="cli"))
    assert (first.provider_name, second.provider_name) == ("anthropic", "bedrock")
    anthropic, _ = stored
    anthropic.timeout_seconds = 42
    anthropic.save()
    changed = next(s for s in snapshot.active_chain() if s.name == "anthropic")
    assert changed.timeout == 42 and client_pool.client_for(changed) is not pooled  # rebuilt for the new config


def test_a_call_on_the_snapshot_decrypts_no_secret(stored, monkeypatch):
    invoke(None, HELLO, CallContext(purpose="cli"))  # builds the snapshot
    decrypted, real = [], crypto.decrypt
    monkeypatch.setattr(crypto, "decrypt", lambda token: decrypted.append(token) or real(token))
    invoke(None, HELLO, CallContext(purpose="cli"))
    assert decrypted == []
    snapshot.forget()
    invoke(None, HELLO, CallContext(purpose="cli"))
    assert decrypted  # a rebuild does decrypt (the count above would have seen it)


def test_a_change_committed_by_another_process_is_seen_through_the_version_token(stored, monkeypatch):
    monkeypatch.setattr(snapshot, "CHECK_SECONDS", 0.0)  # compare tokens on every call
    assert invoke(None, HELLO, CallContext(purpose="cli")).provider_name == "anthropic"
    # Another process changes the routing (no signal in this one) and, once committed, replaces the token.
    ProviderRouting.objects.filter(pk=1).update(primary="bedrock", fallbacks=["anthropic"])
    assert invoke(None, HELLO, CallContext(purpose="cli")).provider_name == "anthropic"  # same token: no query
    shared_cache.set(snapshot.VERSION_KEY, "changed-elsewhere", None)
    assert invoke(None, HELLO, CallContext(purpose="cli")).provider_name == "bedrock"


def test_a_revision_restore_is_seen_by_the_next_call_and_replaces_the_token(stored, django_capture_on_commit_callbacks):
    earlier = record_revision(None, "anthropic first")
    routing = ProviderRouting.load()
    routing.primary, routing.fallbacks = "bedrock", ["anthropic"]
    routing.save()
    assert invoke(None, HELLO, CallContext(purpose="cli")).provider_name == "bedrock"
    token = shared_cache.get(snapshot.VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=True):
        restore(earlier, None)
    assert shared_cache.get(snapshot.VERSION_KEY) not in (None, token)  # every process rebuilds
    assert invoke(None, HELLO, CallContext(purpose="cli")).provider_name == "anthropic"
