"""Credentials a newcomer trips over: access key IDs as AWS documents them, "accepted" only after Bedrock
answered, certificate failures that name the CA bundle, secrets refused over plain HTTP, STS fallback."""
import re

import pytest
from django.urls import reverse

from providers import validation
from providers.models import ProviderConfig
from providers.resolve import build_settings
from tests.providers.conftest import (
    ANTHROPIC_KEY,
    BEDROCK_API_KEY,
    make_anthropic,
    start_anthropic,
    start_bedrock,
)
from tests.providers.test_test_connection import anthropic_form, bedrock_form, run_all

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]


def step(client, name, data):
    response = client.post(reverse("providers:test-connection", args=[name]), data)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("key_id", ["AKIAIOSFODNN7EXAMPLE", "minio_access_key_0001", "LTAI5tABCDEFGHIJKLMN",
                                    "a" * 128])
def test_access_key_ids_follow_the_aws_documented_format(key_id):
    assert validation.access_key_id(key_id) == key_id


@pytest.mark.parametrize("key_id", ["AKIA123", "a" * 129, "AKIA IOSFODNN7EXAMPLE", "AKIA-IOSFODNN7EXAMPLE"])
def test_access_key_ids_outside_the_format_are_refused_saying_what_fits(key_id):
    with pytest.raises(ValueError, match="16 to 128 letters, digits or underscores"):
        validation.access_key_id(key_id)


