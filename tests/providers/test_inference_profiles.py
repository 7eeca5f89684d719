"""Application inference profile ARNs stand where a model ID does: routed as they are, resolved with
GetInferenceProfile and priced as the model they route to, with no manual mapping (which still wins)."""
import pytest

from providers import validation
from providers.call_records import CallContext
from providers.calls import invoke
from providers.fakes import FakeBedrock
from tests.batch import conftest as batch_fixtures
from tests.fake_providers import AWS_KEY_ID, AWS_SECRET, bedrock_settings
from usage.models import ProfileMapping, UsageRecord
from usage.pricing import forget_price_book

prices, direct_usage = batch_fixtures.prices, batch_fixtures.direct_usage  # fixtures
ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/apphaiku01"


@pytest.fixture(scope="module")
def profiled_fake():
    server = FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET},
                         application_profiles={"apphaiku01": "us.anthropic.claude-haiku-4-5-20251001-v1:0"}).start()
    yield server
    server.stop()


def ask(model):
    return {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "echo: hi"}]}


@pytest.mark.django_db
@pytest.mark.usefixtures("prices", "direct_usage")
def test_an_application_profile_arn_is_routed_and_costed_without_a_mapping(profiled_fake):
    profiled_fake.reset()
    assert not ProfileMapping.objects.exists()
    result = invoke([bedrock_settings(profiled_fake)], ask(ARN), CallContext(purpose="client"))
    assert result.model_id == ARN
    paths = [r.path for r in profiled_fake.requests]
    assert any(p.startswith("/inference-profiles/") for p in paths)  # GetInferenceProfile
    assert any(p.endswith("/invoke") and "application-inference-profile" in p for p in paths)
    record = UsageRecord.objects.get(model_id=ARN)
    assert (record.base_model, record.scope) == ("claude-haiku-4-5", "geo")  # the us. profile it copies
    assert record.cost_total is not None and record.cost_total > 0
    direct = invoke([bedrock_settings(profiled_fake)], ask("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
                    CallContext(purpose="client"))
    assert direct.record.cost_usd == record.cost_total  # same tokens, same price as the profile it copies


@pytest.mark.django_db
@pytest.mark.usefixtures("prices", "direct_usage")
def test_the_prices_pages_manual_mapping_still_wins(profiled_fake):
    ProfileMapping.objects.create(arn=ARN, model_id="global.anthropic.claude-sonnet-4-6")
    forget_price_book()
    invoke([bedrock_settings(profiled_fake)], ask(ARN), CallContext(purpose="client"))
    record = UsageRecord.objects.get(model_id=ARN)
    assert (record.base_model, record.scope) == ("claude-sonnet-4-6", "global")


def test_arns_are_accepted_wherever_a_model_id_is():
    assert validation.model_id(ARN) == ARN


@pytest.mark.django_db
@pytest.mark.usefixtures("prices", "direct_usage")
def test_a_recompute_keeps_the_model_an_arn_was_priced_as(profiled_fake):
    from usage.pricing import PriceBook
    from usage.recompute import reprice

    invoke([bedrock_settings(profiled_fake)], ask(ARN), CallContext(purpose="client"))
    record = UsageRecord.objects.get(model_id=ARN)
    cost = record.cost_total
    assert reprice(record, PriceBook.load()) is False
    assert (record.base_model, record.cost_total) == ("claude-haiku-4-5", cost)
