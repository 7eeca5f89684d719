"""Hostile input to every field of every form view (as staff) and to every config.yml key.

For each field, derived from the form classes themselves (a new field is covered without editing
this file), and each hostile value: no 500, and either the input is refused with the database
exactly as before, or it is stored whole and within the model's limits. For config.yml,
`import_config --check` (parse_config) and the import refuse exactly the same files.
"""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from providers.config_yaml import ROUTING_KEYS, ConfigFileError, import_config, kind_keys, parse_config
from providers.forms import RoutingForm
from providers.kinds import form_class, kind_names
from providers.models import ConfigRevision, ProviderConfig, ProviderRouting
from tests.providers.conftest import make_anthropic, make_bedrock
from usage.forms import BatchableAgentForm, BudgetForm, FilterForm, PriceForm, ProfileMappingForm, RecomputeForm
from usage.models import BatchableAgent, Budget, ModelPrice, ProfileMapping, RecomputeJob

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]

HOSTILE = {
    "over-long": "x" * 20_000,
    "nul": "abc\x00def",
    "crlf": "abc\r\nInjected: yes",
    "deep": "[" * 3000 + "]" * 3000,
    "huge-int": "9" * 5000,
    "inf": "inf",
    "nan": "NaN",
    "negative": "-1",
    "year-1": "0001-01-01",
    "year-9999": "9999-12-31",
    "unicode": "\u202e\ufeff\U0001f600",
}
# Raw YAML for every config.yml key: an anchor, deep nesting, numbers no column holds, odd dates...
HOSTILE_YAML = {
    "over-long": '"' + "x" * 20_000 + '"',
    "nul": '"abc\\0def"',
    "crlf": '"abc\\r\\nInjected: yes"',
    "deep": "[" * 200 + "]" * 200,  # deeper than MAX_DEPTH; the 100,000-deep case has its own test
    "deep-mapping": "{a: " * 60 + "1" + "}" * 60,
    "huge-int": "9" * 5000,
    "big-int": "99999999999999999999",
    "inf": ".inf",
    "nan": ".nan",
    "exp": "1e999",
    "negative": "-1",
    "year-1": "0001-01-01",
    "year-9999": "9999-12-31",
    "anchor": "&anchor value",
    "mapping": "{a: b}",
    "list": "[a, b]",
    "null": "null",
}
# Also uploaded through the page (the rest go through the same import function, which is quicker).
THROUGH_THE_PAGE = ("over-long", "nul", "deep", "huge-int", "anchor", "mapping")
STATE_MODELS = (ProviderConfig, ProviderRouting, ConfigRevision, ModelPrice, ProfileMapping, RecomputeJob, Budget,
                BatchableAgent)


class _Rollback(Exception):
    pass


def db_state():
    return {model.__name__: sorted(repr(sorted(row.items())) for row in model.objects.values())
            for model in STATE_MODELS}


def assert_stored_whole_and_within_limits(before, after):
    """A change that went through: no stored text is longer than its column or holds a NUL byte."""
    for model in STATE_MODELS:
        if before[model.__name__] == after[model.__name__]:
            continue
        for obj in model.objects.all():
            for field in model._meta.fields:
                value = getattr(obj, field.attname)
                if not isinstance(value, str):
                    continue
                assert "\x00" not in value, f"NUL stored in {model.__name__}.{field.name}"
                if field.max_length:
                    assert len(value) <= field.max_length, f"{model.__name__}.{field.name} longer than its column"


def post_case(client, method, url, data, **headers):
    """One request inside a savepoint that is rolled back, so each case starts from the same state."""
    before = db_state()
    try:
        with transaction.atomic():
            response = getattr(client, method)(url, data, **headers)
            assert response.status_code < 500, (url, response.status_code)
            after = db_state()
            if response.status_code != 302 and after != before:
                pytest.fail(f"{url} refused the input ({response.status_code}) but changed the database")
            assert_stored_whole_and_within_limits(before, after)
            raise _Rollback
    except _Rollback:
        pass
    return response


def _stored_providers():
    ProviderRouting.load()  # the singleton pages create on first view, so that is not counted as a change
    return make_anthropic("anthropic", api_key_env="ANTHROPIC_API_KEY"), make_bedrock("bedrock")


ANTHROPIC_BASE = {"kind": "anthropic", "name": "fuzz-anthropic", "enabled": "on", "timeout_seconds": "60",
                  "verify_tls": "on", "api_key_source": "env", "api_key_env": "ANTHROPIC_API_KEY"}
BEDROCK_BASE = {"kind": "bedrock", "name": "fuzz-bedrock", "enabled": "on", "timeout_seconds": "60", "verify_tls": "on",
                "aws_region": "us-east-1", "auth_mode": "default_chain", "role_session_name": "moments-admin",
                "role_duration_seconds": "3600", "bedrock_api_key_source": "env",
                "bedrock_api_key_env": "AWS_BEARER_TOKEN_BEDROCK"}
