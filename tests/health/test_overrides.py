"""Manual overrides on the Status page (staff, CSRF): force a provider out, pin the primary, reset a
breaker, edit the breaker policy. Each is a revision with who did it, and the call path honours it."""
import re

import pytest
from django.test import Client
from django.urls import reverse

from providers import breaker, snapshot
from providers.call_records import CallContext
from providers.calls import invoke
from providers.clients.errors import ErrorKind, ProviderError
from providers.models import ConfigRevision, ProviderRouting
from tests.fake_providers import model_calls
from tests.providers.conftest import make_anthropic, make_bedrock

pytestmark = pytest.mark.django_db
REQUEST = {"model": "haiku", "max_tokens": 20, "messages": [{"role": "user", "content": "hello"}]}
CLIENT = CallContext(purpose="client")


@pytest.fixture
def two_providers(aws_env, fresh_anthropic, bedrock_api):
    make_anthropic(server=fresh_anthropic, position=0)
    make_bedrock(server=bedrock_api, position=1)
    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic", "fallbacks": ["bedrock"]})
    snapshot.forget()
    bedrock_api.reset()
    return fresh_anthropic, bedrock_api


@pytest.fixture
def csrf_client(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    return client


def _post(client, name, data):
    """POST as the browser does: with the token from the Status page's own form."""
    page = client.get(reverse("providers:status")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return client.post(reverse(name), {**data, "csrfmiddlewaretoken": token})


def _chain():
    snapshot.forget()
    return [s.name for s in snapshot.active_chain()]


def test_force_out_takes_a_provider_out_of_traffic_as_a_revision_and_back(two_providers, csrf_client):
    anthropic, _ = two_providers
    revisions = ConfigRevision.objects.count()
    response = _post(csrf_client, "health:force-out", {"target": "anthropic", "on": "1"})
    assert response.status_code == 302
    assert _chain() == ["bedrock"]
    revision = ConfigRevision.objects.first()
    assert ConfigRevision.objects.count() == revisions + 1
    assert revision.username == "alice" and "Forced anthropic out" in revision.summary
    assert revision.snapshot["routing"]["forced_out"] == ["anthropic"]
    assert invoke(None, REQUEST, CLIENT).provider_name == "bedrock"
    assert model_calls(anthropic) == []
    html = csrf_client.get(reverse("providers:status")).content.decode()
    assert "forced out" in html and "Return to traffic" in html

    _post(csrf_client, "health:force-out", {"target": "anthropic"})
    assert _chain() == ["anthropic", "bedrock"]
    assert "Returned anthropic to traffic" in ConfigRevision.objects.first().summary


def test_forcing_out_the_last_provider_is_refused_and_changes_nothing(two_providers, csrf_client):
    _post(csrf_client, "health:force-out", {"target": "bedrock", "on": "1"})
    revisions = ConfigRevision.objects.count()
    response = _post(csrf_client, "health:force-out", {"target": "anthropic", "on": "1"})
    assert response.status_code == 302
    page = csrf_client.get(reverse("providers:status")).content.decode()
    assert "would leave no enabled provider in traffic" in page
    assert ConfigRevision.objects.count() == revisions and _chain() == ["anthropic"]
    unknown = _post(csrf_client, "health:force-out", {"target": "nope", "on": "1"})
    assert unknown.status_code == 302 and ConfigRevision.objects.count() == revisions


def test_pinning_the_primary_sends_traffic_there_and_keeps_the_configured_one_as_fallback(two_providers,
                                                                                         csrf_client):
    _post(csrf_client, "health:pin-primary", {"target": "bedrock"})
    assert _chain() == ["bedrock", "anthropic"]
    assert invoke(None, REQUEST, CLIENT).provider_name == "bedrock"
    revision = ConfigRevision.objects.first()
    assert revision.username == "alice" and "Pinned the primary to bedrock" in revision.summary
    assert ProviderRouting.load().primary == "anthropic", "the configured routing is left as it was"
    _post(csrf_client, "health:pin-primary", {})
    assert _chain() == ["anthropic", "bedrock"]
    assert "Unpinned" in ConfigRevision.objects.first().summary


def test_reset_breaker_closes_it_as_a_revision(two_providers, csrf_client):
    error = ProviderError(ErrorKind.UNAVAILABLE, "down")
    for _ in range(breaker.FAILURE_THRESHOLD):
        breaker.record_failure("anthropic", error)
        breaker.record_failure("anthropic/haiku", error)
    assert breaker.is_open("anthropic") and breaker.is_open("anthropic/haiku")
    html = csrf_client.get(reverse("providers:status")).content.decode()
    assert "Reset breaker" in html
    _post(csrf_client, "health:reset-breaker", {"target": "anthropic"})
    assert not breaker.is_open("anthropic") and breaker.state("anthropic")["failures"] == 0
    assert breaker.is_open("anthropic/haiku"), "the model's own breaker is separate"
    _post(csrf_client, "health:reset-breaker", {"target": "anthropic/haiku"})
    assert not breaker.is_open("anthropic/haiku")
    assert [r.summary for r in ConfigRevision.objects.all()[:2]] == [
        "Reset the circuit breaker of anthropic/haiku (Status page)",
        "Reset the circuit breaker of anthropic (Status page)"]
    breaker.forget_recent()
    assert invoke(None, REQUEST, CLIENT).provider_name == "anthropic"


def test_the_breaker_policy_is_edited_on_the_status_page(two_providers, csrf_client):
    response = _post(csrf_client, "health:breaker-policy", {
        "breaker_failures": "5", "breaker_error_rate": "25", "breaker_window_seconds": "120",
        "breaker_min_calls": "20", "breaker_open_seconds": "30"})
    assert response.status_code == 302
    snapshot.forget()
    assert snapshot.current().breaker == breaker.Policy(5, 25, 120, 20, 30)
    assert ConfigRevision.objects.first().summary == "Changed the circuit-breaker policy (Status page)"
    bad = _post(csrf_client, "health:breaker-policy", {"breaker_failures": "0", "breaker_error_rate": "250",
                                                       "breaker_window_seconds": "x", "breaker_min_calls": "",
                                                       "breaker_open_seconds": "30"})
    assert bad.status_code == 400
    assert "Ensure this value is greater than or equal to 1" in bad.content.decode()
    snapshot.forget()
    assert snapshot.current().breaker.failures == 5, "nothing changed"


def test_overrides_need_staff_and_the_csrf_token(two_providers, staff_user, member_client):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    for name in ("health:force-out", "health:pin-primary", "health:reset-breaker", "health:breaker-policy"):
        assert client.post(reverse(name), {"target": "anthropic", "on": "1"}).status_code == 403, name
        assert member_client.post(reverse(name), {"target": "anthropic", "on": "1"}).status_code == 403, name
        assert client.get(reverse(name)).status_code == 405, name
    assert _chain() == ["anthropic", "bedrock"] and ProviderRouting.load().pinned_primary == ""
    assert "Force out" not in member_client.get(reverse("providers:status")).content.decode()


def test_the_status_page_shows_each_breakers_recent_traffic_from_the_shared_counters(two_providers, staff_client):
    from providers.fakes import Fault

    anthropic, _ = two_providers
    assert invoke(None, REQUEST, CLIENT).provider_name == "anthropic"
    anthropic.inject(Fault("unavailable", times=3))  # every try of the next call: it fails over
    assert invoke(None, REQUEST, CLIENT).provider_name == "bedrock"
    html = staff_client.get(reverse("providers:status")).content.decode()
    row = html[html.index('id="status-anthropic"'):]
    assert "1 of 2 calls failed lately" in row[:row.index("</tr>")]


def test_restoring_a_revision_from_before_the_overrides_resets_them_to_their_defaults(two_providers, csrf_client):
    from providers.revisions import DEFAULTED_ROUTING_FIELDS, record_revision, restore

    old = record_revision(None, "before breakers existed")
    for name in DEFAULTED_ROUTING_FIELDS:  # as a revision written before these fields were stored
        old.snapshot["routing"].pop(name)
    old.save()
    _post(csrf_client, "health:force-out", {"target": "anthropic", "on": "1"})
    _post(csrf_client, "health:pin-primary", {"target": "bedrock"})
    ProviderRouting.objects.filter(pk=1).update(breaker_failures=9)
    assert _chain() == ["bedrock"]

    confirm = csrf_client.get(reverse("providers:revision", args=[old.pk])).content.decode()
    # the confirmation shows the reset (to [], not "—") before it happens
    assert re.search(r'routing\.forced_out</code></td><td class="diff-old">[^<]*anthropic[^<]*</td>'
                     r'<td class="diff-new">\[\]</td>', confirm)
    restore(old, None)
    routing = ProviderRouting.load()
    assert (routing.forced_out, routing.pinned_primary, routing.breaker_failures) == ([], "", 3)
    assert _chain() == ["anthropic", "bedrock"]


def test_restoring_a_recent_revision_brings_its_overrides_back(two_providers, csrf_client):
    from providers.revisions import restore

    _post(csrf_client, "health:force-out", {"target": "anthropic", "on": "1"})
    forced = ConfigRevision.objects.first()
    _post(csrf_client, "health:force-out", {"target": "anthropic"})
    restore(forced, None)
    assert ProviderRouting.load().forced_out == ["anthropic"] and _chain() == ["bedrock"]
