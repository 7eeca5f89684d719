"""Every form field has a limit taken from its model, with a clear message; --check agrees with the import."""
import pytest
from django import forms
from django.core.management import CommandError, call_command
from django.urls import reverse

from moments_admin.limits import DEFAULT_TEXT_LIMIT, SECRET_TEXT_LIMIT, SaneDate
from providers import forms as provider_forms
from providers.kinds import PLUGINS
from providers.models import ProviderConfig
from usage import forms as usage_forms
from usage.models import Budget

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]


def every_form():
    found = [plugin.form_class for plugin in PLUGINS.values()]  # each kind's form lives in its plugin
    found += [cls for module in (provider_forms, usage_forms) for cls in vars(module).values()
             if isinstance(cls, type) and issubclass(cls, forms.Form) and cls.base_fields]
    return sorted(set(found), key=lambda cls: cls.__name__)


@pytest.mark.parametrize("form_class", every_form(), ids=lambda cls: cls.__name__)
def test_every_field_of_every_form_is_bounded(form_class):
    for name, field in form_class.base_fields.items():
        if isinstance(field, forms.CharField):
            assert field.max_length is not None, f"{form_class.__name__}.{name} has no length limit"
            assert field.widget.attrs.get("maxlength") or field.max_length <= DEFAULT_TEXT_LIMIT
            assert field.max_length <= SECRET_TEXT_LIMIT
        elif isinstance(field, forms.DateField):
            assert any(isinstance(v, SaneDate) for v in field.validators), f"{form_class.__name__}.{name}"
        elif isinstance(field, forms.IntegerField):  # FloatField and DecimalField too
            assert field.max_value is not None and field.min_value is not None, f"{form_class.__name__}.{name}"


def test_provider_text_fields_take_the_model_column_length():
    form = PLUGINS["bedrock"].form_class()
    for name in ("role_arn", "external_id", "aws_profile", "endpoint_url", "sts_endpoint_url", "ca_bundle",
                 "aws_access_key_id", "inference_profile", "role_session_name"):
        assert form.fields[name].max_length == ProviderConfig._meta.get_field(name).max_length, name
    mapping = [form.fields[name] for name in form.fields if name.startswith("map_")]
    assert mapping and all(field.max_length == 300 for field in mapping)


def test_an_over_long_value_gets_a_clear_message_and_writes_nothing(staff_client):
    data = {"kind": "bedrock", "name": "eu", "timeout_seconds": "60", "aws_region": "us-east-1",
            "auth_mode": "default_chain", "external_id": "x" * 201,
            "role_arn": "arn:aws:iam::123456789012:role/r"}
    response = staff_client.post(reverse("providers:create") + "?kind=bedrock", data)
    assert response.status_code == 400
    assert "Ensure this value has at most 200 characters (it has 201)." in response.content.decode()
    assert not ProviderConfig.objects.exists()


def test_budget_name_is_limited_to_its_column(staff_client):
    response = staff_client.post(reverse("usage:budget-add"), {
        "name": "n" * 101, "scope": "overall", "amount_usd": "10", "thresholds": "50", "webhook_format": "json"})
    assert response.status_code == 400 and not Budget.objects.exists()


@pytest.mark.parametrize("value", ["inf", "NaN", "9" * 5000, "1e999"])
def test_numbers_that_no_column_holds_are_form_errors(staff_client, value):
    data = {"kind": "anthropic", "name": "a", "timeout_seconds": value, "api_key_source": "env",
            "api_key_env": "ANTHROPIC_API_KEY"}
    response = staff_client.post(reverse("providers:create") + "?kind=anthropic", data)
    assert response.status_code == 400 and not ProviderConfig.objects.exists()


def test_import_config_check_refuses_what_the_import_would_refuse(tmp_path):
    source = tmp_path / "config.yml"
    source.write_text("model_provider:\n  anthropic:\n    api_key_env: ANTHROPIC_API_KEY\n"
                      f"    base_url: https://h.example/{'a' * 600}\n")
    with pytest.raises(CommandError, match="was not imported"):
        call_command("import_config", str(source), "--check")
    with pytest.raises(CommandError, match="was not imported"):
        call_command("import_config", str(source))
    assert not ProviderConfig.objects.exists()
