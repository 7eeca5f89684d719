"""Test connection's Permissions step covers batch inference when a bucket and a service role are set."""
import pytest

from providers.clients.registry import get_client
from providers.fakes import FakeBedrock
from tests.batch.conftest import BUCKET, ROLE
from tests.fake_providers import AWS_KEY_ID, AWS_SECRET, bedrock_settings


@pytest.fixture
def batch_settings(s3_server):
    def build(server, **changes):
        return bedrock_settings(server, batch_s3_bucket=BUCKET, batch_s3_prefix="checks", batch_role_arn=ROLE,
                                s3_endpoint_url=s3_server, **changes)
    return build


def actions(checks):
    return {c.action: c.allowed for c in checks}


def test_every_batch_action_is_checked_and_nothing_is_created(s3_server, batch_settings):
    with FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}, s3_endpoint_url=s3_server) as fake:
        checks = get_client(batch_settings(fake)).check_permissions([])
        assert actions(checks) == {"s3:PutObject": True, "s3:GetObject": True, "s3:ListBucket": True,
                                   "bedrock:GetModelInvocationJob": True, "bedrock:CreateModelInvocationJob": True}
        assert not fake.jobs.jobs  # the create probe's invalid name means no job


def test_a_missing_pass_role_is_named(s3_server, batch_settings):
    with FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}, s3_endpoint_url=s3_server,
                     denied_actions={"iam:PassRole", "bedrock:GetModelInvocationJob"}) as fake:
        checks = get_client(batch_settings(fake)).check_permissions([])
    denied = {c.action: c for c in checks if not c.allowed}
    assert set(denied) == {"iam:PassRole", "bedrock:GetModelInvocationJob"}
    assert "not authorized to perform: iam:PassRole" in denied["iam:PassRole"].message


def test_without_batch_settings_nothing_about_batch_is_checked(s3_server):
    with FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}, s3_endpoint_url=s3_server) as fake:
        assert get_client(bedrock_settings(fake)).check_permissions([]) == []


@pytest.mark.django_db
@pytest.mark.usefixtures("aws_env")
def test_a_denied_batch_action_shows_a_policy_for_everything_the_provider_uses(staff_client, s3_server):
    from tests.providers.conftest import start_bedrock
    from tests.providers.test_test_connection import bedrock_form, run_all, shown_policy

    fake = start_bedrock(s3_endpoint_url=s3_server, denied_actions={"iam:PassRole"})
    try:
        seen = run_all(staff_client, bedrock_form(fake, batch_s3_bucket=BUCKET, batch_s3_prefix="checks",
                                                  batch_role_arn=ROLE, s3_endpoint_url=s3_server))
    finally:
        fake.stop()
    html = seen["permissions"]
    assert 'class="step bad"' in html and "Missing permission iam:PassRole" in html
    statements = {s["Sid"]: s for s in shown_policy(html)["Statement"]}
    assert statements["PassBatchRole"]["Resource"] == ROLE
    assert statements["PassBatchRole"]["Condition"] == {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}
    assert set(statements["BatchJobs"]["Action"]) == {"bedrock:CreateModelInvocationJob",
                                                      "bedrock:GetModelInvocationJob", "bedrock:StopModelInvocationJob"}
    assert statements["BatchObjects"]["Resource"] == f"arn:aws:s3:::{BUCKET}/checks/*"
    assert statements["BatchBucket"]["Resource"] == f"arn:aws:s3:::{BUCKET}"
    # ...and the models' own actions, which were allowed, so the policy alone is enough.
    assert statements["InvokeClaude"]["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert not any(r.startswith("arn:aws:s3") for r in statements["InvokeClaude"]["Resource"])


CONFIG = """\
model_provider:
  type: anthropic
  anthropic:
    api_key_env: ANTHROPIC_API_KEY
    guardrail_apply: true
    guardrail_identifier: gr7abc
    guardrail_version: "3"
    guardrail_aws_provider: bedrock
  bedrock:
    aws_region: us-east-1
    batch_s3_bucket: my-batch-bucket
    batch_s3_prefix: jobs/
    batch_role_arn: arn:aws:iam::123456789012:role/BedrockBatch
    guardrail_identifier: gr7abc
    guardrail_version: DRAFT
    guardrail_stream_mode: async
"""


@pytest.mark.django_db
@pytest.mark.usefixtures("aws_env")
def test_config_yml_carries_batch_and_guardrail_settings_both_ways():
    import yaml

    from providers.config_export import export_config
    from providers.config_yaml import ConfigFileError, import_config
    from providers.models import ProviderConfig

    import_config(CONFIG, None, source="test")
    bedrock, anthropic = ProviderConfig.objects.get(name="bedrock"), ProviderConfig.objects.get(name="anthropic")
    assert (bedrock.batch_s3_bucket, bedrock.batch_s3_prefix, bedrock.guardrail_stream_mode) == \
        ("my-batch-bucket", "jobs", "async")
    assert anthropic.guardrail_apply and anthropic.guardrail_aws_provider == "bedrock"
    exported = yaml.safe_load(export_config())["model_provider"]
    assert exported["bedrock"]["batch_role_arn"].endswith(":role/BedrockBatch")
    assert exported["anthropic"]["guardrail_apply"] is True
    with pytest.raises(ConfigFileError, match="bucket name alone"):
        import_config(CONFIG.replace("my-batch-bucket", "s3://my-batch-bucket"), None, source="test")
