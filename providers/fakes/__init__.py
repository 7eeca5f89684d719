"""Protocol-faithful local fakes of the Anthropic Messages API and Amazon Bedrock.

Real SDKs (anthropic, boto3) talk to them over real HTTP(S); nothing is mocked::

    from providers.fakes import FakeAnthropic, FakeBedrock, Fault

    with FakeAnthropic(api_keys={"sk-ant-test-key-1"}) as a:
        client = anthropic.Anthropic(api_key="sk-ant-test-key-1", base_url=a.url)
        a.inject(Fault("overloaded"))
"""

from .anthropic_fake import FakeAnthropic
from .bedrock_fake import FakeBedrock
from .exchange import RecordedRequest
from .faults import KINDS as FAULT_KINDS
from .faults import Fault

__all__ = ["FakeAnthropic", "FakeBedrock", "Fault", "FAULT_KINDS", "RecordedRequest"]
