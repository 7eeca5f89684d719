"""Protocol-faithful local fakes of the Anthropic Messages API, Amazon Bedrock (InvokeModel, the
Messages API on bedrock-runtime, bedrock-mantle) and Claude Platform on AWS.

Real SDKs (anthropic, boto3) talk to them over real HTTP(S); nothing is mocked::

    from providers.fakes import FakeAnthropic, FakeBedrock, Fault

    with FakeAnthropic(api_keys={"sk-ant-test-key-1"}) as a:
        client = anthropic.Anthropic(api_key="sk-ant-test-key-1", base_url=a.url)
        a.inject(Fault("overloaded"))
"""

from .anthropic_fake import FakeAnthropic
from .aws_platform_fake import FakeAwsPlatform
from .bedrock_fake import FakeBedrock
from .exchange import RecordedRequest
from .faults import KINDS as FAULT_KINDS
from .faults import Fault
from .mantle_fake import FakeBedrockMantle

__all__ = ["FakeAnthropic", "FakeAwsPlatform", "FakeBedrock", "FakeBedrockMantle", "Fault", "FAULT_KINDS", "RecordedRequest"]
