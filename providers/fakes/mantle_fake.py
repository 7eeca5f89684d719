"""FakeBedrockMantle: the bedrock-mantle endpoint (``https://bedrock-mantle.{region}.api.aws``).

Same identities, catalog, prompt cache and faults as FakeBedrock; SigV4 service ``bedrock-mantle``
(or a Bedrock API key); one operation, ``POST /anthropic/v1/messages`` (IAM action
``bedrock-mantle:CreateInference``), which takes bare ``anthropic.<model>`` IDs only.
"""

from __future__ import annotations

from . import bedrock_messages_api
from .aws_errors import AwsError
from .aws_identity import Identity
from .bedrock_call import Call
from .bedrock_fake import FakeBedrock
from .exchange import Exchange

CREATE_INFERENCE = "bedrock-mantle:CreateInference"


class FakeBedrockMantle(FakeBedrock):
    service = "bedrock-mantle"
    serves_sts = False

    def _route(self, ex: Exchange, identity: Identity, region: str) -> Call:
        if bedrock_messages_api.is_messages_request(ex):
            return bedrock_messages_api.call_for(
                self, ex, identity, region, CREATE_INFERENCE, bedrock_messages_api.mantle_messages
            )
        raise AwsError(404, "UnknownOperationException", "")
