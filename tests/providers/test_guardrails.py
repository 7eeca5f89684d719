"""Bedrock Guardrails: applied on InvokeModel and its streams, a block is its own error kind (never a failover)
with the guardrail's message, recorded and counted on the usage dashboard."""
import pytest

from providers.call_records import CallContext
from providers.calls import invoke
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.registry import get_client
from providers.fakes import FakeBedrock
from providers.fakes.guardrails import BLOCKED_INPUT, BLOCKED_OUTPUT
from tests.batch import conftest as batch_fixtures
from tests.fake_providers import AWS_KEY_ID, AWS_SECRET, anthropic_settings, bedrock_settings
from tests.providers import conftest as provider_fixtures
from usage.models import UsageRecord

prices, direct_usage = batch_fixtures.prices, batch_fixtures.direct_usage  # fixtures
aws_env = provider_fixtures.aws_env
MODEL = "claude-haiku-4-5-20251001"  # served through InvokeModel (the legacy integration)
GUARDRAIL = {"version": "3", "blocked_input_words": ["forbidden"], "blocked_output_words": ["leakword"]}


@pytest.fixture(scope="module")
def guarded_fake():
    server = FakeBedrock(credentials={AWS_KEY_ID: AWS_SECRET}, guardrails={"gr7abc": GUARDRAIL}).start()
    yield server
    server.stop()


@pytest.fixture
def fake(guarded_fake):
    guarded_fake.reset()
    return guarded_fake


def guarded(server, **changes):
    return bedrock_settings(server, guardrail_identifier="gr7abc", guardrail_version="3", **changes)


def ask(text, **extra):
    return {"model": MODEL, "max_tokens": 200, "messages": [{"role": "user", "content": text}], **extra}


def invocations(server):
    return [r for r in server.requests if "/invoke" in r.path]


def test_requests_name_the_guardrail_and_pass_when_nothing_is_blocked(fake):
    result = get_client(guarded(fake)).create_message(ask("echo: all fine"))
    assert result.message["content"][0]["text"] == "all fine"
    headers = {k.lower(): v for k, v in invocations(fake)[-1].headers.items()}
    assert headers["x-amzn-bedrock-guardrailidentifier"] == "gr7abc"
    assert headers["x-amzn-bedrock-guardrailversion"] == "3"


def test_a_blocked_input_is_its_own_error_with_the_guardrails_message(fake):
    with pytest.raises(ProviderError) as caught:
        get_client(guarded(fake)).create_message(ask("echo: something forbidden"))
    error = caught.value
    assert error.kind is ErrorKind.GUARDRAIL_INTERVENED and BLOCKED_INPUT in error.message
    assert not error.retryable and not error.triggers_failover
    assert len(invocations(fake)) == 1  # not retried


def test_a_blocked_output_in_a_stream_never_reaches_the_caller(fake):
    stream = get_client(guarded(fake)).stream_message(ask("echo: here is the leakword"))
    texts = []
    with pytest.raises(ProviderError) as caught:
        for event in stream:
            if event["type"] == "content_block_delta":
                texts.append(event["delta"]["text"])
    assert caught.value.kind is ErrorKind.GUARDRAIL_INTERVENED and BLOCKED_OUTPUT in caught.value.message
    assert "leakword" not in "".join(texts)  # synchronous mode: the blocked text was never sent
    assert "amazon-bedrock-guardrailConfig" not in invocations(fake)[-1].json  # sync is Bedrock's default


def test_asynchronous_stream_mode_is_sent_and_the_block_still_ends_the_stream(fake):
    stream = get_client(guarded(fake, guardrail_stream_mode="async")).stream_message(ask("echo: the leakword"))
    with pytest.raises(ProviderError) as caught:
        list(stream)
    assert caught.value.kind is ErrorKind.GUARDRAIL_INTERVENED
    assert "leakword" not in caught.value.message and "asynchronous" in caught.value.message
    body = invocations(fake)[-1].json
    assert body["amazon-bedrock-guardrailConfig"] == {"streamProcessingMode": "ASYNCHRONOUS"}


def test_no_guardrail_configured_sends_no_guardrail(fake):
    get_client(bedrock_settings(fake)).create_message(ask("echo: forbidden is fine here"))
    headers = {k.lower() for k in invocations(fake)[-1].headers}
    assert "x-amzn-bedrock-guardrailidentifier" not in headers


