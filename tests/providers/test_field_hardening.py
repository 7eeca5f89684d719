"""ca_bundle must be a PEM file of certificates; URL fields refuse line breaks (forms and config.yml)."""
import pytest
from django.urls import reverse

from providers import validation
from providers.config_yaml import ConfigFileError, parse_config
from providers.fakes import tls
from providers.models import ProviderConfig

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]


@pytest.fixture
def pem_bundle(tmp_path):
    return tls.generate(str(tmp_path)).ca_bundle


def test_a_pem_certificate_bundle_is_accepted(pem_bundle):
    assert validation.ca_bundle(pem_bundle) == pem_bundle


@pytest.mark.parametrize("content", [None, b"root:x:0:0:root:/root:/bin/bash\n", b"\x00\x01binary",
                                     b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"])
def test_anything_but_pem_certificates_is_refused(tmp_path, content):
    path = "/etc/passwd" if content is None else str(tmp_path / "bundle.pem")
    if content is not None:
        (tmp_path / "bundle.pem").write_bytes(content)
    with pytest.raises(ValueError, match="not a PEM file of certificates"):
        validation.ca_bundle(path)


def test_a_directory_or_a_missing_file_is_refused(tmp_path):
    for path in (str(tmp_path), str(tmp_path / "missing.pem")):
        with pytest.raises(ValueError, match="No CA bundle file"):
            validation.ca_bundle(path)


def test_the_form_refuses_etc_passwd_as_ca_bundle(staff_client):
    response = staff_client.post(reverse("providers:create"), {
        "kind": "anthropic", "name": "anthropic", "enabled": "on", "timeout_seconds": "60", "verify_tls": "on",
        "api_key_source": "env", "api_key_env": "ANTHROPIC_API_KEY", "base_url": "", "ca_bundle": "/etc/passwd"})
    assert response.status_code == 400
    assert "not a PEM file of certificates" in response.content.decode()
    assert not ProviderConfig.objects.exists()


def test_config_yml_refuses_etc_passwd_as_ca_bundle():
    with pytest.raises(ConfigFileError) as caught:
        parse_config("model_provider:\n  type: anthropic\n  anthropic:\n    api_key_env: ANTHROPIC_API_KEY\n"
                     "    ca_bundle: /etc/passwd\n")
    assert any("not a PEM file" in issue.message for issue in caught.value.issues)


@pytest.mark.parametrize("value", ["https://api.anthropic.com/\r\nX-Evil: 1", "https://a.example.com/x\ny",
                                   "https://a.example.com/\x00", "https://a.example.com/\u2028x"])
def test_urls_with_line_breaks_are_refused(value):
    with pytest.raises(ValueError, match="line break"):
        validation.url(value)


@pytest.mark.parametrize("field", ["endpoint_url", "control_endpoint_url", "sts_endpoint_url"])
def test_every_bedrock_url_field_refuses_a_line_break_in_the_form_and_config_yml(staff_client, field):
    response = staff_client.post(reverse("providers:create"), {
        "kind": "bedrock", "name": "bedrock", "enabled": "on", "timeout_seconds": "60", "verify_tls": "on",
        "aws_region": "us-east-1", "auth_mode": "default_chain", "role_session_name": "moments-admin",
        "role_duration_seconds": "3600", field: "https://vpce.example.com/\r\nX-Evil: 1"})
    assert response.status_code == 400 and "line break" in response.content.decode()
    assert not ProviderConfig.objects.exists()
    with pytest.raises(ConfigFileError) as caught:
        parse_config(f'model_provider:\n  type: bedrock\n  bedrock:\n    aws_region: us-east-1\n'
                     f'    {field}: "https://vpce.example.com/\\r\\nX-Evil: 1"\n')
    assert any("line break" in issue.message for issue in caught.value.issues)


def test_anthropic_base_url_refuses_a_line_break_in_config_yml():
    with pytest.raises(ConfigFileError) as caught:
        parse_config('model_provider:\n  type: anthropic\n  anthropic:\n    api_key_env: ANTHROPIC_API_KEY\n'
                     '    base_url: "https://api.anthropic.com/\\nX: 1"\n')
    assert any("line break" in issue.message for issue in caught.value.issues)
