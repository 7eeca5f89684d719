"""config.yml: the issue's schema imports; errors name the key path and line; nothing changes on error;
export carries env-var references only and round-trips."""
import textwrap

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from providers import crypto
from providers.config_export import export_config, write_config
from providers.config_yaml import ConfigFileError, import_config, parse_config
from providers.models import ConfigRevision, ProviderConfig, ProviderRouting
from providers.revisions import snapshot
from tests.providers.conftest import AWS_SECRET, assert_no_secrets, make_anthropic, make_bedrock

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_env")]

ISSUE_EXAMPLE = textwrap.dedent("""\
    model_provider:
      type: "anthropic" # or "bedrock"
      fallback_provider: "bedrock"
      auto_fallback: true
      anthropic:
        api_key_env: "ANTHROPIC_API_KEY"
        base_url: "https://api.anthropic.com"
      bedrock:
        aws_region: "us-east-1"
        aws_profile: "default" # optional
        use_bedrock_api_key: false
        inference_profile: null # optional cross-region inference profile
      model_mapping:
        sonnet:
          anthropic: "claude-3-5-sonnet-20241022"
          bedrock: "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
        haiku:
          anthropic: "claude-3-5-haiku-20241022"
          bedrock: "us.anthropic.claude-3-5-haiku-20241022-v1:0"
    """)

TWO_REGIONS = textwrap.dedent("""\
    model_provider:
      type: bedrock
      fallback_providers: [bedrock-eu, anthropic]
      environments:
        development: {type: anthropic}
      anthropic:
        api_key_env: MY_ANTHROPIC_KEY
      bedrock:
        aws_region: us-west-2
        auth_mode: default_chain
        role_arn: arn:aws:iam::123456789012:role/moments
        endpoint_url: https://vpce-1.bedrock-runtime.us-west-2.vpce.amazonaws.com
      providers:
        bedrock-eu:
          kind: bedrock
          aws_region: eu-west-1
          use_bedrock_api_key: true
          bedrock_api_key_env: EU_BEDROCK_KEY
      model_mapping:
        opus:
          bedrock: global.anthropic.claude-opus-4-5-20251101-v1:0
          bedrock-eu: eu.anthropic.claude-opus-4-5-20251101-v1:0
    """)


def test_the_issue_example_imports():
    revision = import_config(ISSUE_EXAMPLE, None, source="test")
    anthropic, bedrock = ProviderConfig.objects.get(name="anthropic"), ProviderConfig.objects.get(name="bedrock")
    assert anthropic.api_key_env == "ANTHROPIC_API_KEY" and anthropic.base_url == "https://api.anthropic.com"
    assert bedrock.auth_mode == "profile" and bedrock.aws_profile == "default"
    assert bedrock.model_mapping == {"sonnet": "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
                                     "haiku": "us.anthropic.claude-3-5-haiku-20241022-v1:0"}
    routing = ProviderRouting.load()
    assert (routing.primary, routing.fallbacks, routing.auto_fallback) == ("anthropic", ["bedrock"], True)
    assert revision.summary == "Imported config.yml (test)"


def test_several_providers_of_a_kind_env_primary_and_mapping_by_name():
    import_config(TWO_REGIONS)
    eu = ProviderConfig.objects.get(name="bedrock-eu")
    assert eu.auth_mode == "api_key" and eu.bedrock_api_key_env == "EU_BEDROCK_KEY"
    assert eu.model_mapping == {"opus": "eu.anthropic.claude-opus-4-5-20251101-v1:0"}
    assert ProviderConfig.objects.get(name="bedrock").model_mapping["opus"].startswith("global.")
    routing = ProviderRouting.load()
    assert routing.fallbacks == ["bedrock-eu", "anthropic"]
    assert routing.environment_primary == {"development": "anthropic"}
    assert [p.name for p in ProviderConfig.objects.all()] == ["anthropic", "bedrock", "bedrock-eu"]


