"""Amazon Bedrock: Messages through anthropic.AnthropicBedrock, the control plane and STS through boto3."""
import hashlib
import importlib
import logging
import time
import urllib.parse
from dataclasses import replace

from providers.clients.anthropic_client import SdkClientMixin, http_client, key_hint
from providers.clients.aws_credentials import AwsCredentials
from providers.clients.base import Identity, PermissionCheck, ProviderClient
from providers.clients.bedrock_integrations import INTEGRATION_CLIENTS, choose_bedrock_integration
from providers.clients.catalog import load_catalog
from providers.clients.error_mapping import credential_error, from_client_error
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.guardrails import guardrail_headers, stream_body
from providers.clients.model_ids import priced_as
from providers.clients.resolution import resolve

log = logging.getLogger(__name__)
BEDROCK_VERSION = "bedrock-2023-05-31"
AVAILABILITY_TTL = 600  # seconds; model access changes rarely, a console change shows within 10 minutes
LOCAL_TTL = 60  # seconds a client keeps the shared answer in memory
# Answers of the zero-token probe that prove a Bedrock API key was accepted: the request reached
# Bedrock and got past authentication.
KEY_PROVEN_KINDS = frozenset({ErrorKind.INVALID_REQUEST, ErrorKind.CONTEXT_TOO_LONG, ErrorKind.PERMISSION,
                              ErrorKind.MODEL_NOT_AVAILABLE, ErrorKind.RATE_LIMITED})
INVOKE_ACTIONS = {"invoke": "bedrock:InvokeModel", "invoke-with-response-stream": "bedrock:InvokeModelWithResponseStream"}


class _LocalTtlCache:
    """Used when the caller passes no shared cache (scripts, the fakes' demo)."""

    def __init__(self):
        self._values = {}

    def get(self, key):
        value, expires = self._values.get(key, (None, 0))
        return value if expires > time.monotonic() else None

    def set(self, key, value, timeout):
        self._values[key] = (value, time.monotonic() + timeout)

    def clear(self):
        self._values.clear()


_local_cache = _LocalTtlCache()


