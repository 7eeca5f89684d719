"""The home page is a set-up checklist, each step ticked from the database, until a provider has passed a
test and served a call."""
import re

import pytest
from django.urls import reverse

from providers.models import ProviderRouting
from providers.resolve import fingerprint
from tests.providers.conftest import make_anthropic
from usage.models import Budget

pytestmark = [pytest.mark.django_db]


def done_steps(html):
    return re.findall(r'id="step-([a-z]+)" data-done="true"', html)


def test_each_step_is_ticked_from_real_state_and_home_stops_showing_it_after_a_first_call(staff_client, record):
    html = staff_client.get(reverse("home")).content.decode()
    assert "Set up Moments Admin" in html and done_steps(html) == []
    assert "0 of 5 done" in html

    provider = make_anthropic(base_url="https://api.anthropic.com")
    assert done_steps(staff_client.get(reverse("home")).content.decode()) == ["provider"]

    provider.last_test_ok, provider.last_test_fingerprint = True, fingerprint(provider)
    provider.save()
    assert done_steps(staff_client.get(reverse("home")).content.decode()) == ["provider", "test"]
    provider.timeout_seconds = 5.0  # changed since the test: the step is no longer done
    provider.save()
    assert done_steps(staff_client.get(reverse("home")).content.decode()) == ["provider"]
    provider.last_test_fingerprint = fingerprint(provider)
    provider.save()

    ProviderRouting.objects.update_or_create(pk=1, defaults={"primary": "anthropic"})
    record(purpose="test")  # a test connection call is not the first call
    html = staff_client.get(reverse("home")).content.decode()
    assert done_steps(html) == ["provider", "test", "routing"]

    record(purpose="cli", provider_name="anthropic")
    response = staff_client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse("providers:list")
    html = staff_client.get(reverse("setup")).content.decode()
    assert done_steps(html) == ["provider", "test", "routing", "call"]
    assert "Set-up is done" in html

    Budget.objects.create(name="Monthly", amount_usd="1234.50")
    html = staff_client.get(reverse("setup")).content.decode()
    assert done_steps(html) == ["provider", "test", "routing", "call", "budget"]
    assert "Monthly: $1,234.50/month." in html  # the one money format


def test_first_call_snippets_cover_the_command_the_client_and_the_http_endpoint(staff_client):
    html = staff_client.get(reverse("home")).content.decode()
    assert "manage.py call --model haiku" in html
    assert "from providers.client import Anthropic" in html
    assert "http://testserver/v1/messages" in html and "$MOMENTS_GATEWAY_KEY" in html
    assert "base_url=&quot;http://testserver&quot;" in html
    assert reverse("gateway:keys") in html


def test_members_see_the_checklist_without_staff_actions(member_client):
    html = member_client.get(reverse("home")).content.decode()
    assert "Set up Moments Admin" in html and "needs a staff account" in html
    assert reverse("providers:create") not in html.split('id="setup-checklist"')[1].split("</ol>")[0]