@pytest.mark.django_db
@pytest.mark.usefixtures("prices", "direct_usage")
def test_a_block_never_fails_over_and_is_counted_on_the_dashboard(fake, anthropic_fake, staff_client):
    chain = [guarded(fake), anthropic_settings(anthropic_fake)]
    with pytest.raises(ProviderError) as caught:
        with invoke(chain, ask("echo: streaming forbidden words"), CallContext(purpose="client"), stream=True) as s:
            list(s)
    assert caught.value.kind is ErrorKind.GUARDRAIL_INTERVENED
    with pytest.raises(ProviderError):
        invoke(chain, ask("echo: forbidden again"), CallContext(purpose="client"))
    assert not anthropic_fake.requests  # never failed over
    records = UsageRecord.objects.filter(status="guardrail_intervened")
    assert records.count() == 2 and all(r.provider_name == "bedrock-test" for r in records)
    assert all(r.input_tokens > 0 for r in records)  # the blocked calls' tokens are still counted
    page = staff_client.get("/usage/").content.decode()
    assert 'data-testid="guardrail-interventions">2<' in page


@pytest.mark.django_db
def test_guardrail_fields_are_validated_together():
    from providers.kinds.bedrock import BedrockProviderForm

    form = BedrockProviderForm({"name": "b", "aws_region": "us-east-1", "auth_mode": "default_chain",
                                "guardrail_identifier": "gr7abc", "guardrail_version": ""})
    assert not form.is_valid()
    assert form.errors["guardrail_version"] == ["Give both the guardrail's identifier and its version, or neither."]
    form = BedrockProviderForm({"name": "b", "aws_region": "us-east-1", "auth_mode": "default_chain",
                                "guardrail_identifier": "Not An ID!", "guardrail_version": "v1"})
    assert not form.is_valid()
    assert "guardrail identifier is its ID" in form.errors["guardrail_identifier"][0]
    assert form.errors["guardrail_version"] == ["A guardrail version is a number (1, 2, ...) or DRAFT."]


# --- ApplyGuardrail where the integration has none: the Anthropic API (the operator's choice) ---------------

def applied(anthropic_server, guard_server, **changes):
    return anthropic_settings(anthropic_server, guardrail_apply=True, guardrail_identifier="gr7abc",
                              guardrail_version="3", guardrail_aws=bedrock_settings(guard_server), **changes)


def applies_calls(server):
    return [r for r in server.requests if r.path.endswith("/apply")]


def test_anthropic_with_apply_guardrail_blocks_the_input_before_the_call(fake, anthropic_fake):
    with pytest.raises(ProviderError) as caught:
        get_client(applied(anthropic_fake, fake)).create_message(ask("echo: forbidden text"))
    assert caught.value.kind is ErrorKind.GUARDRAIL_INTERVENED and BLOCKED_INPUT in caught.value.message
    assert not anthropic_fake.requests  # the model was never called
    assert applies_calls(fake)[0].json["source"] == "INPUT"


def test_anthropic_with_apply_guardrail_blocks_the_output_of_a_stream_when_it_ends(fake, anthropic_fake):
    stream = get_client(applied(anthropic_fake, fake)).stream_message(ask("echo: the leakword"))
    with pytest.raises(ProviderError) as caught:
        list(stream)
    assert caught.value.kind is ErrorKind.GUARDRAIL_INTERVENED and BLOCKED_OUTPUT in caught.value.message
    assert [c.json["source"] for c in applies_calls(fake)] == ["INPUT", "OUTPUT"]
    assert stream.usage.output_tokens > 0  # the tokens were spent and are recorded


def test_anthropic_without_the_choice_applies_no_guardrail(fake, anthropic_fake):
    settings = anthropic_settings(anthropic_fake, guardrail_identifier="gr7abc", guardrail_version="3",
                                  guardrail_aws=bedrock_settings(fake))
    result = get_client(settings).create_message(ask("echo: forbidden leakword"))
    assert result.message["content"][0]["text"] == "forbidden leakword" and not applies_calls(fake)


@pytest.mark.django_db
@pytest.mark.usefixtures("aws_env")
def test_the_anthropic_provider_uses_the_chosen_bedrock_providers_aws_access(fake, anthropic_fake):
    from providers.resolve import build_settings
    from tests.providers.conftest import make_anthropic, make_bedrock

    make_bedrock(name="guard-aws", server=fake)
    config = make_anthropic(server=anthropic_fake, guardrail_apply=True, guardrail_identifier="gr7abc",
                            guardrail_version="3", guardrail_aws_provider="guard-aws")
    resolved = build_settings(config)
    assert resolved.settings.guardrail_aws.name == "guard-aws"
    assert resolved.settings.redacted()["guardrail_aws"] == "guard-aws"
    assert resolved.settings.guardrail_aws.aws_secret_access_key in resolved.secrets  # scrubbed from output
    config.guardrail_aws_provider = "missing"
    assert ("guardrail_aws_provider", "Choose the Bedrock provider whose AWS access calls ApplyGuardrail.") in \
        build_settings(config).problems