FILTER_BASE = {"start": "2026-11-01", "end": "2026-11-20"}
PRICE_BASE = {"provider_kind": "anthropic", "model": "claude-sonnet-4-5", "scope": "standard",
              "effective_from": "2027-03-01", "input": "3", "output": "15", "batch_discount": "0.5",
              "source_url": "https://www.anthropic.com/pricing"}
RECOMPUTE_BASE = {"start": "2026-11-01", "end": "2026-11-10", "provider_kind": "", "model": ""}
MAPPING_BASE = {"arn": "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/fuzz1",
                "model_id": "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}
BUDGET_BASE = {"name": "Fuzz budget", "scope": "overall", "amount_usd": "100", "thresholds": "50,80,100",
               "webhook_format": "json", "active": "on"}


def form_views():
    """(id, method, url maker, form class maker, valid baseline data, expected status of the baseline)."""
    return [
        ("provider-create-anthropic", "post", lambda ids: reverse("providers:create") + "?kind=anthropic",
         lambda ids: form_class("anthropic")(), ANTHROPIC_BASE, 302),
        ("provider-create-bedrock", "post", lambda ids: reverse("providers:create") + "?kind=bedrock",
         lambda ids: form_class("bedrock")(), BEDROCK_BASE, 302),
        ("provider-edit-anthropic", "post", lambda ids: reverse("providers:edit", args=[ids["anthropic"]]),
         lambda ids: form_class("anthropic")(instance=ProviderConfig.objects.get(pk=ids["anthropic"])),
         {**ANTHROPIC_BASE, "name": "anthropic"}, 302),
        ("provider-edit-bedrock", "post", lambda ids: reverse("providers:edit", args=[ids["bedrock"]]),
         lambda ids: form_class("bedrock")(instance=ProviderConfig.objects.get(pk=ids["bedrock"])),
         {**BEDROCK_BASE, "name": "bedrock"}, 302),
        ("provider-form-fields", "post", lambda ids: reverse("providers:form-fields"),
         lambda ids: form_class("bedrock")(), {**BEDROCK_BASE, "provider_id": str(1)}, 200),
        ("provider-mapping-preview", "post", lambda ids: reverse("providers:mapping-preview"),
         lambda ids: form_class("anthropic")(), ANTHROPIC_BASE, 200),
        ("routing", "post", lambda ids: reverse("providers:routing"),
         lambda ids: RoutingForm(names=["anthropic", "bedrock"]),
         {"primary": "anthropic", "fallback_1": "bedrock", "fallback_2": "", "auto_fallback": "on",
          "primary_development": "", "primary_staging": "", "primary_production": ""}, 302),
        ("usage-dashboard", "get", lambda ids: reverse("usage:dashboard"), lambda ids: FilterForm(), FILTER_BASE, 200),
        ("usage-export", "get", lambda ids: reverse("usage:export"), lambda ids: FilterForm(), FILTER_BASE, 200),
        ("price-add", "post", lambda ids: reverse("usage:price-add"), lambda ids: PriceForm(), PRICE_BASE, 302),
        ("recompute", "post", lambda ids: reverse("usage:recompute"), lambda ids: RecomputeForm(), RECOMPUTE_BASE,
         302),
        ("profile-mapping", "post", lambda ids: reverse("usage:mapping-add"), lambda ids: ProfileMappingForm(),
         MAPPING_BASE, 302),
        ("budget-add", "post", lambda ids: reverse("usage:budget-add"), lambda ids: BudgetForm(), BUDGET_BASE, 302),
        ("budget-edit", "post", lambda ids: reverse("usage:budget-edit", args=[ids["budget"]]),
         lambda ids: BudgetForm(), BUDGET_BASE, 302),
        ("batchable-agent", "post", lambda ids: reverse("usage:batchable-agent-add"),
         lambda ids: BatchableAgentForm(), {"name": "fuzz-agent"}, 302),
    ]


@pytest.fixture
def stored(staff_client):
    anthropic, bedrock = _stored_providers()
    budget = Budget.objects.create(name="Existing", amount_usd=50)
    return {"anthropic": anthropic.pk, "bedrock": bedrock.pk, "budget": budget.pk}


@pytest.mark.parametrize("view", form_views(), ids=lambda view: view[0])
def test_every_form_field_survives_hostile_values(staff_client, stored, view):
    _, method, url_of, form_of, base, baseline_status = view
    url = url_of(stored)
    field_names = list(form_of(stored).fields)
    assert field_names, "no fields found: the form maker is wrong"
    baseline = post_case(staff_client, method, url, base)
    assert baseline.status_code == baseline_status, "the baseline must be valid, or the test proves little"
    for name in field_names:
        for label, value in HOSTILE.items():
            response = post_case(staff_client, method, url, {**base, name: value})
            assert response.status_code < 500, (name, label)
    # The htmx partial of the dashboard goes through the same filters.
    if view[0] == "usage-dashboard":
        for name in field_names:
            for value in HOSTILE.values():
                post_case(staff_client, "get", url, {**base, name: value}, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize("field", ["start", "end"])
@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("name", ["usage:dashboard", "usage:export"])
def test_usage_filter_dates_out_of_range_say_so(staff_client, name, field, value):
    response = staff_client.get(reverse(name), {field: value})
    # The page shows the error over the default range; the CSV refuses with the same message.
    assert response.status_code == (200 if name == "usage:dashboard" else 400)
    assert "Enter a date between 2000-01-01 and" in response.content.decode()


def test_usage_filter_dates_out_of_range_in_the_htmx_partial(staff_client):
    response = staff_client.get(reverse("usage:dashboard"), {"end": "9999-12-31"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Enter a date between 2000-01-01 and" in response.content.decode()


# --- config.yml -----------------------------------------------------------------------------------

BLOCKS = {"anthropic": {"api_key_env": "ANTHROPIC_API_KEY"}, "bedrock": {"aws_region": "us-east-1"},
          "aws_platform": {"aws_region": "us-east-1", "workspace_id": "wrkspc_fuzz_0001"}}
ROUTING = {"type": "anthropic", "fallback_provider": "bedrock", "auto_fallback": "true"}


def config_text(target=None, raw=None):
    """A valid config.yml, with the value of `target` (('routing', key) or (kind, key)) replaced by raw YAML."""
    lines = ["model_provider:"]
    routing = dict(ROUTING)
    blocks = {kind: dict(values) for kind, values in BLOCKS.items()}
    if target and target[0] == "routing":
        routing.pop("fallback_provider" if target[1] == "fallback_providers" else "", None)
        routing[target[1]] = raw
    elif target:
        blocks[target[0]][target[1]] = raw
    for key, value in routing.items():
        if key not in blocks:
            lines.append(f"  {key}: {value}")
    for kind, values in blocks.items():
        if target and target == ("routing", kind):
            lines.append(f"  {kind}: {raw}")
            continue
        lines.append(f"  {kind}:")
        lines += [f"    {key}: {value}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def config_cases():
    keys = [("routing", key) for key in ROUTING_KEYS]
    keys += [(kind, key) for kind in kind_names() for key in kind_keys(kind)]
    return keys


def test_the_config_baseline_is_valid():
    parse_config(config_text())


@pytest.mark.parametrize("target", config_cases(), ids=lambda target: ".".join(target))
def test_every_config_key_survives_hostile_values(staff_client, target):
    _stored_providers()
    for label, raw in HOSTILE_YAML.items():
        text = config_text(target, raw)
        try:
            parse_config(text)
            checked_ok = True
        except ConfigFileError:
            checked_ok = False
        before = db_state()
        try:
            with transaction.atomic():
                try:
                    import_config(text)
                    imported = True
                except ConfigFileError:
                    imported = False
                if not imported:
                    assert db_state() == before, (target, label)
                else:
                    assert_stored_whole_and_within_limits(before, db_state())
                raise _Rollback
        except _Rollback:
            pass
        assert imported == checked_ok, f"--check and the import disagree on {target} = {label}"
        if label not in THROUGH_THE_PAGE:
            continue
        upload = SimpleUploadedFile("config.yml", text.encode(), content_type="application/yaml")
        response = post_case(staff_client, "post", reverse("providers:config-import"), {"file": upload})
        assert response.status_code in ((302,) if checked_ok else (400,)), (target, label)


@pytest.mark.parametrize("raw, message", [
    ("[" * 5000 + "]" * 5000, "nests deeper than"),
    ("&only-an-anchor anthropic", "Anchors"),
    (HOSTILE_YAML["huge-int"], "Cannot read this value"),
    (HOSTILE_YAML["big-int"], "Numbers must be between"),
    (HOSTILE_YAML["inf"], "finite"),
    (HOSTILE_YAML["nan"], "finite"),
])
def test_config_refusals_are_clear(raw, message):
    with pytest.raises(ConfigFileError) as caught:
        parse_config(config_text(("routing", "type"), raw))
    assert message in str(caught.value)


def test_nesting_close_to_the_size_limit_is_refused_without_recursion_error():
    with pytest.raises(ConfigFileError) as caught:
        parse_config("model_provider:\n  type: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert "nests deeper than" in str(caught.value)


@pytest.mark.parametrize("key, limit", [("base_url", 500), ("api_key_env", 100), ("ca_bundle", 500)])
def test_config_values_longer_than_the_model_allows_are_refused_by_check_and_import(key, limit):
    text = config_text(("anthropic", key), "https://h.example/" + "a" * limit if key == "base_url" else "A" * (limit + 1))
    with pytest.raises(ConfigFileError) as caught:
        parse_config(text)
    assert f"At most {limit} characters" in str(caught.value)
    before = db_state()
    with pytest.raises(ConfigFileError):
        import_config(text)
    assert db_state() == before
