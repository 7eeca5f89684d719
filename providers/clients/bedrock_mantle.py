"""bedrock-mantle: the Messages API at ``https://bedrock-mantle.{region}.api.aws/anthropic``.

On the SDK's ``AnthropicBedrockMantle``: a Bedrock API key goes through the SDK as ``Authorization:
Bearer``; SigV4 (service ``bedrock-mantle``) is the same botocore-signing HTTP auth as the Messages-API
client, with the SDK's own auth off (``skip_auth``), so only the provider's credentials are used. Mantle takes bare ``anthropic.<model>`` IDs: no geo prefix, no profile,
no ARN; each call needs IAM ``bedrock-mantle:CreateInference``. It has no token-counting operation
this client knows of, and the Bedrock control plane does not describe it, so the catalog decides
which IDs to send.
"""
from dataclasses import replace

from anthropic.lib.bedrock import AnthropicBedrockMantle

from providers.clients.aws_sigv4 import sdk_http_client, signing_auth
from providers.clients.base import PermissionCheck
from providers.clients.bedrock_client import BedrockClient
from providers.clients.bedrock_integrations import INTEGRATION_ACTIONS
from providers.clients.bedrock_messages import probe_messages_api
from providers.clients.catalog import load_catalog, strip_profile
from providers.clients.errors import ErrorKind, ProviderError

CREATE_INFERENCE = INTEGRATION_ACTIONS["mantle"][0]
SIGNING_SERVICE = "bedrock-mantle"


def mantle_url(settings):
    root = settings.mantle_endpoint_url or f"https://bedrock-mantle.{settings.aws_region}.api.aws"
    return root.rstrip("/") + "/anthropic"


def mantle_model_id(model_id):
    """The mantle ID for a Bedrock ID: the catalog's ``mantle_id`` when it has one, else the bare base ID."""
    model = load_catalog().model(model_id)
    return getattr(model, "mantle_id", None) or strip_profile(model_id)


class BedrockMantleClient(BedrockClient):
    integration = "mantle"

    def _sdk(self):
        if self._client is None:
            # base_url always explicit: ANTHROPIC_BEDROCK_MANTLE_BASE_URL must not redirect signed calls.
            options = {"aws_region": self.region, "base_url": mantle_url(self.settings), "max_retries": 0,
                       "timeout": self.settings.timeout}
            if self.credentials.uses_bearer_token:
                self._client = AnthropicBedrockMantle(api_key=self.credentials.sdk_kwargs()["api_key"],
                                                      http_client=sdk_http_client(self.settings), **options)
            else:
                # SigV4 with this provider's credentials only: left to itself, the SDK would prefer an
                # ambient AWS_BEARER_TOKEN_BEDROCK over the default credential chain.
                auth = signing_auth(self.credentials, SIGNING_SERVICE, self.region, self.kind)
                self._client = AnthropicBedrockMantle(skip_auth=True, http_client=sdk_http_client(self.settings, auth),
                                                      **options)
        return self._client

    def resolution(self, model):
        resolution = super().resolution(model)
        return replace(resolution, model_id=mantle_model_id(resolution.model_id))

    def _availability(self):
        return None  # the Bedrock control plane lists bedrock-runtime's models and profiles, not mantle's

    def _probe(self, model_id, operation="invoke"):
        return probe_messages_api(self._sdk(), mantle_model_id(model_id), stream=False, provider=self.kind,
                                  region=self.region)

    def check_permissions(self, model_ids):
        checks = []
        for model_id in model_ids:
            error = self._probe(model_id)
            if error.kind is ErrorKind.PERMISSION:
                checks.append(PermissionCheck(error.missing_action or CREATE_INFERENCE, model_id, False,
                                              error.raw_message or error.message))
            elif error.kind in (ErrorKind.INVALID_REQUEST, ErrorKind.CONTEXT_TOO_LONG):
                checks.append(PermissionCheck(CREATE_INFERENCE, model_id, True))
            else:
                raise error
        return checks

    def capabilities(self, model_id):
        capabilities = super().capabilities(model_id)
        capabilities.token_counting = False
        return capabilities

    def count_tokens(self, request):
        raise ProviderError(ErrorKind.UNSUPPORTED, "Token counting is not offered on bedrock-mantle.",
                            provider=self.kind, hint="Count tokens through the Messages API integration or "
                                                     "InvokeModel with SigV4 credentials.")