@pytest.mark.django_db
@pytest.mark.usefixtures("direct_usage")
def test_an_agent_brings_its_own_guardrail(fake):
    import anthropic as sdk

    from providers.agents import Agent, AgentManager
    from providers.client import Anthropic
    from providers.sessions import SessionError

    agents = AgentManager([Agent("screener", model=MODEL, guardrail="gr7abc:3"), Agent("free", model=MODEL)],
                          client_factory=lambda **options: Anthropic(chain=[bedrock_settings(fake)], **options))
    with pytest.raises(sdk.BadRequestError, match="guardrail blocked"):
        agents.client("screener").messages.create(**ask("echo: forbidden"))
    assert agents.client("free").messages.create(**ask("echo: forbidden")).content[0].text == "forbidden"
    headers = [{k.lower(): v for k, v in r.headers.items()} for r in invocations(fake)]
    assert headers[0]["x-amzn-bedrock-guardrailidentifier"] == "gr7abc"
    assert "x-amzn-bedrock-guardrailidentifier" not in headers[1]
    with pytest.raises(SessionError, match="guardrail must be 'ID:VERSION'"):
        Agent("bad", guardrail="gr7abc")


# --- ApplyGuardrail on Bedrock's own Messages API integration (no guardrail parameters there) ---------------

MESSAGES_API_MODEL = "sonnet"  # served through bedrock-runtime's /anthropic/v1/messages


def test_bedrock_messages_api_applies_the_guardrail_only_when_ticked(fake):
    ticked = get_client(guarded(fake, guardrail_apply=True))
    with pytest.raises(ProviderError) as caught:
        ticked.create_message(ask("echo: forbidden", model=MESSAGES_API_MODEL))
    assert caught.value.kind is ErrorKind.GUARDRAIL_INTERVENED and BLOCKED_INPUT in caught.value.message
    assert not [r for r in fake.requests if r.path == "/anthropic/v1/messages"]  # blocked before the call
    with pytest.raises(ProviderError) as caught:
        list(ticked.stream_message(ask("echo: the leakword", model=MESSAGES_API_MODEL)))
    assert caught.value.kind is ErrorKind.GUARDRAIL_INTERVENED and BLOCKED_OUTPUT in caught.value.message
    assert [c.json["source"] for c in applies_calls(fake)] == ["INPUT", "INPUT", "OUTPUT"]

    fake.reset()
    unticked = get_client(guarded(fake))  # the page says plainly: it does not apply to these models
    result = unticked.create_message(ask("echo: forbidden leakword", model=MESSAGES_API_MODEL))
    assert result.message["content"][0]["text"] == "forbidden leakword" and not applies_calls(fake)
    [call] = [r for r in fake.requests if r.path == "/anthropic/v1/messages"]
    assert "x-amzn-bedrock-guardrailidentifier" not in {k.lower() for k in call.headers}


@pytest.mark.django_db
def test_the_provider_pages_say_where_the_guardrail_does_not_apply(staff_client):
    from django.urls import reverse

    anthropic_page = staff_client.get(reverse("providers:create") + "?kind=anthropic").content.decode()
    assert "then no guardrail applies to requests served by this provider." in anthropic_page
    assert 'name="guardrail_apply"' in anthropic_page and 'name="guardrail_aws_provider"' in anthropic_page
    bedrock_page = staff_client.get(reverse("providers:create") + "?kind=bedrock").content.decode()
    assert "<strong>does not apply</strong> otherwise" in bedrock_page
    for field in ("guardrail_identifier", "guardrail_version", "guardrail_stream_mode", "guardrail_apply"):
        assert f'name="{field}"' in bedrock_page


@pytest.mark.django_db
@pytest.mark.usefixtures("aws_env")
def test_a_bedrock_providers_guardrail_is_saved_from_its_page_and_reaches_its_settings(staff_client):
    from django.urls import reverse

    from providers.models import ProviderConfig
    from providers.resolve import build_settings
    from tests.providers.test_bedrock_integration_setting import bedrock_form

    response = staff_client.post(reverse("providers:create") + "?kind=bedrock", bedrock_form(
        guardrail_identifier="gr7abc", guardrail_version="3", guardrail_stream_mode="async", guardrail_apply="on"))
    assert response.status_code == 302, response.content.decode()[:1500]
    settings = build_settings(ProviderConfig.objects.get(name="bedrock-int")).settings
    assert (settings.guardrail_identifier, settings.guardrail_version, settings.guardrail_stream_mode,
            settings.guardrail_apply) == ("gr7abc", "3", "async", True)
