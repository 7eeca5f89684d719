"""Claude Platform on AWS (kind ``aws_platform``): the Anthropic-operated Claude API behind AWS auth.

On the SDK's ``anthropic.lib.aws.AnthropicAWS``: endpoint ``https://aws-external-anthropic.{region}.api.aws``,
the ``anthropic-workspace-id`` header on every request, and either a workspace API key (through the SDK)
or SigV4 with service ``aws-external-anthropic`` (credential chain, profile, environment, static keys,
optionally an assumed role), signed by the botocore HTTP auth of ``aws_sigv4`` with the SDK's own auth
off (``skip_auth``) so that only the provider's credentials are used. Model IDs are the Claude API's, so models resolve as on the Anthropic kind.
"""
import hashlib

from anthropic.lib.aws import AnthropicAWS

from providers.clients.anthropic_client import SdkClientMixin, key_hint, visibility_checks
from providers.clients.aws_credentials import AwsCredentials
from providers.clients.aws_sigv4 import sdk_http_client, signing_auth
from providers.clients.base import Identity, PermissionCheck, ProviderClient
from providers.clients.bedrock_messages import probe_messages_api
from providers.clients.error_mapping import from_sdk_exception
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.resolution import resolve

KIND = "aws_platform"
SIGNING_SERVICE = "aws-external-anthropic"
AVAILABILITY_TTL = 600
# IAM actions a SigV4 caller needs (docs.aws.amazon.com/claude-platform/latest/userguide/iam-policies.html;
# the AWS managed policy AnthropicInferenceAccess grants these and batch). A workspace API key needs
# CallWithBearerToken only when an IAM policy governs it; it is never probed.
CREATE_INFERENCE = f"{SIGNING_SERVICE}:CreateInference"
INFERENCE_ACTIONS = (CREATE_INFERENCE, f"{SIGNING_SERVICE}:CountTokens", f"{SIGNING_SERVICE}:GetModel",
                     f"{SIGNING_SERVICE}:ListModels")


def iam_policy(actions, region, workspace_id, account="*"):
    """A minimal identity policy granting `actions` on the provider's workspace."""
    resource = f"arn:aws:{SIGNING_SERVICE}:{region or '*'}:{account}:workspace/{workspace_id or '*'}"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ClaudePlatformOnAws", "Effect": "Allow", "Action": sorted(set(actions)), "Resource": resource}]}


def platform_url(settings):
    return (settings.base_url or f"https://aws-external-anthropic.{settings.aws_region}.api.aws").rstrip("/")


class AwsPlatformClient(SdkClientMixin, ProviderClient):
    kind = KIND

    def __init__(self, settings, availability_cache=None):
        super().__init__(settings)
        if not settings.aws_region:
            raise ProviderError(ErrorKind.CONFIGURATION, "Claude Platform on AWS needs an AWS region.",
                                provider=self.kind)
        if not settings.workspace_id:
            raise ProviderError(ErrorKind.CONFIGURATION, "Claude Platform on AWS needs a workspace ID.",
                                provider=self.kind, hint="Copy it from the workspace in the Claude Console "
                                                         "(it starts with wrkspc_).")
        if settings.auth_mode == "api_key" and not settings.api_key:
            raise ProviderError(ErrorKind.CONFIGURATION, "No workspace API key is configured.", provider=self.kind)
        self.region = settings.aws_region
        self.credentials = AwsCredentials(settings)
        self._availability_cache = availability_cache
        self._client = None

    @property
    def uses_api_key(self):
        return self.settings.auth_mode == "api_key"

    def _sdk(self):
        if self._client is None:
            # base_url always explicit: ANTHROPIC_AWS_BASE_URL must not redirect signed calls or the key.
            options = {"aws_region": self.region, "workspace_id": self.settings.workspace_id,
                       "base_url": platform_url(self.settings), "max_retries": 0, "timeout": self.settings.timeout}
            if self.uses_api_key:
                self._client = AnthropicAWS(api_key=self.settings.api_key, http_client=sdk_http_client(self.settings),
                                            **options)
            else:
                # SigV4 with this provider's credentials only: left to itself, the SDK would prefer an
                # ambient ANTHROPIC_AWS_API_KEY over the default credential chain.
                auth = signing_auth(self.credentials, SIGNING_SERVICE, self.region, self.kind)
                self._client = AnthropicAWS(skip_auth=True, http_client=sdk_http_client(self.settings, auth), **options)
        return self._client

    def resolution(self, model):
        return resolve(self.settings, model)

    def count_tokens(self, request):
        prepared = self._prepare(request)  # (body, [sdk options,] resolution)
        body, resolution = prepared[0], prepared[-1]
        for key in ("max_tokens", "stream", "metadata", "stop_sequences", "temperature", "top_p", "top_k"):
            body.pop(key, None)
        try:
            return self._sdk().messages.count_tokens(**body).input_tokens
        except Exception as exc:
            raise from_sdk_exception(exc, provider=self.kind, model_id=resolution.model_id) from exc

    def identity(self):
        try:
            self._sdk().models.list(limit=1)  # free: proves the credentials and the workspace now
        except Exception as exc:
            raise from_sdk_exception(exc, provider=self.kind) from exc
        if self.uses_api_key:
            return Identity(provider_kind=self.kind, key_hint=key_hint(self.settings.api_key), auth_mode="api_key")
        return Identity(provider_kind=self.kind, auth_mode=self.settings.auth_mode
                        + (" + assume role" if self.settings.role_arn else ""))

    def available_model_ids(self):
        # Keyed by who asks: a workspace and key (digested) or an auth mode never reuse another's answer.
        who = self.settings.api_key if self.uses_api_key else repr((self.settings.auth_mode, self.settings.aws_profile,
                                                                    self.settings.aws_access_key_id,
                                                                    self.settings.role_arn))
        digest = hashlib.sha256(f"{self.settings.workspace_id}:{who}".encode()).hexdigest()[:32]
        cache_key = f"aws-platform-models:{platform_url(self.settings)}:{digest}"
        return self.listed_model_ids(cache_key, AVAILABILITY_TTL)

    def check_permissions(self, model_ids):
        """Each model visible to the workspace; with SigV4 also aws-external-anthropic:CreateInference on it,
        proved by an invalid request (IAM authorizes before the API validates; no tokens spent)."""
        checks = visibility_checks(model_ids, self.available_model_ids(), "this workspace")
        if self.uses_api_key:
            return checks
        for model_id in model_ids:
            error = probe_messages_api(self._sdk(), model_id, stream=False, provider=self.kind, region=self.region)
            if error.kind is ErrorKind.PERMISSION:
                checks.append(PermissionCheck(error.missing_action or CREATE_INFERENCE, model_id, False,
                                              error.raw_message or error.message))
            elif error.kind in (ErrorKind.INVALID_REQUEST, ErrorKind.CONTEXT_TOO_LONG):
                checks.append(PermissionCheck(CREATE_INFERENCE, model_id, True))
            else:
                raise error
        return checks