def issues_of(text):
    with pytest.raises(ConfigFileError) as caught:
        parse_config(text)
    return [(i.path, i.line, i.message) for i in caught.value.issues]


def test_errors_name_the_key_path_and_line():
    text = ISSUE_EXAMPLE.replace('aws_region: "us-east-1"', 'aws_region: "us-east-9"').replace(
        "auto_fallback: true", "auto_fallback: sometimes")
    found = issues_of(text)
    assert ("model_provider.bedrock.aws_region", 9) in [(p, n) for p, n, _ in found]
    assert ("model_provider.auto_fallback", 4) in [(p, n) for p, n, _ in found]
    assert any("us-east-9" in m for _, _, m in found)


def test_unknown_key_suggests_the_right_one():
    found = issues_of(ISSUE_EXAMPLE.replace("aws_profile:", "aws_profil:"))
    assert found == [("model_provider.bedrock.aws_profil", 10, "Unknown key 'aws_profil'. Did you mean 'aws_profile'?")]


def test_secret_values_are_refused_with_a_pointer_to_env_vars():
    found = issues_of(ISSUE_EXAMPLE.replace('api_key_env: "ANTHROPIC_API_KEY"', 'api_key: "sk-ant-123"'))
    assert found[0][0] == "model_provider.anthropic.api_key" and found[0][1] == 6
    assert "api_key_env" in found[0][2]


@pytest.mark.parametrize("text, line", [
    ("model_provider:\n  type: [unclosed\n", 3),
    ("model_provider:\n  type: anthropic\n  type: bedrock\n  anthropic: {}\n", 3),
    # The anchor is refused where it is defined, before any alias uses it.
    ("model_provider:\n  anthropic: &a {api_key_env: X}\n  providers:\n    b: *a\n", 2),
])
def test_syntax_duplicates_and_aliases_report_a_line(text, line):
    found = issues_of(text)
    assert found[0][1] == line, found


def test_references_must_exist():
    found = issues_of("model_provider:\n  type: bedrock\n  anthropic: {}\n  model_mapping:\n    sonnet:\n"
                      "      vertex: some-model\n")
    assert [(p, n) for p, n, _ in found] == [("model_provider.type", 2), ("model_provider.model_mapping.sonnet.vertex", 6)]


@pytest.mark.parametrize("text", ["", "just a string", "- a\n- list\n", "model_provider: 3\n",
                                  "model_provider: {}\n", "\x00\x01"])
def test_nonsense_is_an_error_not_a_crash(text):
    assert issues_of(text)


def test_invalid_import_changes_nothing(staff_user):
    import_config(ISSUE_EXAMPLE)
    before, revisions = snapshot(), ConfigRevision.objects.count()
    with pytest.raises(ConfigFileError):
        import_config(TWO_REGIONS.replace("eu-west-1", "nowhere-1"))
    assert snapshot() == before and ConfigRevision.objects.count() == revisions


def test_export_has_env_references_and_no_secrets_and_round_trips():
    make_bedrock(name="bedrock", model_mapping={"opus": "us.anthropic.claude-opus-4-5-20251101-v1:0"})
    make_anthropic(name="anthropic", api_key_env="ANTHROPIC_API_KEY", api_key_encrypted="")
    make_anthropic(name="anthropic-backup")  # a stored key
    text = export_config()
    assert_no_secrets(text, "export")
    assert crypto.encrypt(AWS_SECRET)[:10] not in text
    doc = yaml.safe_load(text)["model_provider"]
    assert doc["anthropic"]["api_key_env"] == "ANTHROPIC_API_KEY"
    assert doc["bedrock"]["aws_secret_access_key_stored"] is True
    assert doc["providers"]["anthropic-backup"] == {"kind": "anthropic", "api_key_env": None, "base_url": None,
                                                    "api_key_stored": True}
    def providers():
        return sorted(({k: v for k, v in p.items() if k != "position"} for p in snapshot()["providers"]),
                      key=lambda p: p["name"])

    before = providers()
    import_config(text)
    assert providers() == before
    def body(exported):
        return [line for line in exported.splitlines() if not line.startswith("#")]

    assert body(export_config()) == body(text)


