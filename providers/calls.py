"""The choke point: every token-spending provider call goes through `invoke`.

    invoke(chain, request, context, stream=False) -> CallResult | CallStream

`chain` is a list of ProviderSettings (primary first), or None for the active configuration
snapshot. For each provider in turn it takes the pooled client, applies the call's overall
deadline, records one usage record per attempt (success, every error kind, a stream that
failed before opening, an interrupted or abandoned stream), updates the shared circuit
breaker, and fails over to the next provider when the error is the provider's fault and
nothing has reached the caller yet. Only ProviderError leaves this module.
"""
import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass

from django.conf import settings as django_settings

from providers import breaker_gate, snapshot, tracing
from providers.call_records import CallContext, CallRecord, emit
from providers.client_pool import client_for
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.guardrails import with_agent_guardrail
from providers.clients.prompt_caching import for_provider as with_prompt_caching
from providers.clients.usage import Usage
from providers.resolve import apply_rollout

log = logging.getLogger(__name__)
DEFAULT_CONTEXT = CallContext()
# Test connection runs on values that may not be saved: its outcome must not move the
# circuit breaker of the stored provider that happens to share the name.
NO_BREAKER_PURPOSES = {"test"}


@dataclass
class CallResult:
    message: dict  # the Anthropic Messages response, JSON-ready
    usage: Usage
    provider_name: str
    provider_kind: str
    model_id: str
    request_id: str | None
    latency_ms: float
    failed_over: bool
    record: CallRecord


def invoke(chain, request, context=DEFAULT_CONTEXT, *, stream=False):
    if tracing.enabled:  # a module flag: tracing off costs one attribute read
        return tracing.traced_call(_invoke, chain, request, context, stream)
    return _invoke(chain, request, context, stream=stream)


def _invoke(chain, request, context, *, stream):
    started = time.monotonic()
    deadline = started + (context.deadline_seconds or django_settings.CALL_DEADLINE_SECONDS)
    candidates = candidates_for(chain, context)
    use_breaker = context.purpose not in NO_BREAKER_PURPOSES
    gate = breaker_gate.read(candidates, request) if use_breaker else None
    healthy = breaker_gate.admitted(gate, candidates)
    for index, settings in enumerate(healthy):
        # Served by anything but the primary (tried and failed, or skipped for its open circuit) is a failover.
        attempt = Attempt(with_agent_guardrail(settings, context.guardrail), request, context,
                           failed_over=settings is not candidates[0], state=gate)
        try:
            return attempt.open_stream(deadline) if stream else attempt.create(deadline)
        except ProviderError as error:
            fail_over_or_raise(error, settings, healthy[index + 1:], deadline, context)
    raise AssertionError("unreachable: the last candidate either returns or raises")


def fail_over_or_raise(error, settings, remaining, deadline, context):
    """Return when the call may go on to remaining[0] after `settings` failed with `error`; else raise."""
    if not error.triggers_failover or not remaining or context.provider:
        raise error
    if time.monotonic() >= deadline:
        raise ProviderError(ErrorKind.TIMEOUT, f"The call's deadline passed after {settings.name} failed "
                            f"({error.kind.value}); no fallback was tried.", provider=settings.kind) from error
    log.warning("Failing over from %s to %s: %s (%s)", settings.name, remaining[0].name,
                error.kind.value, error.message)


def candidates_for(chain, context):
    if chain is None:
        current = snapshot.current()
        chain, empty_reason = apply_rollout(current.chain, current.rollout, random.random()), current.error
    else:
        empty_reason = "No provider is configured."
    chain = list(chain)
    if context.provider:
        chain = [s for s in chain if s.name == context.provider]
        empty_reason = f"No active provider is named '{context.provider}'."
    if not chain:
        raise ProviderError(ErrorKind.CONFIGURATION, empty_reason)
    return chain


