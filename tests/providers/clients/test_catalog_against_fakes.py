"""Every logical name resolves to a model both fake providers serve, in several regions."""
import pytest

from providers.clients.catalog import load_catalog
from providers.clients.registry import get_client
from tests.fake_providers import bedrock_settings

pytestmark = pytest.mark.parametrize("name", load_catalog().logical_names())


def test_each_logical_name_answers_on_anthropic(name, anthropic_fake):
    from tests.fake_providers import anthropic_settings

    result = get_client(anthropic_settings(anthropic_fake)).create_message(
        {"model": name, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
    assert result.message["content"][0]["text"]


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-northeast-1"])
def test_each_logical_name_answers_on_bedrock(name, region, bedrock_fake):
    client = get_client(bedrock_settings(bedrock_fake, aws_region=region))
    resolution = client.resolution(name)
    assert not resolution.fallback_used, resolution.note
    result = client.create_message({"model": name, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
    assert result.model_id == resolution.model_id
