"""FakeAwsPlatform: Claude Platform on AWS (``https://aws-external-anthropic.{region}.api.aws``).

The Anthropic API (``/v1/messages``, ``/v1/messages/count_tokens``, ``/v1/models``, Claude API model
IDs) behind AWS authentication: SigV4 with service ``aws-external-anthropic``, or a workspace API key
(``x-api-key`` or ``Authorization: Bearer``, as the SDK's ``AnthropicAWS`` sends it). Every request
must name its workspace in ``anthropic-workspace-id``: 400 without it, 403 for a workspace the
caller may not use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .anthropic_fake import FakeAnthropic
from .aws_auth import authenticate
from .aws_identity import IdentityStore
from .bedrock_catalog import GEOS
from .exchange import Exchange
from .sigv4 import ALGORITHM, SigV4Error

SERVICE = "aws-external-anthropic"
DEFAULT_WORKSPACE = "wrkspc_fake_0001"
WORKSPACE_HEADER = "anthropic-workspace-id"
# (method, path) -> the IAM action AWS checks for a SigV4 caller (docs.aws.amazon.com/claude-platform IAM policies)
ACTIONS = {("POST", "/v1/messages"): "CreateInference", ("POST", "/v1/messages/count_tokens"): "CountTokens",
           ("GET", "/v1/models"): "ListModels"}


class FakeAwsPlatform(FakeAnthropic):
    def __init__(
        self,
        credentials: Mapping[str, str | tuple[str, str]] | None = None,
        api_keys: Iterable[str] = (),
        workspace_ids: Iterable[str] = (DEFAULT_WORKSPACE,),
        account_id: str = "123456789012",
        *,
        regions: Iterable[str] = GEOS["global"],
        **kwargs,
    ) -> None:
        super().__init__(api_keys=api_keys, **kwargs)
        self.identities = IdentityStore(credentials or {}, (), account_id)
        self.workspace_ids = set(workspace_ids)
        self.regions = frozenset(regions)
        self.denied_actions: set[str] = set()  # e.g. {"aws-external-anthropic:CreateInference"}: IAM says no

    def reset(self) -> None:
        super().reset()
        self.denied_actions.clear()

    def _authenticate(self, ex: Exchange) -> bool:
        if (ex.header("authorization") or "").startswith(ALGORITHM):
            try:
                identity, region = authenticate(
                    ex, self.identities, service=SERVICE, regions=self.regions, default_region="", allow_bearer=False
                )
            except SigV4Error as err:
                self._error(ex, 401, "authentication_error", err.message)
                return False
            # IAM authorizes before the API validates the body (so an invalid request proves a permission).
            action = f"{SERVICE}:{ACTIONS.get((ex.method, ex.raw_path.split('?')[0].rstrip('/')), '')}"
            if action in self.denied_actions:
                resource = f"arn:aws:{SERVICE}:{region}:{identity.account}:workspace/{ex.header(WORKSPACE_HEADER)}"
                self._error(ex, 403, "permission_error", f"User: {identity.arn} is not authorized to perform: "
                                                         f"{action} on resource: {resource}")
                return False
        elif not super()._authenticate(ex):
            return False
        workspace = ex.header(WORKSPACE_HEADER)
        if not workspace:
            self._error(ex, 400, "invalid_request_error", f"{WORKSPACE_HEADER}: header is required")
            return False
        if workspace not in self.workspace_ids:
            self._error(
                ex, 403, "permission_error", f"Workspace {workspace} does not exist or these credentials may not use it."
            )
            return False
        return True