class Attempt:
    """One provider's try at the request: calls the client and records exactly once."""

    def __init__(self, settings, request, context, *, failed_over, state):
        self.settings, self.request, self.context = settings, request, context
        if context.prompt_caching:  # automatic breakpoints by this provider's own policy
            self.request = with_prompt_caching(settings, request)
        self.failed_over, self.state = failed_over, state
        self.started = time.monotonic()

    def create(self, deadline):
        try:
            result = client_for(self.settings).create_message(self.request, deadline=deadline)
        except ProviderError as error:
            self.failed(error)
            raise
        except Exception as exc:  # a defect below must not escape as a raw exception
            error = unexpected_error(exc, self.settings)
            self.failed(error)
            raise error from exc
        record = self.record("ok", result.model_id, result.usage, resolution=result.resolution,
                             request_id=result.request_id, latency_ms=result.latency_ms,
                             stop_reason=result.message.get("stop_reason"))
        self.succeeded()
        return CallResult(result.message, result.usage, self.settings.name, self.settings.kind, result.model_id,
                          result.request_id, result.latency_ms, self.failed_over, record)

    def open_stream(self, deadline):
        """Open the stream and read its first event here, so that anything failing before the
        caller has seen a byte is an ordinary failure (retried in the client, then failed over)."""
        inner = None
        try:
            inner = client_for(self.settings).stream_message(self.request, deadline=deadline)
            events = iter(inner)
            first = next(events)
        except ProviderError as error:
            self.failed(error, inner)
            raise
        except Exception as exc:
            error = unexpected_error(exc, self.settings)
            self.failed(error, inner)
            raise error from exc
        return CallStream(self, inner, events, first)

    def failed(self, error, inner=None):
        model_id = getattr(inner, "model_id", "") or self._resolved_or_requested()
        self.record(error.kind.value, model_id, error.usage or Usage(), resolution=getattr(inner, "resolution", None),
                    request_id=error.request_id, stream=inner is not None)
        if error.triggers_failover and self.context.purpose not in NO_BREAKER_PURPOSES:
            breaker_gate.failed(self.state, self.settings, error)

    def succeeded(self):
        if self.context.purpose not in NO_BREAKER_PURPOSES:
            breaker_gate.succeeded(self.state, self.settings)

    def _resolved_or_requested(self):
        model = self.request.get("model") if isinstance(self.request, dict) else None
        try:
            return client_for(self.settings).resolve_model(model)
        except Exception:
            return str(model or "")[:200]

    def record(self, status, model_id, usage, *, resolution=None, request_id=None, latency_ms=None, ttft_ms=None,
               stream=False, stop_reason=None):
        request = self.request if isinstance(self.request, dict) else {}
        requested = str(request.get("model") or "")[:200]
        record = CallRecord(
            provider_name=self.settings.name or self.settings.kind, provider_kind=self.settings.kind,
            requested_model=requested, model_id=model_id, status=status, context=self.context, usage=usage,
            logical_model=getattr(resolution, "logical", None) or (requested if requested != model_id else None),
            region=self.settings.aws_region if self.settings.kind != "anthropic" else None,
            scope=getattr(resolution, "scope", None),
            latency_ms=latency_ms if latency_ms is not None else (time.monotonic() - self.started) * 1000,
            ttft_ms=ttft_ms, request_id=request_id, stream=stream, has_tools=bool(request.get("tools")),
            prompt_prefix_hash=prefix_hash(request), failed_over=self.failed_over,
            adaptations=getattr(resolution, "adaptations", ()),
            inference_geo=request.get("inference_geo") if isinstance(request.get("inference_geo"), str) else None,
            stop_reason=stop_reason if isinstance(stop_reason, str) else None,
            profile_target=getattr(resolution, "profile_target", None),
        )
        emit(record)
        return record


class CallStream:
    """Anthropic stream events (dicts), recorded once when the stream ends, however it ends:
    "ok", the error kind (with the tokens delivered so far), or "abandoned" when the caller
    stops early (close(), leaving a `with` block, or dropping the iterator)."""

    def __init__(self, attempt, inner, events, first):
        self._attempt, self._inner, self._events, self._first = attempt, inner, events, first
        self._recorded = False
        self.provider_name = attempt.settings.name
        self.provider_kind = attempt.settings.kind
        self.failed_over = attempt.failed_over
        self.record = None

    def __getattr__(self, name):  # usage, message, ttft_ms, model_id, request_id, attempts
        return getattr(self._inner, name)

    def __iter__(self):
        try:
            if self._first is not None:
                first, self._first = self._first, None
                yield first
            yield from self._events
        except ProviderError as error:
            self._finish(error.kind.value, error)
            raise
        except GeneratorExit:
            self._finish("abandoned")
            raise
        except Exception as error:
            wrapped = ProviderError(ErrorKind.STREAM_INTERRUPTED, f"The stream broke: {type(error).__name__}.",
                                    provider=self.provider_kind)
            self._finish(wrapped.kind.value, wrapped)
            raise wrapped from error
        self._finish("ok")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        if not self._recorded:
            self._inner.close()
            self._finish("abandoned")

    def _finish(self, status, error=None):
        if self._recorded:
            return
        self._recorded = True
        inner, attempt = self._inner, self._attempt
        usage = inner.usage
        if status != "ok" and usage.output_tokens < inner.deltas:
            # No final usage arrived: count what was delivered (at least one token per delta).
            usage = Usage(usage.input_tokens, inner.deltas, usage.cache_write_5m_tokens,
                          usage.cache_write_1h_tokens, usage.cache_read_tokens)
        self.record = attempt.record(status, inner.model_id, usage, resolution=inner.resolution,
                                     request_id=inner.request_id, ttft_ms=inner.ttft_ms, stream=True,
                                     stop_reason=(getattr(inner, "message", None) or {}).get("stop_reason"))
        if error is None:
            attempt.succeeded()  # abandoned by the caller is not the provider's fault


def unexpected_error(error, settings):
    return ProviderError(ErrorKind.CONNECTION, f"The call to {settings.name or settings.kind} failed unexpectedly "
                         f"({type(error).__name__}).", provider=settings.kind)


def prefix_hash(request):
    """Hash of the cacheable prefix (system + tools), for the caching recommendation."""
    prefix = {"system": request.get("system"), "tools": request.get("tools")}
    if not any(prefix.values()):
        return None
    return hashlib.sha256(json.dumps(prefix, sort_keys=True, default=str).encode()).hexdigest()[:32]
