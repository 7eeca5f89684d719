"""The permission step probes each model through the integration that serves it and names that
integration's IAM actions; the generated IAM policy covers them."""
import pytest

from providers.clients.bedrock_client import BedrockClient
from providers.clients.catalog import iam_policy_for
from providers.fakes import FakeBedrock, FakeBedrockMantle
from tests.fake_providers import AWS_KEY_ID, AWS_SECRET, bedrock_settings, mantle_settings

LEGACY = "us.anthropic.claude-opus-4-6-v1"  # InvokeModel, per the catalog
CURRENT = "global.anthropic.claude-sonnet-5-5"  # the Messages API on bedrock-runtime, per the catalog


@pytest.fixture
def denying_bedrock():
    servers = []

    def start(denied):
        server = FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}, denied_actions=denied).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def paths(server):
    return [r.path for r in server.requests if r.method == "POST"]


def test_each_model_is_probed_through_its_own_integration(bedrock_fake):
    checks = BedrockClient(bedrock_settings(bedrock_fake)).check_permissions([LEGACY, CURRENT])
    assert all(c.allowed for c in checks)
    assert {(c.resource, c.action) for c in checks} == {
        (LEGACY, "bedrock:InvokeModel"), (LEGACY, "bedrock:InvokeModelWithResponseStream"),
        (CURRENT, "bedrock:InvokeModel"), (CURRENT, "bedrock:InvokeModelWithResponseStream")}
    sent = paths(bedrock_fake)
    assert any(p.endswith("/invoke") and "opus-4-6" in p for p in sent)  # legacy: InvokeModel
    assert "/anthropic/v1/messages" in sent  # 5.x: the Messages API, not InvokeModel
    assert not any("sonnet-5-5" in p for p in sent)


def test_a_denied_messages_api_permission_names_the_action_and_the_policy_grants_it(denying_bedrock):
    server = denying_bedrock({"bedrock:InvokeModelWithResponseStream"})
    checks = BedrockClient(bedrock_settings(server)).check_permissions([CURRENT])
    denied = [c for c in checks if not c.allowed]
    assert [c.action for c in denied] == ["bedrock:InvokeModelWithResponseStream"]
    policy = iam_policy_for([c.action for c in denied], [CURRENT], "us-east-1")
    [statement] = policy["Statement"]
    assert statement["Action"] == ["bedrock:InvokeModelWithResponseStream"]
    assert "arn:aws:bedrock:us-east-1:*:inference-profile/" + CURRENT in statement["Resource"]


def test_the_mantle_override_probes_mantle_with_its_own_action(mantle_fake):
    checks = BedrockClient(mantle_settings(mantle_fake)).check_permissions([CURRENT, LEGACY])
    assert {c.action for c in checks} == {"bedrock-mantle:CreateInference"} and all(c.allowed for c in checks)
    models = [r.json["model"] for r in mantle_fake.requests if r.path == "/anthropic/v1/messages"]
    assert models == ["anthropic.claude-sonnet-5-5", "anthropic.claude-opus-4-6-v1"]  # bare mantle IDs


def test_a_denied_mantle_action_is_named_and_its_policy_is_a_mantle_statement():
    server = FakeBedrockMantle(credentials={AWS_KEY_ID: AWS_SECRET},
                               denied_actions={"bedrock-mantle:CreateInference"}).start()
    try:
        checks = BedrockClient(mantle_settings(server)).check_permissions([CURRENT])
    finally:
        server.stop()
    assert [(c.action, c.allowed) for c in checks] == [("bedrock-mantle:CreateInference", False)]
    policy = iam_policy_for(["bedrock-mantle:CreateInference"], [CURRENT], "us-east-1")
    assert policy["Statement"] == [{"Sid": "InvokeClaudeOnMantle", "Effect": "Allow",
                                    "Action": ["bedrock-mantle:CreateInference"], "Resource": "*"}]


def test_the_invoke_override_keeps_every_model_on_invoke_model(bedrock_fake):
    checks = BedrockClient(bedrock_settings(bedrock_fake, bedrock_integration="invoke")).check_permissions([LEGACY])
    assert all(c.allowed for c in checks)
    assert "/anthropic/v1/messages" not in paths(bedrock_fake)


def test_the_provider_policy_covers_every_integration_the_mapped_models_use():
    from types import SimpleNamespace

    from providers.clients.bedrock_policy import provider_policy

    settings = SimpleNamespace(aws_region="us-east-1", guardrail_identifier="gr7abc", batch_s3_bucket=None)
    policy = provider_policy(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream",
                              "bedrock-mantle:CreateInference"], [LEGACY, CURRENT], settings, uses_api_key=True)
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["InvokeClaude"]["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert "arn:aws:bedrock:*::foundation-model/anthropic.claude-opus-4-6-v1" in statements["InvokeClaude"]["Resource"]
    assert "arn:aws:bedrock:us-east-1:*:inference-profile/" + CURRENT in statements["InvokeClaude"]["Resource"]
    assert statements["InvokeClaudeOnMantle"]["Action"] == ["bedrock-mantle:CreateInference"]
    assert statements["UseBedrockApiKeys"]["Action"] == ["bedrock:CallWithBearerToken"]
    assert statements["ApplyGuardrail"]["Resource"] == "arn:aws:bedrock:us-east-1:*:guardrail/gr7abc"
    assert "bedrock:GetInferenceProfile" in statements["ReadModelCatalog"]["Action"]
    assert not any(s.startswith("Batch") for s in statements)  # no bucket set
