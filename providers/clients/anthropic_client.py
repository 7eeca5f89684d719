"""The Anthropic API through the official SDK (anthropic.Anthropic)."""
import hashlib
import logging
import time
from dataclasses import replace

from providers.clients import betas as beta_policy
from providers.clients.adaptation import adapt_request
from providers.clients.base import Capabilities, Identity, MessageResult, PermissionCheck, ProviderClient
from providers.clients.catalog import load_catalog
from providers.clients.error_mapping import from_sdk_exception
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.request_check import PASSED_IN_BODY, check_request, merged_headers
from providers.clients.resolution import resolve
from providers.clients.retry import call_with_retries, remaining
from providers.clients.streaming import SdkMessageStream
from providers.clients.usage import Usage

log = logging.getLogger(__name__)
MIN_THINKING_BUDGET = 1024


def http_client(settings):
    """An SDK HTTP client honouring the TLS setting: a CA bundle path becomes an SSL context."""
    import ssl

    import anthropic

    verify = settings.verify
    if isinstance(verify, str):
        verify = ssl.create_default_context(cafile=verify)
    return anthropic.DefaultHttpxClient(verify=verify)


def key_hint(key):
    """Enough to recognise a key, never enough to use it."""
    return f"{key[:7]}…{key[-4:]}" if key and len(key) > 16 else "…"


def with_thinking_cap(request, settings):
    """The request with its thinking budget lowered to MAX_THINKING_TOKENS, if set and lower."""
    thinking = request.get("thinking")
    cap = settings.max_thinking_tokens
    if cap and isinstance(thinking, dict) and isinstance(thinking.get("budget_tokens"), int) \
            and thinking["budget_tokens"] > cap:
        return {**request, "thinking": {**thinking, "budget_tokens": cap}}
    return request


def cap_request(request, settings):
    """Apply the operator's caps (CLAUDE_CODE_MAX_OUTPUT_TOKENS, MAX_THINKING_TOKENS), keeping
    the thinking budget below max_tokens as the API requires."""
    capped = dict(request)
    if settings.max_output_tokens and capped.get("max_tokens", 0) > settings.max_output_tokens:
        capped["max_tokens"] = settings.max_output_tokens
    thinking = capped.get("thinking")
    if isinstance(thinking, dict) and thinking.get("budget_tokens"):
        limits = [thinking["budget_tokens"], capped["max_tokens"] - 1]
        if settings.max_thinking_tokens:
            limits.append(settings.max_thinking_tokens)
        budget = min(limits)
        if budget < MIN_THINKING_BUDGET:
            raise ProviderError(
                ErrorKind.INVALID_REQUEST,
                f"max_tokens {capped['max_tokens']} leaves no room for a thinking budget of at least "
                f"{MIN_THINKING_BUDGET} tokens.",
                hint="Raise max_tokens (or CLAUDE_CODE_MAX_OUTPUT_TOKENS), or turn thinking off.")
        capped["thinking"] = {**thinking, "budget_tokens": budget}
    return capped


_warned = set()


def warn_lifecycle(resolution):
    """Flag a deprecated or near-end-of-life model when it is used (once per process and model)."""
    if resolution.lifecycle_status != "active" and resolution.model_id not in _warned:
        _warned.add(resolution.model_id)
        log.warning("%s is %s: %s Remap the logical name to a current model.", resolution.model_id,
                    resolution.lifecycle_status.replace("_", " "), resolution.lifecycle_message)


def visibility_checks(model_ids, visible, holder):
    """Permission checks for APIs that list the models a credential may call (GET /v1/models)."""
    catalog = load_catalog()
    checks = []
    for model_id in model_ids:
        model = catalog.model(model_id)
        names = {model_id, *((model.key, *model.aliases) if model else ())}
        allowed = bool(names & visible)
        checks.append(PermissionCheck(action="models:read", resource=model_id, allowed=allowed,
                                      message="" if allowed else f"{model_id} is not visible to {holder}."))
    return checks