class BedrockClient(SdkClientMixin, ProviderClient):
    """The Bedrock provider: legacy InvokeModel itself, and for each call the integration its model is
    documented for (the catalog) or the provider's override: the Messages API on bedrock-runtime or
    bedrock-mantle, through a client of that integration built on the same settings."""

    kind = "bedrock"
    integration = "invoke"

    def __init__(self, settings, availability_cache=None):
        super().__init__(settings)
        if not settings.aws_region:
            raise ProviderError(ErrorKind.CONFIGURATION, "Bedrock needs an AWS region.", provider=self.kind)
        self.region = settings.aws_region
        self.credentials = AwsCredentials(settings)
        self._cache = availability_cache if availability_cache is not None else _local_cache
        self._client = None
        self._integration_clients = {}
        self._availability_memo = (None, 0.0)
        self._resolutions = (None, {})  # (the availability answer's identity, {model: resolution})

    @property
    def profile_name(self):
        return self.settings.aws_profile

    def _sdk(self):
        if self._client is None:
            import anthropic

            credentials = self.credentials.sdk_kwargs()
            options = {"aws_region": self.region, "max_retries": 0, "timeout": self.settings.timeout,
                       "api_key": credentials.get("api_key")}
            if self.settings.endpoint_url:
                options["base_url"] = self.settings.endpoint_url
            if self.settings.verify is not True:
                options["http_client"] = http_client(self.settings)
            client = anthropic.AnthropicBedrock(**options)
            if not self.credentials.uses_bearer_token:
                # Each auth mode uses only its own credentials: the SDK picks up an ambient
                # AWS_BEARER_TOKEN_BEDROCK when api_key is None, so set the SigV4 ones afterwards.
                client.api_key = None
                client.aws_access_key = credentials.get("aws_access_key")
                client.aws_secret_key = credentials.get("aws_secret_key")
                client.aws_session_token = credentials.get("aws_session_token")
                client.aws_profile = credentials.get("aws_profile")
            self._client = client
        return self._client

    # --- the integration per model ------------------------------------------
    def for_model(self, model):
        """The client of the integration that serves `model`: this one, or one of the other integrations.
        Only the provider's own client routes; an integration's client serves what it is given."""
        if self.integration != "invoke" or not isinstance(model, str):
            return self
        try:
            resolution = self.resolution(model)
        except ProviderError:
            return self  # the call itself reports it, recorded like any failure
        chosen = choose_bedrock_integration(load_catalog().model(resolution.catalog_key or resolution.model_id),
                                            self.settings.bedrock_integration)
        if chosen == self.integration:
            return self
        if chosen not in self._integration_clients:
            module_name, _, class_name = INTEGRATION_CLIENTS[chosen].rpartition(".")
            client_class = getattr(importlib.import_module(module_name), class_name)
            self._integration_clients[chosen] = client_class(self.settings, availability_cache=self._cache)
        return self._integration_clients[chosen]

    def create_message(self, request, *, deadline=None):
        target = self.for_model(request.get("model") if isinstance(request, dict) else None)
        if target is not self:
            return target.create_message(request, deadline=deadline)
        return super().create_message(request, deadline=deadline)

    def stream_message(self, request, *, deadline=None):
        target = self.for_model(request.get("model") if isinstance(request, dict) else None)
        if target is not self:
            return target.stream_message(request, deadline=deadline)
        stream = super().stream_message(request, deadline=deadline)
        stream.guardrail_async = bool(stream_body(self.settings)) and self.integration == "invoke"
        return stream

    def _prepare(self, request):
        body, options, resolution = super()._prepare(request)
        if self.integration == "invoke":
            # InvokeModel's models (Opus 4.6 and earlier) refuse the SDK's dated API version.
            options["extra_body"] = {**options.get("extra_body", {}), "anthropic_version": BEDROCK_VERSION}
            headers = guardrail_headers(self.settings)
            if headers:
                options["extra_headers"] = {**options.get("extra_headers", {}), **headers}
        return body, options, resolution

    def _stream_options(self, options):
        extra = stream_body(self.settings) if self.integration == "invoke" else {}
        return {**options, "extra_body": {**options.get("extra_body", {}), **extra}} if extra else options

    # --- model translation -------------------------------------------------
    def resolution(self, model):
        """The model's resolution, kept in memory as long as the availability answer it was made from
        (at most LOCAL_TTL seconds): routing a call and preparing it both ask, on every call."""
        available = self._availability()
        stamp, known = self._resolutions
        current = (id(available), self._availability_memo[1], int(time.monotonic() // LOCAL_TTL))
        if stamp != current:
            stamp, known = self._resolutions = (current, {})
        found = known.get(model) if isinstance(model, str) else None
        if found is None:
            found = resolve(self.settings, model, available=available)
            if found.scope == "custom" and not self.credentials.uses_bearer_token:
                found = self._with_profile_target(found)
            if isinstance(model, str) and len(known) < 256:
                known[model] = found
        return found

    def _with_profile_target(self, resolution):
        """An operator's profile ID or application profile ARN: ask Bedrock which model it routes to."""
        try:
            models = self.profile_models(resolution.model_id)
        except ProviderError as error:
            if error.kind is ErrorKind.MODEL_NOT_AVAILABLE:
                return replace(resolution, available=False, note=f"Inference profile {resolution.model_id} "
                                                                 f"does not exist in {self.region}.")
            return resolution  # e.g. no bedrock:GetInferenceProfile: keep what the catalog says
        model = load_catalog().model(models[0]) if models else None
        return replace(resolution, available=True, base_model_id=models[0] if models else None,
                       catalog_key=model.key if model else None,
                       profile_target=self.profile_target(resolution.model_id) if models else None)

    def profile_models(self, profile_id):
        """Foundation model IDs behind an inference profile (GetInferenceProfile), cached like availability."""
        return [arn.rsplit("/", 1)[-1] for arn in self._profile_model_arns(profile_id)]

    def profile_target(self, profile_id):
        """The model ID an operator's profile is priced as (providers.clients.model_ids.priced_as)."""
        return priced_as(self._profile_model_arns(profile_id))

    def _profile_model_arns(self, profile_id):
        cache_key = f"bedrock-profile-arns:{self.region}:{profile_id}"
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        try:
            answer = self._control().get_inference_profile(inferenceProfileIdentifier=profile_id)
        except Exception as exc:
            raise _aws_error(exc, self.settings.aws_profile) from exc
        arns = [m["modelArn"] for m in answer.get("models", [])]
        self._cache.set(cache_key, arns, AVAILABILITY_TTL)
        return arns

    def _availability(self):
        """IDs callable here per the control plane, or None (use the catalog) when it cannot be asked.

        Pooled clients keep the answer LOCAL_TTL seconds in memory on top of the shared cache,
        so a call costs no cache round trip for it."""
        if self.credentials.uses_bearer_token:
            return None
        memo, expires = self._availability_memo
        if time.monotonic() < expires:
            return memo
        ids = self._shared_availability()
        self._availability_memo = (ids, time.monotonic() + LOCAL_TTL)
        return ids

    def _shared_availability(self):
        # Keyed by who asks as well as where: another credential (account, role) never reuses the answer.
        s = self.settings
        who = hashlib.sha256(repr((s.auth_mode, s.aws_profile, s.aws_access_key_id, s.role_arn,
                                   s.external_id)).encode()).hexdigest()[:32]
        cache_key = f"bedrock-availability:{self.region}:{s.control_endpoint_url or ''}:{who}"
        cached = self._cache.get(cache_key)
        if cached is not None:
            return set(cached["ids"]) if cached["ids"] is not None else None
        try:
            ids = self._list_callable_ids()
        except ProviderError as error:
            log.warning("Bedrock control plane unavailable in %s (%s); using the shipped catalog",
                        self.region, error.kind.value)
            ids = None
        self._cache.set(cache_key, {"ids": sorted(ids) if ids is not None else None}, AVAILABILITY_TTL)
        return ids

    def _list_callable_ids(self):
        control = self._control()
        try:
            models = control.list_foundation_models(byProvider="Anthropic")["modelSummaries"]
            ids = {m["modelId"] for m in models if "ON_DEMAND" in m.get("inferenceTypesSupported", [])}
            for page in control.get_paginator("list_inference_profiles").paginate():
                ids |= {p["inferenceProfileId"] for p in page["inferenceProfileSummaries"]
                        if p.get("status", "ACTIVE") == "ACTIVE"}
        except Exception as exc:
            raise _aws_error(exc, self.settings.aws_profile) from exc
        return ids

    def available_model_ids(self):
        ids = self._availability()
        if ids is not None:
            return ids
        catalog = load_catalog()  # no control plane: what the shipped catalog says this region serves
        return {
            (m.bedrock_base_id if scope == "in_region" else f"{scope}.{m.bedrock_base_id}")
            for m in catalog.models.values() if m.bedrock_base_id
            for scope in catalog.bedrock_served_in(m, self.region)
        }

    def _control(self):
        return self.credentials.client("bedrock", self.settings.control_endpoint_url)

    # --- credentials and permissions ---------------------------------------
    def identity(self):
        if self.credentials.uses_bearer_token:
            # STS does not take API keys: a zero-token probe proves the key instead, and only an
            # answer from Bedrock that got past authentication does (not a TLS or network failure).
            probe = self._probe(self.resolve_model("haiku"), "invoke")
            if probe.kind not in KEY_PROVEN_KINDS:
                raise probe
            return Identity(provider_kind=self.kind, key_hint=key_hint(self.settings.bedrock_api_key),
                            auth_mode="api_key")
        try:
            answer = self.credentials.client("sts", self.settings.sts_endpoint_url).get_caller_identity()
        except Exception as exc:
            error = _aws_error(exc, self.settings.aws_profile)
            if error.kind not in (ErrorKind.CONNECTION, ErrorKind.TIMEOUT) or self.settings.role_arn:
                raise error from exc
            return self._identity_without_sts(error)
        expires = self.credentials.expires_at
        return Identity(provider_kind=self.kind, account=answer["Account"], arn=answer["Arn"],
                        auth_mode=self.settings.auth_mode + (" + assume role" if self.settings.role_arn else ""),
                        expires_at=expires.isoformat() if expires else None)

    def _identity_without_sts(self, sts_error):
        """STS unreachable (a private network without an STS endpoint): prove the credentials with a
        signed Bedrock control-plane call instead (ListFoundationModels), and say so."""
        try:
            self._control().list_foundation_models(byProvider="Anthropic")
        except Exception as exc:
            control_error = _aws_error(exc, self.settings.aws_profile)
            if control_error.kind in (ErrorKind.CONNECTION, ErrorKind.TIMEOUT):
                raise sts_error from exc  # nothing reached AWS at all: the STS failure is the finding
            raise control_error from exc
        return Identity(provider_kind=self.kind, auth_mode=self.settings.auth_mode,
                        note=f"STS could not be used ({sts_error.message}); the credentials were proven by a "
                             "signed Bedrock control-plane call (ListFoundationModels) instead, so the account "
                             "and ARN are unknown.")

    def check_permissions(self, model_ids):
        """Each model probed through the integration that serves it (the catalog's or the override),
        so the check names that integration's IAM actions: bedrock:InvokeModel* on bedrock-runtime,
        bedrock-mantle:CreateInference on mantle. The provider's own client then adds the checks that
        belong to the provider once, whatever its models: batch inference and the API key."""
        if self.integration != "invoke":
            return self._check_own_permissions(model_ids)  # an integration's client: its models only
        groups = {}
        for model_id in model_ids:
            groups.setdefault(self.for_model(model_id), []).append(model_id)
        checks = []
        for client, ids in groups.items():
            checks += (self._check_own_permissions(ids) if client is self else client.check_permissions(ids))
        if self.settings.batch_s3_bucket and self.settings.batch_role_arn and not self.credentials.uses_bearer_token:
            from providers.clients.batch_bedrock import BedrockBatches

            checks.extend(BedrockBatches(self).check_permissions())
        if self.credentials.uses_bearer_token and checks and all(c.allowed for c in checks):
            # Any authorized call with an API key proves bedrock:CallWithBearerToken.
            checks.append(PermissionCheck("bedrock:CallWithBearerToken", "*", True))
        return checks

    def _check_own_permissions(self, model_ids):
        """Send each model a request with an invalid body: Bedrock authorizes before it
        validates, so ValidationException proves the permission without spending tokens."""
        checks = []
        for model_id in model_ids:
            for operation, action in INVOKE_ACTIONS.items():
                error = self._probe(model_id, operation)
                if error.kind is ErrorKind.PERMISSION:
                    missing = error.missing_action or action
                    checks.append(PermissionCheck(missing, model_id, False, error.raw_message or error.message))
                elif error.kind in (ErrorKind.INVALID_REQUEST, ErrorKind.CONTEXT_TOO_LONG):
                    checks.append(PermissionCheck(action, model_id, True))
                else:
                    raise error
        return checks

    def _probe(self, model_id, operation):
        path = f"/model/{urllib.parse.quote(model_id, safe=':')}/{operation}"
        try:
            self._sdk().post(path, body={"max_tokens": 0, "messages": []}, cast_to=object)
        except Exception as exc:
            return self._error(exc, model_id)
        # Accepted an empty request: the permission is there, whatever the service thought of it.
        return ProviderError(ErrorKind.INVALID_REQUEST, "probe accepted", provider=self.kind)

    def capabilities(self, model_id):
        capabilities = super().capabilities(model_id)
        # CountTokens is an AWS API call: it needs SigV4, not a Bedrock API key.
        capabilities.token_counting = not self.credentials.uses_bearer_token
        return capabilities

    def count_tokens(self, request):
        if self.credentials.uses_bearer_token:
            raise ProviderError(ErrorKind.UNSUPPORTED, "Token counting on Bedrock needs SigV4 credentials.",
                                provider=self.kind)
        import json

        body, options, resolution = self._prepare(request)
        base_id = resolution.base_model_id or resolution.model_id
        invoke_body = {**{k: v for k, v in body.items() if k != "model"}, **options.get("extra_body", {})}
        invoke_body.setdefault("anthropic_version", BEDROCK_VERSION)
        runtime = self.credentials.client("bedrock-runtime", self.settings.endpoint_url)
        try:
            answer = runtime.count_tokens(modelId=base_id, input={"invokeModel": {"body": json.dumps(invoke_body)}})
        except Exception as exc:
            raise _aws_error(exc, self.settings.aws_profile) from exc
        return answer["inputTokens"]


def _aws_error(exc, profile):
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, (ClientError, EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        return from_client_error(exc)
    return credential_error(exc, profile)
