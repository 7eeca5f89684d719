"""The provider interface: what every client offers, in the Anthropic Messages shape."""
import abc
import time
from dataclasses import dataclass, field

from providers.clients.usage import Usage

BEDROCK_AUTH_MODES = ("default_chain", "profile", "env", "static_keys", "api_key")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0  # cap of the exponential backoff
    max_retry_after: float = 10.0  # a longer Retry-After fails over instead of waiting
    retry_timeouts: bool = False  # a timed-out attempt may have been billed


@dataclass(frozen=True)
class ProviderSettings:
    """Resolved settings for one configured provider; secrets already decrypted.

    Built by the Django side from the stored configuration (or by a script), so
    the provider layer never touches the database or env-var indirection.
    """

    kind: str  # "anthropic", "bedrock" or "aws_platform"
    name: str = ""
    model_mapping: dict = field(default_factory=dict)  # logical name -> provider model ID
    timeout: float = 60.0
    retry: RetryPolicy = RetryPolicy()
    max_output_tokens: int | None = None  # cap (CLAUDE_CODE_MAX_OUTPUT_TOKENS)
    max_thinking_tokens: int | None = None  # cap (MAX_THINKING_TOKENS)
    verify: str | bool = True  # TLS: True, False, or a CA bundle path
    prompt_caching: bool = True  # automatic cache_control breakpoints (providers.clients.prompt_caching)
    prompt_caching_ttl: str = "5m"  # "5m" or "1h"
    # Anthropic
    api_key: str | None = None
    base_url: str | None = None
    beta_flags: tuple = ()
    # Bedrock
    aws_region: str | None = None
    auth_mode: str = "default_chain"
    aws_profile: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None
    aws_session_token: str | None = None
    bedrock_api_key: str | None = None
    endpoint_url: str | None = None  # runtime (VPC endpoint or proxy)
    control_endpoint_url: str | None = None  # bedrock control plane
    sts_endpoint_url: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    role_session_name: str = "moments-admin"
    role_duration_seconds: int = 3600
    geo_preference: str | None = None  # us, eu, apac, jp, global; None: by region
    inference_profile: str | None = None  # force one profile/ARN for every model
    # Bedrock integration: "auto" (each model's, from the catalog), "invoke", "messages" or "mantle"
    bedrock_integration: str = "auto"
    mantle_endpoint_url: str | None = None  # bedrock-mantle endpoint root (default: from the region)
    # Batch inference on Bedrock: input JSONL is written to and output read from this S3 location; the
    # service role is the one Bedrock assumes to read and write it.
    batch_s3_bucket: str | None = None
    batch_s3_prefix: str = "moments-batch"
    batch_role_arn: str | None = None
    s3_endpoint_url: str | None = None  # an S3 VPC endpoint or compatible store
    # Bedrock Guardrails: applied to every request this provider sends where the integration supports it.
    guardrail_identifier: str | None = None
    guardrail_version: str | None = None
    guardrail_stream_mode: str = "sync"  # "sync" (checked before it reaches you) or "async"
    # Where the integration takes no guardrail (the Anthropic API, Bedrock's Messages API and mantle): check
    # input and output with ApplyGuardrail when on; else the guardrail does not apply (the UI says so).
    guardrail_apply: bool = False
    guardrail_aws: object = None  # the ProviderSettings of the Bedrock provider whose AWS access calls it
    # Claude Platform on AWS (kind "aws_platform"): api_key holds a workspace API key in auth mode "api_key"
    workspace_id: str | None = None

    def redacted(self):
        """A dict safe to log or show: secrets (and the access key ID) replaced by whether they are set."""
        secret_fields = {"api_key", "aws_secret_access_key", "aws_session_token", "bedrock_api_key",
                         "aws_access_key_id"}
        out = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "guardrail_aws":
                value = value.name if value is not None else None  # its own secrets stay out of it
            out[name] = ("<set>" if value else None) if name in secret_fields else value
        return out


@dataclass
class MessageResult:
    message: dict  # an Anthropic Messages response, JSON-ready
    usage: Usage
    provider_kind: str
    model_id: str  # the provider model ID that was called
    request_id: str | None = None
    latency_ms: float = 0.0
    attempts: int = 1
    lifecycle_message: str = ""  # set when the model is deprecated or near its end of life
    resolution: object = None  # the catalog's ModelResolution: logical name, scope, region


@dataclass
class Identity:
    """Who the credentials are: account and ARN on AWS, key hint on Anthropic."""

    provider_kind: str
    account: str | None = None
    arn: str | None = None
    key_hint: str | None = None  # e.g. "sk-ant-…a1b2", never the key
    auth_mode: str | None = None
    expires_at: str | None = None
    note: str | None = None  # how the identity was proven when not the usual way (STS unreachable)


@dataclass
class PermissionCheck:
    action: str
    resource: str
    allowed: bool
    message: str = ""


@dataclass
class Capabilities:
    prompt_caching: bool = False
    extended_thinking: bool = False
    batch: bool = False
    token_counting: bool = False
    guardrails: bool = False
    beta_flags: bool = False
    streaming: bool = True
    tool_use: bool = True
    notes: tuple = ()


class MessageStream(abc.ABC):
    """Iterates Anthropic-style stream events (dicts with a "type").

    After the iteration ends: `usage`, `message` (the accumulated final
    message), `request_id`, `ttft_ms` and `model_id` are set.
    """

    usage: Usage = Usage()
    message: dict | None = None
    request_id: str | None = None
    ttft_ms: float | None = None
    model_id: str = ""
    attempts: int = 1
    lifecycle_message: str = ""
    resolution: object = None

    def __init__(self):
        self._started = time.monotonic()

    @abc.abstractmethod
    def __iter__(self):
        raise NotImplementedError

    def close(self):  # noqa: B027 - optional hook, nothing to release by default
        """Release the connection if the consumer stops early."""


class ProviderClient(abc.ABC):
    kind: str = ""

    def __init__(self, settings: ProviderSettings):
        self.settings = settings

    @abc.abstractmethod
    def create_message(self, request: dict) -> MessageResult:
        """Send a Messages request; `request["model"]` may be a logical name."""

    @abc.abstractmethod
    def stream_message(self, request: dict) -> MessageStream:
        """Stream a Messages request; retries only before the first event."""

    @abc.abstractmethod
    def count_tokens(self, request: dict) -> int:
        """Input tokens the request would use; UNSUPPORTED where the provider cannot."""

    @abc.abstractmethod
    def identity(self) -> Identity:
        """Resolve the credentials without spending tokens."""

    @abc.abstractmethod
    def check_permissions(self, model_ids) -> list[PermissionCheck]:
        """Whether the credentials may invoke each model, spending no tokens where possible."""

    @abc.abstractmethod
    def available_model_ids(self) -> set[str]:
        """The model IDs this provider serves for these credentials (and region)."""

    @abc.abstractmethod
    def capabilities(self, model_id: str) -> Capabilities:
        """What the provider offers for this model."""

    @abc.abstractmethod
    def resolve_model(self, model: str) -> str:
        """A logical name or provider model ID to the ID to send."""

    def check_health(self, model: str = "haiku") -> MessageResult:
        """A one-token request: the cheapest proof that the provider serves traffic."""
        return self.create_message(
            {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
        )