class SdkClientMixin:
    """What both providers share: both speak Messages through the anthropic SDK."""

    region = None
    profile_name = None  # the AWS profile credential errors name

    def _error(self, exc, model_id=None):
        return from_sdk_exception(exc, provider=self.kind, model_id=model_id, region=self.region,
                                  profile=self.profile_name)

    def _sdk(self):
        raise NotImplementedError

    def resolve_model(self, model):
        return self.resolution(model).model_id

    @property
    def beta_target(self):
        return beta_policy.beta_target(self.kind, getattr(self, "integration", None))

    def _prepare(self, request):
        """(SDK keyword arguments, options, resolution): the request checked, resolved, adapted to
        the model that will serve it (resolution.adaptations says how) and capped."""
        checked = check_request(request)
        resolution = self.resolution(checked.body["model"])
        warn_lifecycle(resolution)
        # Adapt with sampling parameters in view and the operator's thinking cap applied first, so
        # MAX_THINKING_TOKENS turns into an effort level on models that take no budget.
        full = with_thinking_cap({**checked.body, **checked.extra_body}, self.settings)
        adapted, changes = adapt_request(full, resolution.catalog_key or resolution.model_id)
        if changes:
            log.info("Request adapted to %s: %s", resolution.model_id, "; ".join(changes))
        body = cap_request(adapted, self.settings)
        body = {**body, "model": resolution.model_id}
        body.pop("stream", None)
        options = {}
        extra_body = {k: body.pop(k) for k in PASSED_IN_BODY if k in body}
        if extra_body:
            options["extra_body"] = extra_body
        headers = merged_headers(self.settings.beta_flags, checked)
        flags = headers.pop("anthropic-beta", "")
        if flags:  # betas the serving provider does not accept are dropped or translated (providers.clients.betas)
            kept, beta_changes = beta_policy.filter_betas(flags.split(","), self.beta_target, model_id=resolution.model_id)
            changes = [*changes, *beta_changes]
            if kept:
                headers["anthropic-beta"] = ",".join(kept)
        if headers:
            options["extra_headers"] = headers
        return body, options, replace(resolution, adaptations=tuple(changes))

    def listed_model_ids(self, cache_key, ttl):
        """IDs from the Models API (GET /v1/models), kept `ttl` seconds under `cache_key`, which must
        name whoever asks: another credential never reuses the answer."""
        if self._availability_cache is not None:
            cached = self._availability_cache.get(cache_key)
            if cached is not None:
                return set(cached)
        try:
            ids = {model.id for model in self._sdk().models.list(limit=1000)}
        except Exception as exc:
            raise from_sdk_exception(exc, provider=self.kind) from exc
        if self._availability_cache is not None:
            self._availability_cache.set(cache_key, sorted(ids), ttl)
        return ids

    def _attempt_timeout(self, deadline):
        left = remaining(deadline)
        if left is not None and left <= 0:
            raise ProviderError(ErrorKind.TIMEOUT, "The call's deadline passed before this provider was tried.",
                                provider=self.kind)
        return self.settings.timeout if left is None else min(self.settings.timeout, left)

    def create_message(self, request, *, deadline=None):
        body, options, resolution = self._prepare(request)
        model_id = resolution.model_id
        started = time.monotonic()

        def send():
            try:
                return self._sdk().messages.with_raw_response.create(
                    **body, **options, timeout=self._attempt_timeout(deadline))
            except Exception as exc:
                raise self._error(exc, model_id) from exc

        raw, attempts = call_with_retries(send, self.settings.retry, describe=f"{self.kind} {model_id}",
                                          deadline=deadline)
        try:
            # The response JSON as sent: no pydantic model built only to be dumped back to a dict.
            message = raw.parse(to=object)
            if not isinstance(message, dict) or not isinstance(message.get("content"), list):
                raise ValueError("the response is not a Messages API message")
            usage = Usage.from_anthropic(message.get("usage"))
        except Exception as exc:
            raise self._error(exc, model_id) from exc
        return MessageResult(
            message=message,
            usage=usage,
            provider_kind=self.kind,
            model_id=model_id,
            request_id=raw.headers.get("request-id") or raw.headers.get("x-amzn-requestid"),
            latency_ms=(time.monotonic() - started) * 1000,
            attempts=attempts,
            lifecycle_message=resolution.lifecycle_message,
            resolution=resolution,
        )

    def stream_message(self, request, *, deadline=None):
        body, options, resolution = self._prepare(request)
        model_id = resolution.model_id

        def open_stream():
            try:
                return self._sdk().messages.with_raw_response.create(
                    **body, **options, stream=True, timeout=self._attempt_timeout(deadline))
            except Exception as exc:
                raise self._error(exc, model_id) from exc

        stream = SdkMessageStream(open_stream, self.settings.retry, provider=self.kind, model_id=model_id,
                                  region=self.region, deadline=deadline, map_error=self._error)
        stream.lifecycle_message = resolution.lifecycle_message
        stream.resolution = resolution
        return stream

    def capabilities(self, model_id):
        model = load_catalog().model(model_id)
        return Capabilities(
            prompt_caching=True,
            extended_thinking=bool(model and model.extended_thinking),
            batch=self.kind == "anthropic",
            token_counting=True,
            guardrails=self.kind == "bedrock",
            beta_flags=True,
            notes=(model.note,) if model and model.note else (),
        )


class AnthropicClient(SdkClientMixin, ProviderClient):
    kind = "anthropic"

    def __init__(self, settings, availability_cache=None):
        super().__init__(settings)
        if not settings.api_key:
            raise ProviderError(ErrorKind.CONFIGURATION, "No Anthropic API key is configured.",
                                provider=self.kind, hint="Set the environment variable the configuration names (in .env at the project root "
                                     "or the environment of `make run`), or store the key on the provider page.")
        self._client = None
        self._availability_cache = availability_cache

    def _sdk(self):
        if self._client is None:
            import anthropic

            options = {"api_key": self.settings.api_key, "max_retries": 0, "timeout": self.settings.timeout}
            if self.settings.base_url:
                options["base_url"] = self.settings.base_url
            if self.settings.verify is not True:
                options["http_client"] = http_client(self.settings)
            self._client = anthropic.Anthropic(**options)
        return self._client

    def resolution(self, model):
        return resolve(self.settings, model)

    def count_tokens(self, request):
        body, options, resolution = self._prepare(request)
        model_id = resolution.model_id
        for key in ("max_tokens", "metadata", "stop_sequences", "service_tier", "inference_geo", "speed"):
            body.pop(key, None)
        options.pop("extra_body", None)
        try:
            return self._sdk().messages.count_tokens(**body, **options).input_tokens
        except Exception as exc:
            raise from_sdk_exception(exc, provider=self.kind, model_id=model_id) from exc

    def identity(self):
        try:
            self._sdk().models.list(limit=1)  # free and never cached: proves the key works now
        except Exception as exc:
            raise from_sdk_exception(exc, provider=self.kind) from exc
        return Identity(provider_kind=self.kind, key_hint=key_hint(self.settings.api_key), auth_mode="api_key")

    def available_model_ids(self):
        # Keyed by a digest of the whole key: a different key must never reuse this answer.
        digest = hashlib.sha256(self.settings.api_key.encode()).hexdigest()[:32]
        cache_key = f"anthropic-models:{self.settings.base_url}:{digest}"
        return self.listed_model_ids(cache_key, 600)

    def check_permissions(self, model_ids):
        return visibility_checks(model_ids, self.available_model_ids(), "this API key")
