"""Beta flags per provider: what the serving provider does not accept is dropped with a warning or
translated, in the layer, so every caller (gateway, client, dashboard) gets it. Through the real SDKs
and the fakes, whose Bedrock endpoints refuse a beta they do not serve as Bedrock does."""
import logging

import anthropic
import pytest

from providers.call_records import CallContext
from providers.calls import invoke
from providers.clients import betas
from tests.fake_providers import (
    AWS_KEY_ID,
    AWS_SECRET,
    WORKSPACE_KEY,
    anthropic_settings,
    aws_platform_settings,
    bedrock_settings,
    mantle_settings,
    model_calls,
)

CLAUDE_CODE_BETAS = ["claude-code-20250219", "context-1m-2025-08-07", "advanced-tool-use-2025-11-20",
                     "prompt-caching-scope-2026-01-05"]
PING = {"max_tokens": 8, "messages": [{"role": "user", "content": "ping"}]}
CONTEXT = CallContext(purpose="test")
pytestmark = pytest.mark.django_db  # the call path's breakers and usage sink


def header_flags(request):
    return [f for f in request.headers.get("anthropic-beta", "").split(",") if f]


def test_the_fake_refuses_what_bedrock_refuses(bedrock_fake):
    """Without the layer, the SDK sends every beta and Bedrock fails the whole request."""
    sdk = anthropic.AnthropicBedrock(aws_region="us-east-1", aws_access_key=AWS_KEY_ID, aws_secret_key=AWS_SECRET,
                                     base_url=bedrock_fake.url, max_retries=0)
    with pytest.raises(anthropic.BadRequestError, match="invalid beta flag"):
        sdk.messages.create(model="us.anthropic.claude-opus-4-6-v1", extra_body={"anthropic_version":
                                                                                   "bedrock-2023-05-31"},
                            extra_headers={"anthropic-beta": "files-api-2025-04-14"}, **PING)


def test_messages_api_on_bedrock_drops_and_translates(bedrock_fake, caplog):
    caplog.set_level(logging.WARNING, logger="providers.clients.betas")
    result = invoke([bedrock_settings(bedrock_fake)], {"model": "sonnet", "betas": CLAUDE_CODE_BETAS, **PING},
                    CONTEXT)
    [call] = model_calls(bedrock_fake)
    assert call.path == "/anthropic/v1/messages"
    assert header_flags(call) == ["context-1m-2025-08-07", "tool-search-tool-2025-10-19"]
    changes = " ".join(result.record.adaptations)
    assert "beta claude-code-20250219 dropped" in changes and "prompt-caching-scope-2026-01-05 dropped" in changes
    assert "advanced-tool-use-2025-11-20 sent as tool-search-tool-2025-10-19" in changes
    assert "dropped: not accepted by Bedrock Messages API" in caplog.text


def test_invoke_model_gets_them_in_the_body_as_anthropic_beta(bedrock_fake):
    request = {"model": "claude-opus-4-6", "extra_headers": {"anthropic-beta": "context-1m-2025-08-07,skills-2025-10-02"},
               **PING}
    invoke([bedrock_settings(bedrock_fake)], request, CONTEXT)
    [call] = model_calls(bedrock_fake)
    assert call.path.endswith("/invoke")
    assert call.json["anthropic_beta"] == ["context-1m-2025-08-07"]


def test_mantle_keeps_what_mantle_takes(mantle_fake):
    invoke([mantle_settings(mantle_fake)], {"model": "sonnet", "betas": CLAUDE_CODE_BETAS, **PING}, CONTEXT)
    [call] = [r for r in mantle_fake.requests if r.path == "/anthropic/v1/messages"]
    assert header_flags(call) == ["claude-code-20250219", "context-1m-2025-08-07", "tool-search-tool-2025-10-19"]


def test_the_claude_api_and_claude_platform_on_aws_get_every_beta(anthropic_fake, aws_platform_fake):
    unknown = "brand-new-beta-2027-01-01"
    for settings, fake in ((anthropic_settings(anthropic_fake), anthropic_fake),
                           (aws_platform_settings(aws_platform_fake, auth_mode="api_key", api_key=WORKSPACE_KEY),
                            aws_platform_fake)):
        result = invoke([settings], {"model": "haiku", "betas": [*CLAUDE_CODE_BETAS, unknown], **PING}, CONTEXT)
        [call] = model_calls(fake)
        assert header_flags(call) == [*CLAUDE_CODE_BETAS, unknown]
        assert not any("beta" in change for change in result.record.adaptations)


def test_configured_betas_join_the_requests_and_follow_the_same_rule(bedrock_fake):
    settings = bedrock_settings(bedrock_fake, beta_flags=("files-api-2025-04-14", "effort-2025-11-24"))
    invoke([settings], {"model": "sonnet", "betas": ["context-1m-2025-08-07"], **PING}, CONTEXT)
    [call] = model_calls(bedrock_fake)
    assert header_flags(call) == ["effort-2025-11-24", "context-1m-2025-08-07"]


def test_after_failover_the_fallback_gets_its_own_translation(bedrock_fake, anthropic_fake):
    from providers.fakes import Fault

    bedrock_fake.inject(Fault("overloaded", times=None))
    result = invoke([bedrock_settings(bedrock_fake), anthropic_settings(anthropic_fake)],
                    {"model": "sonnet", "betas": ["tool-search-tool-2025-10-19"], **PING}, CONTEXT)
    assert result.provider_kind == "anthropic"
    [call] = model_calls(anthropic_fake)
    assert header_flags(call) == ["advanced-tool-use-2025-11-20"]


@pytest.mark.parametrize("flag, target, expected", [
    ("context-1m-2025-08-07", "bedrock:invoke", ("pass", "context-1m-2025-08-07")),
    ("files-api-2025-04-14", "bedrock:messages", ("drop", None)),
    ("advanced-tool-use-2025-11-20", "bedrock:mantle", ("translate", "tool-search-tool-2025-10-19")),
    ("never-heard-of-it", "bedrock:invoke", ("drop", None)),
    ("never-heard-of-it", "aws_platform", ("pass", "never-heard-of-it")),
])
def test_verdicts(flag, target, expected):
    assert betas.verdict(flag, target) == expected


def test_the_table_has_a_cell_for_every_target():
    rows = dict(betas.table())
    assert rows["files-api-2025-04-14"]["anthropic"] == "accepted"
    assert rows["files-api-2025-04-14"]["bedrock:invoke"] == "dropped"
    assert rows["advanced-tool-use-2025-11-20"]["bedrock:messages"] == "as tool-search-tool-2025-10-19"
    assert all(set(cells) == set(betas.TARGETS) for cells in rows.values())
