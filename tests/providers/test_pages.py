"""The provider pages: login, staff-only changes, CSRF, htmx partials, no 500 on user input, no secret in HTML."""
import pytest
from django.test import Client
from django.urls import reverse

from providers.changes import save_provider
from providers.models import ConfigRevision, ProviderRouting
from providers.revisions import snapshot
from tests.providers.conftest import (
    ANTHROPIC_KEY,
    AWS_SECRET,
    BEDROCK_API_KEY,
    assert_no_secrets,
    make_anthropic,
    make_bedrock,
)

pytestmark = [pytest.mark.django_db, pytest.mark.smoke, pytest.mark.usefixtures("aws_env")]

READ_PAGES = ["providers:list", "providers:environment", "providers:claude-code", "providers:config",
              "providers:revisions", "providers:status", "providers:migration"]


@pytest.fixture
def configured(staff_user, monkeypatch):
    """A stored secret of each kind, plus env-var secrets, and a revision."""
    monkeypatch.setenv("MY_BEDROCK_KEY", BEDROCK_API_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    anthropic = make_anthropic(position=0, api_key_env="ANTHROPIC_API_KEY", api_key_encrypted="")
    bedrock = make_bedrock(position=1)
    api_key = make_bedrock(name="bedrock-key", position=2, auth_mode="api_key", aws_access_key_id="",
                           aws_secret_access_key_encrypted="", bedrock_api_key_env="MY_BEDROCK_KEY")
    save_provider(bedrock, staff_user)
    ProviderRouting.objects.filter(pk=1).update(primary="bedrock", fallbacks=["bedrock-key", "anthropic"])
    return anthropic, bedrock, api_key


def change_requests(configured):
    anthropic, bedrock, _ = configured
    revision = ConfigRevision.objects.first()
    return [
        ("get", reverse("providers:create") + "?kind=bedrock", {}),
        ("post", reverse("providers:create"), {"kind": "anthropic", "name": "x", "timeout_seconds": "60",
                                               "api_key_source": "env", "api_key_env": "X"}),
        ("get", reverse("providers:edit", args=[bedrock.pk]), {}),
        ("post", reverse("providers:edit", args=[bedrock.pk]), {"kind": "bedrock", "name": "renamed"}),
        ("get", reverse("providers:delete", args=[bedrock.pk]), {}),
        ("post", reverse("providers:delete", args=[bedrock.pk]), {}),
        ("post", reverse("providers:form-fields"), {"kind": "bedrock", "auth_mode": "profile"}),
        ("post", reverse("providers:mapping-preview"), {"kind": "bedrock"}),
        ("post", reverse("providers:test-connection", args=["credentials"]), {"kind": "bedrock"}),
        ("post", reverse("providers:routing"), {"primary": "anthropic"}),
        ("post", reverse("providers:config-write"), {}),
        ("post", reverse("providers:config-import"), {}),
        ("post", reverse("providers:revision-restore", args=[revision.pk]), {}),
    ]


def test_anonymous_users_are_sent_to_login(client, configured):
    for name in READ_PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    for method, url, data in change_requests(configured):
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url


def test_members_read_every_page_but_change_nothing(member_client, configured):
    for name in READ_PAGES:
        assert member_client.get(reverse(name)).status_code == 200, name
    before, revisions = snapshot(), ConfigRevision.objects.count()
    for method, url, data in change_requests(configured):
        assert getattr(member_client, method)(url, data).status_code == 403, url
    assert snapshot() == before and ConfigRevision.objects.count() == revisions
    html = member_client.get(reverse("providers:list")).content.decode()
    assert "Add Amazon Bedrock" not in html and "Save primary and fallbacks" not in html


def test_csrf_is_required_on_every_change(staff_user, configured):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    for method, url, data in change_requests(configured):
        if method == "post":
            assert client.post(url, data).status_code == 403, url
    page = client.get(reverse("providers:edit", args=[configured[1].pk])).content.decode()
    assert "csrfmiddlewaretoken" in page


def test_no_secret_in_the_html_of_any_page(staff_client, configured):
    anthropic, bedrock, api_key = configured
    urls = [reverse(name) for name in READ_PAGES]
    urls += [reverse("providers:edit", args=[p.pk]) for p in configured]
    urls += [reverse("providers:revision", args=[r.pk]) for r in ConfigRevision.objects.all()]
    urls += [reverse("providers:config-export"), reverse("providers:create") + "?kind=bedrock"]
    for url in urls:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert_no_secrets(response.content.decode(), url)
    for mode in ("static_keys", "api_key", "profile", "env"):
        response = staff_client.post(reverse("providers:form-fields"), {
            "kind": "bedrock", "provider_id": bedrock.pk, "auth_mode": mode, "aws_secret_access_key": AWS_SECRET,
            "bedrock_api_key_source": "stored", "bedrock_api_key": BEDROCK_API_KEY})
        assert_no_secrets(response.content.decode(), f"form fields {mode}")


def test_list_shows_providers_roles_and_mapping(member_client, configured):
    html = member_client.get(reverse("providers:list")).content.decode()
    assert 'id="provider-bedrock"' in html and "primary" in html and "fallback 1" in html
    assert "never tested" in html
    assert "global.anthropic.claude-haiku-5-5" in html  # the model mapping overview, resolved per provider
    assert "Bedrock API key (bearer token)" in html and "· api_key" not in html  # auth modes in words


def test_kind_switch_returns_the_form_body_partial(staff_client):
    response = staff_client.get(reverse("providers:create") + "?kind=bedrock", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="provider-form-body">')
    assert 'name="aws_region"' in html and "<html" not in html
    assert response["Vary"] and "HX-Request" in response["Vary"]


@pytest.mark.parametrize("mode, expected, absent", [
    ("profile", 'name="aws_profile"', 'name="aws_secret_access_key"'),
    ("static_keys", 'name="aws_secret_access_key"', 'name="aws_profile"'),
    ("api_key", 'name="bedrock_api_key_env"', 'name="role_arn"'),
    ("env", "AWS_ACCESS_KEY_ID", 'name="aws_access_key_id"'),
    ("default_chain", "default order", 'name="aws_profile"'),
])
def test_auth_mode_swaps_the_fields(staff_client, mode, expected, absent):
    response = staff_client.post(reverse("providers:form-fields"), {"kind": "bedrock", "auth_mode": mode,
                                                                    "aws_region": "eu-west-1"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="kind-fields">')
    assert expected in html and absent not in html
    assert '<option value="eu-west-1" selected>' in html  # the values on screen are kept


def test_profiles_are_listed_from_the_aws_files(staff_client, aws_env):
    (aws_env / "aws-config").write_text("[profile dev-sso]\nsso_session = corp\n[sso-session corp]\n"
                                        "sso_start_url = https://corp.awsapps.com/start\n[default]\nregion = us-east-1\n")
    (aws_env / "aws-credentials").write_text("[ci]\naws_access_key_id = AKIAXXXXXXXXXXXXXXXX\n"
                                             "aws_secret_access_key = dont-show-me-please\n")
    html = staff_client.post(reverse("providers:form-fields"), {"kind": "bedrock", "auth_mode": "profile"}).content.decode()
    for name in ("dev-sso", "default", "ci"):
        assert f'<option value="{name}">' in html
    assert "aws sso login --profile dev-sso" in html
    assert "dont-show-me-please" not in html


def test_mapping_preview_follows_region_and_overrides(staff_client):
    html = staff_client.post(reverse("providers:mapping-preview"), {
        "kind": "bedrock", "aws_region": "eu-west-1", "map_opus": "eu.anthropic.claude-opus-4-6-v1"}).content.decode()
    # haiku is Haiku 5.5, which has only a global profile
    assert 'id="resolved-haiku" hx-swap-oob="true"><code>global.anthropic.claude-haiku-5-5' in html
    assert "eu.anthropic.claude-opus-4-6-v1</code>" in html and "served in eu-west-1" in html


def test_create_redirects_to_the_list_where_it_shows(staff_client):
    response = staff_client.post(reverse("providers:create"), {
        "kind": "anthropic", "name": "anthropic", "enabled": "on", "timeout_seconds": "60", "verify_tls": "on",
        "api_key_source": "env", "api_key_env": "ANTHROPIC_API_KEY"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("providers:list")
    assert 'id="provider-anthropic"' in response.content.decode()


GARBAGE = ["", "\x00", "../../etc/passwd", "a" * 5000, "<script>alert(1)</script>", "-1", "1e309", "[]"]


@pytest.mark.parametrize("value", GARBAGE)
def test_user_input_never_causes_a_500(staff_client, configured, value):
    bedrock = configured[1]
    fields = ["kind", "name", "aws_region", "auth_mode", "timeout_seconds", "role_duration_seconds", "role_arn",
              "endpoint_url", "ca_bundle", "map_sonnet", "provider_id", "run", "api_key_source", "geo_preference"]
    data = {name: value for name in fields}
    targets = [reverse("providers:create"), reverse("providers:edit", args=[bedrock.pk]),
               reverse("providers:form-fields"), reverse("providers:mapping-preview"),
               reverse("providers:test-connection", args=["credentials"]), reverse("providers:routing")]
    for url in targets:
        for kind in ("bedrock", "anthropic", value):
            response = staff_client.post(url, {**data, "kind": kind})
            assert response.status_code < 500, (url, kind)
    assert staff_client.get(reverse("providers:create") + "?kind=" + value[:100]).status_code < 500
    assert staff_client.post(reverse("providers:test-connection", args=["nope"])).status_code == 404


ROUTING_FORM = {"primary": "", "fallback_1": "", "fallback_2": "", "fallback_3": "", "primary_development": "",
                "primary_staging": "", "primary_production": ""}  # every select a browser sends


def test_routing_form_sets_primary_fallbacks_and_per_environment_primary(staff_client, configured, monkeypatch):
    response = staff_client.post(reverse("providers:routing"), {
        **ROUTING_FORM, "primary": "anthropic", "fallback_1": "bedrock-key", "fallback_2": "bedrock",
        "auto_fallback": "on", "primary_production": "bedrock"})
    assert response.status_code == 302
    routing = ProviderRouting.load()
    assert (routing.primary, routing.fallbacks, routing.environment_primary) == (
        "anthropic", ["bedrock-key", "bedrock"], {"production": "bedrock"})
    from providers.selection import select_providers

    assert select_providers({"MOMENTS_ENV": "production"}).primary.name == "bedrock"
    assert select_providers({}).primary.name == "anthropic"


def test_routing_form_offers_only_configured_providers_as_fallbacks(staff_client, configured):
    html = staff_client.get(reverse("providers:list")).content.decode()
    assert 'name="fallbacks"' not in html  # no free text
    assert '<select name="fallback_1"' in html and '<option value="bedrock-key"' in html
    assert '<option value="bedrock-key" selected>' in html  # the stored order is shown


def test_routing_form_rejects_unknown_names_and_changes_nothing(staff_client, configured):
    before = snapshot()
    response = staff_client.post(reverse("providers:routing"), {**ROUTING_FORM, "primary": "anthropic",
                                                                "fallback_1": "nope"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was changed" in html and "nope is not one of the available choices" in html
    assert snapshot() == before


def test_an_empty_or_incomplete_routing_post_is_refused_and_changes_nothing(staff_client, configured):
    before = snapshot()
    revisions = ConfigRevision.objects.count()
    for data in ({}, {"primary": ""}, {"primary": "", "fallback_1": ""}):
        response = staff_client.post(reverse("providers:routing"), data)
        assert response.status_code == 400
        assert "arrived incomplete" in response.content.decode()
    assert snapshot() == before and ConfigRevision.objects.count() == revisions
    assert ProviderRouting.load().primary == "bedrock"


def test_routing_form_error_keeps_the_typed_values(staff_client, configured):
    response = staff_client.post(reverse("providers:routing"), {
        **ROUTING_FORM, "primary": "anthropic", "fallback_1": "bedrock", "fallback_2": "bedrock",
        "primary_staging": "bedrock-key"})
    html = response.content.decode()
    assert response.status_code == 400 and "bedrock is already fallback 1" in html
    assert html.count('<option value="anthropic" selected>') == 1  # primary as typed, not the stored bedrock
    assert '<select name="primary_staging" id="id_primary_staging">' in html
    assert '<option value="bedrock-key" selected>' in html
    assert ProviderRouting.load().primary == "bedrock"


def test_list_shows_health_from_real_traffic(member_client, configured):
    from providers import breaker as health
    from providers.clients.errors import ErrorKind, ProviderError

    error = ProviderError(ErrorKind.UNAVAILABLE, "down")
    for _ in range(health.FAILURE_THRESHOLD):
        health.record_failure("bedrock", error)
    health.record_success("anthropic")
    html = member_client.get(reverse("providers:list")).content.decode()
    assert "down (circuit open)" in html and "operational" in html
