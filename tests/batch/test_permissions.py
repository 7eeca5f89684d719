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
