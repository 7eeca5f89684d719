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
        if ex.method == "POST" and ex.raw_path.rstrip("/") == bedrock_messages_api.PATH:
            streaming = isinstance(ex.json, dict) and ex.json.get("stream") is True
            return bedrock_messages_api.call_for(self, ex, identity, region, CREATE_INFERENCE, streaming)
        raise AwsError(404, "UnknownOperationException", "")
