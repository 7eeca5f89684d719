"""Claude in Amazon Bedrock: the Messages API at bedrock-runtime's ``/anthropic/v1/messages``.

The SDK has no client for this path, so it runs on ``anthropic.Anthropic`` pointed at
``https://bedrock-runtime.{region}.amazonaws.com/anthropic`` (or the endpoint URL + ``/anthropic``),
with botocore's SigV4 (service ``bedrock``) as the HTTP client's auth, or a Bedrock API key as
``Authorization: Bearer``. Model resolution, availability, identity and token counting are the
Bedrock client's; only the transport and the permission probe differ.
"""
import anthropic

from providers.clients.aws_sigv4 import sdk_http_client, signing_auth
from providers.clients.bedrock_client import BedrockClient
from providers.clients.error_mapping import from_sdk_exception
from providers.clients.errors import ErrorKind, ProviderError

MESSAGES_PATH = "/v1/messages"
# Authorization and any key from the environment are replaced by SigV4; never sent as they are.
NO_AMBIENT_AUTH = {"Authorization": anthropic.Omit(), "X-Api-Key": anthropic.Omit()}


class BedrockRuntimeAnthropic(anthropic.Anthropic):
    """``anthropic.Anthropic`` for an AWS endpoint.

    A subclass on purpose: the SDK runs its Anthropic credential chain (profiles on disk, workload
    identity) only for the base class, and those credentials must never go to AWS.
    """


def runtime_url(settings):
    """bedrock-runtime's root: the provider's endpoint URL (a VPC endpoint or proxy), else the region's."""
    return (settings.endpoint_url or f"https://bedrock-runtime.{settings.aws_region}.amazonaws.com").rstrip("/")


def runtime_messages_url(settings):
    return runtime_url(settings) + "/anthropic"


def probe_messages_api(sdk, model_id, *, stream, provider, region):
    """An invalid Messages request (no messages, max_tokens 0): AWS authorizes before it validates,
    so a validation error proves the permission without spending tokens."""
    body = {"model": model_id, "max_tokens": 0, "messages": [], **({"stream": True} if stream else {})}
    try:
        sdk.post(MESSAGES_PATH, body=body, cast_to=object)
    except Exception as exc:
        return from_sdk_exception(exc, provider=provider, model_id=model_id, region=region)
    return ProviderError(ErrorKind.INVALID_REQUEST, "probe accepted", provider=provider)


class BedrockMessagesClient(BedrockClient):
    integration = "messages"
    signing_service = "bedrock"

    def _sdk(self):
        if self._client is None:
            options = {"base_url": runtime_messages_url(self.settings), "max_retries": 0,
                       "timeout": self.settings.timeout}
            if self.credentials.uses_bearer_token:
                key = self.credentials.sdk_kwargs()["api_key"]
                self._client = BedrockRuntimeAnthropic(auth_token=key, http_client=sdk_http_client(self.settings),
                                                       **options)
            else:
                auth = signing_auth(self.credentials, self.signing_service, self.region, self.kind)
                self._client = BedrockRuntimeAnthropic(default_headers=NO_AMBIENT_AUTH,
                                                       http_client=sdk_http_client(self.settings, auth), **options)
                self._client.api_key = self._client.auth_token = None  # ignore ANTHROPIC_* from the environment
        return self._client

    def _probe(self, model_id, operation):
        return probe_messages_api(self._sdk(), model_id, stream=operation == "invoke-with-response-stream",
                                  provider=self.kind, region=self.region)