def test_stored_flag_without_a_stored_secret_is_an_error():
    found = issues_of("model_provider:\n  anthropic:\n    api_key_env: null\n    api_key_stored: true\n")
    assert found[0][0] == "model_provider.anthropic.api_key_stored" and found[0][1] == 4


def test_write_config_to_the_configured_path(aws_env):
    make_bedrock()
    path = write_config()
    assert path == aws_env / "written" / "config.yml"
    assert "aws_region: us-east-1" in path.read_text()
    assert_no_secrets(path.read_text(), "written file")


def test_management_commands(tmp_path, capsys):
    source = tmp_path / "config.yml"
    source.write_text(TWO_REGIONS)
    call_command("import_config", str(source))
    assert ProviderConfig.objects.count() == 3
    call_command("export_config")
    assert "bedrock-eu:" in capsys.readouterr().out
    source.write_text(TWO_REGIONS.replace("kind: bedrock", "kind: vertex"))
    with pytest.raises(CommandError, match="nothing changed"):
        call_command("import_config", str(source))
    assert "model_provider.providers.bedrock-eu.kind (line 15)" in capsys.readouterr().err
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_config", str(tmp_path / "missing.yml"))


def test_upload_in_the_ui(staff_client):
    upload = SimpleUploadedFile("config.yml", TWO_REGIONS.encode(), content_type="application/yaml")
    response = staff_client.post(reverse("providers:config-import"), {"file": upload})
    assert response.status_code == 302
    assert ProviderConfig.objects.count() == 3


def test_invalid_upload_shows_where_and_changes_nothing(staff_client):
    import_config(ISSUE_EXAMPLE)
    before = snapshot()
    bad = ISSUE_EXAMPLE.replace('aws_region: "us-east-1"', 'aws_region: "us-east-9"')
    response = staff_client.post(reverse("providers:config-import"),
                                 {"file": SimpleUploadedFile("config.yml", bad.encode())})
    assert response.status_code == 400
    html = response.content.decode()
    assert "nothing changed" in html
    assert "<code>model_provider.bedrock.aws_region</code> (line 9)" in html
    assert snapshot() == before


def test_download_and_write_in_the_ui(staff_client, aws_env):
    make_bedrock()
    response = staff_client.get(reverse("providers:config-export"))
    assert response["Content-Disposition"] == 'attachment; filename="config.yml"'
    assert_no_secrets(response.content.decode())
    response = staff_client.post(reverse("providers:config-write"))
    assert response.status_code == 302
    assert (aws_env / "written" / "config.yml").exists()


def test_members_cannot_import_or_write(member_client, aws_env):
    upload = SimpleUploadedFile("config.yml", TWO_REGIONS.encode())
    assert member_client.post(reverse("providers:config-import"), {"file": upload}).status_code == 403
    assert member_client.post(reverse("providers:config-write")).status_code == 403
    assert not ProviderConfig.objects.exists() and not (aws_env / "written").exists()
    assert member_client.get(reverse("providers:config-export")).status_code == 200


def test_oversized_or_binary_uploads_are_refused(staff_client):
    for content in (b"model_provider:\n" + b"#" * (300 * 1024), b"\xff\xfe\x00binary"):
        response = staff_client.post(reverse("providers:config-import"),
                                     {"file": SimpleUploadedFile("config.yml", content)})
        assert response.status_code == 400
        assert "nothing changed" in response.content.decode()
    assert not ProviderConfig.objects.exists()


def test_api_key_mode_cannot_assume_a_role():
    found = issues_of("model_provider:\n  bedrock:\n    aws_region: us-east-1\n    use_bedrock_api_key: true\n"
                      "    role_arn: arn:aws:iam::123456789012:role/x\n")
    assert found == [("model_provider.bedrock.role_arn", 5,
                      "A Bedrock API key cannot assume a role: remove role_arn or use SigV4 credentials.")]