@pytest.fixture(scope="module")
def bedrock_tls():
    server = start_bedrock(tls=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def anthropic_tls():
    server = start_anthropic(tls=True)
    yield server
    server.stop()


def test_bedrock_api_key_over_tls_without_ca_bundle_is_not_accepted_and_names_the_ca_bundle(
        staff_client, bedrock_tls, monkeypatch):
    monkeypatch.setenv("MY_BEDROCK_KEY", BEDROCK_API_KEY)
    data = bedrock_form(bedrock_tls, auth_mode="api_key", bedrock_api_key_env="MY_BEDROCK_KEY", ca_bundle="")
    html = step(staff_client, "credentials", data)
    assert 'class="step bad"' in html and "accepted" not in html
    assert "CA bundle path" in html and 'id="test-error-ca_bundle"' in html
    # The certificate's subject and issuer (the fake's private CA) are named.
    assert "CN=127.0.0.1" in html or "CN=localhost" in html
    assert "Fake Provider Test CA" in html


def test_anthropic_tls_failure_names_the_ca_bundle_and_the_certificate(staff_client, anthropic_tls):
    html = step(staff_client, "credentials", anthropic_form(anthropic_tls))
    assert 'class="step bad"' in html
    assert "CA bundle path" in html and "Fake Provider Test CA" in html
    assert 'id="test-error-ca_bundle"' in html
    with_bundle = step(staff_client, "credentials", anthropic_form(anthropic_tls, ca_bundle=anthropic_tls.ca_bundle))
    assert 'class="step ok"' in with_bundle


def test_bearer_key_over_plain_http_to_another_host_is_refused_before_anything_is_sent(staff_client, listener):
    remote = "http://192.0.2.10:8080"  # TEST-NET-1: not this machine
    html = step(staff_client, "credentials", anthropic_form(listener, base_url=remote))
    assert "plain http://" in html and "nothing was sent" in html.lower()
    response = staff_client.post(reverse("providers:create") + "?kind=anthropic",
                                 anthropic_form(listener, base_url=remote, name="remote"))
    assert response.status_code == 400 and "plain http://" in response.content.decode()
    assert not ProviderConfig.objects.filter(name="remote").exists()
    assert listener.connections == 0


def test_bedrock_api_key_over_plain_http_is_refused_unless_the_insecure_option_is_ticked(staff_client,
                                                                                          monkeypatch):
    monkeypatch.setenv("MY_BEDROCK_KEY", BEDROCK_API_KEY)

    class Remote:
        url, ca_bundle = "http://bedrock-proxy.example.test", None

    data = bedrock_form(Remote, auth_mode="api_key", bedrock_api_key_env="MY_BEDROCK_KEY", name="proxied")
    response = staff_client.post(reverse("providers:create") + "?kind=bedrock", data)
    assert response.status_code == 400 and "Bedrock API key would cross the network unencrypted" in \
        response.content.decode()
    response = staff_client.post(reverse("providers:create") + "?kind=bedrock", {**data, "allow_insecure_http": "on"})
    assert response.status_code == 302
    assert ProviderConfig.objects.get(name="proxied").allow_insecure_http is True
    assert "insecure HTTP allowed" in staff_client.get(reverse("providers:list")).content.decode()


def test_loopback_http_needs_no_option(staff_client, anthropic_api):
    seen = run_all(staff_client, anthropic_form(anthropic_api))
    assert 'class="step ok"' in seen["credentials"]


def test_a_stored_configuration_with_plain_http_never_hands_its_secret_to_the_client():
    config = make_anthropic(base_url="http://192.0.2.10")  # e.g. imported from config.yml
    resolved = build_settings(config)
    assert resolved.settings.api_key is None
    assert resolved.problems[0][0] == "base_url" and "plain http://" in resolved.problems[0][1]
    config.allow_insecure_http = True
    assert build_settings(config).settings.api_key == ANTHROPIC_KEY


def test_sigv4_test_falls_back_to_the_control_plane_when_sts_is_unreachable(staff_client, bedrock_api):
    data = bedrock_form(bedrock_api, sts_endpoint_url="http://127.0.0.1:9")  # nothing listens on port 9
    html = step(staff_client, "credentials", data)
    assert 'class="step ok"' in html, html
    assert "STS could not be used" in html and "ListFoundationModels" in html
    assert 'id="test-error-sts_endpoint_url"' in html  # the field to look at, although the step passed


def test_wrong_sts_endpoint_is_blamed_on_the_sts_field_not_the_secret(staff_client, bedrock_api):
    data = bedrock_form(bedrock_api, sts_endpoint_url="http://127.0.0.1:9", control_endpoint_url="http://127.0.0.1:9")
    html = step(staff_client, "credentials", data)
    assert 'class="step bad"' in html
    blamed = set(re.findall(r'id="test-error-([a-z_]+)"', html))
    assert "sts_endpoint_url" in blamed and "aws_secret_access_key" not in blamed


def test_an_sts_endpoint_that_is_not_sts_is_blamed_on_the_sts_field(staff_client, bedrock_api, anthropic_api):
    html = step(staff_client, "credentials", bedrock_form(bedrock_api, sts_endpoint_url=anthropic_api.url))
    assert "not an AWS API response" in html  # the control plane proved the keys; the STS field is flagged
    blamed = set(re.findall(r'id="test-error-([a-z_]+)"', html))
    assert "sts_endpoint_url" in blamed and "aws_secret_access_key" not in blamed, html


def test_a_region_mismatch_is_blamed_on_the_region():
    from providers.clients.errors import ErrorKind, ProviderError
    from providers.kinds.bedrock import PLUGIN
    from tests.providers.conftest import make_bedrock

    error = ProviderError(ErrorKind.AUTHENTICATION, "bedrock answered SignatureDoesNotMatch",
                          raw_message="Credential should be scoped to a valid region.")
    resolved = build_settings(make_bedrock(sts_endpoint_url="https://sts.eu-west-1.amazonaws.com"))
    assert PLUGIN.credential_fields(error, resolved) == ["aws_region", "sts_endpoint_url"]


def test_a_region_the_endpoint_refuses_is_blamed_on_the_region_end_to_end(staff_client):
    from tests.providers.conftest import fake_bedrock_models

    server = start_bedrock(region_models={"us-east-1": list(fake_bedrock_models())})  # serves us-east-1 only
    try:
        html = step(staff_client, "credentials", bedrock_form(server, aws_region="eu-west-1"))
    finally:
        server.stop()
    assert 'class="step bad"' in html
    blamed = set(re.findall(r'id="test-error-([a-z_]+)"', html))
    assert "aws_region" in blamed and "aws_secret_access_key" not in blamed, html


def test_saving_an_unknown_model_override_or_a_geography_outside_the_region_warns(staff_client, bedrock_api):
    data = bedrock_form(bedrock_api, name="warned", map_sonnet="anthropic.claude-sonet-9-typo",
                        aws_region="eu-west-1", geo_preference="us")
    response = staff_client.post(reverse("providers:create") + "?kind=bedrock", data, follow=True)
    html = response.content.decode()
    assert ProviderConfig.objects.filter(name="warned").exists()
    assert "anthropic.claude-sonet-9-typo, which is not a model in the catalog" in html
    assert "geography us does not match the region eu-west-1" in html
    calm = bedrock_form(bedrock_api, name="calm", aws_region="eu-west-1", geo_preference="eu")
    html = staff_client.post(reverse("providers:create") + "?kind=bedrock", calm, follow=True).content.decode()
    assert "Saved, but check" not in html


def test_a_stored_permission_failure_on_the_list_points_at_no_policy_it_does_not_show(staff_client):
    from tests.providers.conftest import make_bedrock

    server = start_bedrock(denied_actions=["bedrock:InvokeModelWithResponseStream"])
    try:
        config = make_bedrock(server=server)
        # The page posts every field as saved (the batch prefix shows its stored value): the same configuration.
        data = bedrock_form(server, name="bedrock", aws_secret_access_key="", provider_id=str(config.pk),
                            timeout_seconds="60", batch_s3_prefix=config.batch_s3_prefix)
        seen = run_all(staff_client, data)
        assert '<pre class="policy">' in seen["permissions"]  # the step itself shows the policy
        listing = staff_client.get(reverse("providers:list")).content.decode()
        assert "Missing permission bedrock:InvokeModelWithResponseStream" in listing
        assert "policy" not in listing.split('id="provider-bedrock"')[1].split("</tr>")[0].lower()
    finally:
        server.stop()
