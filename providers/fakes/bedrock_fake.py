"""FakeBedrock: Bedrock runtime + control plane + STS on one port, with real SigV4 checking.

Order of checks per request mirrors AWS: authenticate, authorize (IAM) on the resource named in
the URL, injected faults, then model availability and body validation.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote

from . import bedrock_control, bedrock_messages_api, bedrock_runtime, guardrails, sts
from .anthropic_models import ModelRegistry, ModelSpec
from .aws_auth import REST_JSON_CODES, authenticate
from .aws_errors import AwsError, validation_error
from .aws_identity import Identity, IdentityStore
from .bedrock_batch import Jobs
from .bedrock_call import Call
from .bedrock_catalog import Catalog, CatalogError
from .exchange import Exchange
from .server import FakeServer
from .sigv4 import SigV4Error
from .tokens import PromptCache
from .validation import ApiError

DEFAULT_CREDENTIALS = {"AKIAFAKEEXAMPLE0001": "fake-secret-0001"}
CORAL_SERVICE = "http://internal.amazon.com/coral/com.amazon.coral.service/"
CORAL_BEDROCK = "http://internal.amazon.com/coral/com.amazon.bedrock/"

BEDROCK_UNAVAILABLE = "Bedrock is unable to process your request."
# fault kind -> (status, error code, message)
FAULT_ERRORS = {
    "rate_limit": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "throttling": (429, "ThrottlingException", "Too many tokens, please wait before trying again."),
    "overloaded": (503, "ServiceUnavailableException", BEDROCK_UNAVAILABLE),  # Bedrock has no 529
    "unavailable": (503, "ServiceUnavailableException", BEDROCK_UNAVAILABLE),
    "service_unavailable_400": (400, "ServiceUnavailableException", BEDROCK_UNAVAILABLE),
    "server_error": (
        500,
        "InternalServerException",
        "The system encountered an unexpected error during processing. Try your request again.",
    ),
    "model_not_ready": (
        429,
        "ModelNotReadyException",
        "Model is not ready for inference. Wait and try your request again. "
        "Refer to the Bedrock User Guide for more details.",
    ),
    "model_timeout": (
        408,
        "ModelTimeoutException",
        "Model has timed out in processing the request. Try your request again.",
    ),
}


class FakeBedrock(FakeServer):
    def __init__(
        self,
        credentials: Mapping[str, str | tuple[str, str]] | None = None,
        bearer_tokens: Iterable[str] = (),
        account_id: str = "123456789012",
        *,
        region: str = "us-east-1",
        tls: bool = False,
        denied_actions: Iterable[str] | Mapping[str, Iterable[str]] | None = None,
        allowed_roles: Iterable[str] | Mapping[str, str | None] | None = None,
        external_id: str | None = None,
        region_models: Mapping[str, Iterable[str]] | None = None,
        models: Mapping[str, Mapping[str, Any]] | None = None,
        min_cache_tokens: int = 0,
        s3_endpoint_url: str | None = None,
        batch_min_records: int = 100,
        application_profiles: Mapping[str, str] | None = None,
        guardrails: Mapping[str, Mapping[str, Any]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port, tls=tls)
        self.account_id = account_id
        self.region = region
        self.identities = IdentityStore(
            DEFAULT_CREDENTIALS if credentials is None else credentials, bearer_tokens, account_id, denied_actions
        )
        self.catalog = Catalog(account_id, models=models, region_models=region_models)
        self.catalog.application_profiles.update(application_profiles or {})
        self.allowed_roles = allowed_roles
        self.external_id = external_id
        self.cache = PromptCache(min_tokens=min_cache_tokens)
        self._anthropic_models = ModelRegistry()
        self.s3_endpoint_url = s3_endpoint_url  # batch jobs read and write S3 there (moto's server mode)
        self.jobs = Jobs(self, min_records=batch_min_records)
        # guardrail id -> {"version", "blocked_words", "blocked_input_message", "blocked_output_message"}
        self.guardrails = {k: dict(v) for k, v in (guardrails or {}).items()}

    def anthropic_spec(self, model_id: str) -> ModelSpec:
        """Limits of the Anthropic model behind a Bedrock id (context window, max output)."""
        entry = self.catalog.models[model_id]
        spec = self._anthropic_models.resolve(entry.get("anthropic_id", ""))
        return spec or ModelSpec(
            entry.get("anthropic_id", model_id), entry.get("name", model_id), "1970-01-01T00:00:00Z"
        )

    # -- responses -----------------------------------------------------------
    def error_headers(self, ex: Exchange) -> dict[str, str]:
        return {"x-amzn-RequestId": ex.request_id}

    def aws_error(self, ex: Exchange, err: AwsError) -> None:
        namespace = (
            CORAL_SERVICE
            if err.code in {c for _, c in REST_JSON_CODES.values()} - {"AccessDeniedException"}
            else CORAL_BEDROCK
        )
        headers = {"x-amzn-RequestId": ex.request_id, "x-amzn-ErrorType": f"{err.code}:{namespace}", **err.headers}
        ex.send_json(err.status, {"message": err.message}, headers)

    def access_denied(self, call: Call, action: str | None = None) -> AwsError:
        action = action or call.action
        on = f" on resource: {call.resource}" if call.resource else ""
        return AwsError(
            403,
            "AccessDeniedException",
            f"User: {call.identity.arn} is not authorized to perform: {action}{on} because no "
            f"identity-based policy allows the {action} action",
        )

    # -- request flow ----------------------------------------------------------
    service = "bedrock"  # SigV4 signing name this endpoint accepts
    serves_sts = True

    def handle(self, ex: Exchange) -> None:
        ex.request_id = str(uuid.uuid4())
        if self.serves_sts and ex.method == "POST" and ex.raw_path in ("", "/") and ex.form is not None and "Action" in ex.form:
            return sts.handle(self, ex)
        call = None
        try:
            # The AWS front door: authentication and IAM answer in AWS's error shape on every path.
            identity, region = self._authenticate(ex)
            call = self._route(ex, identity, region)
            if identity.kind == "bearer" and self.identities.is_denied(identity, "bedrock:CallWithBearerToken"):
                raise self.access_denied(call, "bedrock:CallWithBearerToken")
            if self.identities.is_denied(identity, call.action):
                raise self.access_denied(call)
        except AwsError as err:
            return self.aws_error(ex, err)
        except CatalogError as err:
            return self.aws_error(ex, validation_error(str(err)))
        try:
            call.fault = self.take_fault(ex.raw_path, call.streaming)
            self._apply_fault(ex, call)
            call.handler(self, ex, call)
        except (AwsError, CatalogError, ApiError) as err:
            if call.messages_api:
                bedrock_messages_api.send_error(self, ex, err)
            elif isinstance(err, CatalogError):
                self.aws_error(ex, validation_error(str(err)))
            else:
                self.aws_error(ex, err)

    def _authenticate(self, ex: Exchange) -> tuple[Identity, str]:
        try:
            return authenticate(
                ex,
                self.identities,
                service=self.service,
                regions=self.catalog.regions,
                default_region=self.region,
                allow_bearer=True,
            )
        except SigV4Error as err:
            status, code = REST_JSON_CODES[err.reason]
            raise AwsError(status, code, err.message) from None

    def _apply_fault(self, ex: Exchange, call: Call) -> None:
        fault = call.fault
        if fault is None:
            return
        if fault.kind == "reset":
            ex.abort()
        elif fault.kind == "slow" and not (call.streaming and fault.after_events is not None):
            time.sleep(fault.sleep_seconds)
        elif fault.kind == "access_denied":
            raise self.access_denied(call)
        elif fault.kind in FAULT_ERRORS:
            status, code, message = FAULT_ERRORS[fault.kind]
            headers = {"retry-after": fault.retry_after_header} if status == 429 else None
            raise AwsError(status, code, message, headers)

    def _route(self, ex: Exchange, identity: Identity, region: str) -> Call:
        if bedrock_messages_api.is_messages_request(ex):
            stream = bedrock_messages_api.wants_stream(ex)
            action = "bedrock:InvokeModelWithResponseStream" if stream else "bedrock:InvokeModel"
            return bedrock_messages_api.call_for(self, ex, identity, region, action, bedrock_messages_api.messages)
        parts = [unquote(p) for p in ex.raw_path.split("/")[1:]]
        if ex.method == "POST" and len(parts) == 3 and parts[0] == "model":
            action, handler, streaming = {
                "invoke": ("bedrock:InvokeModel", bedrock_runtime.invoke, False),
                "invoke-with-response-stream": ("bedrock:InvokeModelWithResponseStream", bedrock_runtime.invoke, True),
                "count-tokens": ("bedrock:CountTokens", bedrock_runtime.count_tokens, False),
                "converse": ("bedrock:InvokeModel", bedrock_runtime.converse, False),
            }.get(parts[2], (None, None, False))
            if action is not None:
                target = self.catalog.parse(parts[1], region)
                return Call(identity, region, action, handler, target, target.resource_arn, streaming)
        job_route = self._job_route(ex.method, parts)
        if job_route is not None:
            action, handler, resource_id = job_route
            resource = (resource_id if resource_id and resource_id.startswith("arn:") else
                        f"arn:aws:bedrock:{region}:{self.account_id}:model-invocation-job/{resource_id or '*'}")
            return Call(identity, region, action, handler, resource=resource, resource_id=resource_id)
        if ex.method == "POST" and len(parts) == 5 and parts[0] == "guardrail" and parts[4] == "apply":
            return Call(identity, region, "bedrock:ApplyGuardrail", guardrails.apply_guardrail,
                        resource=f"arn:aws:bedrock:{region}:{self.account_id}:guardrail/{parts[1]}",
                        resource_id=parts[1])
        if ex.method == "GET" and parts[0] in ("foundation-models", "inference-profiles") and len(parts) <= 2:
            listing = len(parts) == 1 or not parts[1]
            if parts[0] == "foundation-models":
                action = "bedrock:ListFoundationModels" if listing else "bedrock:GetFoundationModel"
                resource = None if listing else self.catalog.model_arn(parts[1], region)
            else:
                action = "bedrock:ListInferenceProfiles" if listing else "bedrock:GetInferenceProfile"
                resource = None if listing else (
                    parts[1] if parts[1].startswith("arn:") else self.catalog.profile_arn(parts[1], region))
            return Call(identity, region, action, bedrock_control.handle, resource=resource)
        raise AwsError(404, "UnknownOperationException", "")

    def _job_route(self, method: str, parts: list[str]):
        """(IAM action, handler, job id) of a batch-inference path, or None."""
        if parts == ["model-invocation-job"] and method == "POST":
            return "bedrock:CreateModelInvocationJob", self.jobs.create, None
        if parts == ["model-invocation-jobs"] and method == "GET":
            return "bedrock:ListModelInvocationJobs", self.jobs.list, None
        if len(parts) == 2 and parts[0] == "model-invocation-job" and method == "GET":
            return "bedrock:GetModelInvocationJob", self.jobs.get, parts[1]
        if len(parts) == 3 and parts[0] == "model-invocation-job" and parts[2] == "stop" and method == "POST":
            return "bedrock:StopModelInvocationJob", self.jobs.stop, parts[1]
        return None
