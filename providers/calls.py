"""The choke point: every token-spending provider call goes through here.

It builds the client, times the call, records usage and the outcome, updates
shared health state, and fails over to the next provider when the error says
the provider (not the request) is at fault.
"""
import hashlib
import json
import logging
import time

from django.core.cache import cache

from providers import health
from providers.clients.base import ProviderSettings
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.registry import get_client
from providers.clients.usage import Usage

log = logging.getLogger(__name__)


def settings_of(provider):
    """A ProviderSettings, or a stored provider configuration that can make one."""
    if isinstance(provider, ProviderSettings):
        return provider
    return provider.to_settings()


def client_for(settings):
    return get_client(settings, availability_cache=cache)


def create_message(provider, request, *, purpose="gateway", gateway_key=None, agent=None):
    settings = settings_of(provider)
    started = time.monotonic()
    client = None
    try:
        client = client_for(settings)
        result = client.create_message(request)
    except ProviderError as error:
        _record(settings, request, _model_id_for_failure(client, request), Usage(), error.kind.value, purpose,
                gateway_key, agent, latency_ms=(time.monotonic() - started) * 1000, request_id=error.request_id)
        _note_failure(settings, error, purpose)
        raise
    _record(settings, request, result.model_id, result.usage, "ok", purpose, gateway_key, agent,
            latency_ms=result.latency_ms, request_id=result.request_id)
    _note_success(settings, purpose)
    return result


def _model_id_for_failure(client, request):
    """The provider model ID the failed call was for, or the requested name when it did not resolve."""
    try:
        return client.resolve_model(request["model"])
    except (ProviderError, AttributeError, KeyError):
        return str(request.get("model", ""))


def stream_message(provider, request, *, purpose="gateway", gateway_key=None, agent=None):
    """A stream whose usage is recorded when it ends, however it ends."""
    settings = settings_of(provider)
    client = client_for(settings)
    return RecordedStream(settings, client, request, purpose, gateway_key, agent)


class RecordedStream:
    def __init__(self, settings, client, request, purpose, gateway_key, agent):
        self.settings, self.request = settings, request
        self._context = (purpose, gateway_key, agent)
        self._inner = client.stream_message(request)
        self.started_streaming = False

    def __getattr__(self, name):  # usage, message, ttft_ms, model_id, request_id, attempts
        return getattr(self._inner, name)

    def __iter__(self):
        started = time.monotonic()
        status = "ok"
        try:
            for event in self._inner:
                self.started_streaming = True
                yield event
        except ProviderError as error:
            status = error.kind.value
            _note_failure(self.settings, error, self._context[0])
            raise
        finally:
            purpose, gateway_key, agent = self._context
            _record(self.settings, self.request, self._inner.model_id, self._inner.usage, status, purpose,
                    gateway_key, agent, latency_ms=(time.monotonic() - started) * 1000,
                    ttft_ms=self._inner.ttft_ms, request_id=self._inner.request_id, stream=True)
        _note_success(self.settings, self._context[0])

    def close(self):
        self._inner.close()


def create_with_failover(providers, request, **context):
    """Try each provider in order (primary first); skip open circuits while others remain."""
    return _with_failover(providers, lambda p: create_message(p, request, **context))


def stream_with_failover(providers, request, **context):
    """Fail over only before the first event reaches the caller: never mid-stream."""

    def open_and_peek(provider):
        stream = stream_message(provider, request, **context)
        iterator = iter(stream)
        first = next(iterator, None)
        return stream, _chain(first, iterator)

    return _with_failover(providers, open_and_peek)


def _chain(first, iterator):
    if first is not None:
        yield first
    yield from iterator


def _with_failover(providers, attempt):
    candidates = [settings_of(p) for p in providers]
    if not candidates:
        raise ProviderError(ErrorKind.CONFIGURATION, "No provider is configured.")
    healthy = [s for s in candidates if not health.is_open(s.name)] or candidates
    last_error = None
    for index, settings in enumerate(healthy):
        try:
            return attempt(settings)
        except ProviderError as error:
            last_error = error
            remaining = healthy[index + 1:]
            if not error.triggers_failover or not remaining:
                raise
            log.warning("Failing over from %s to %s: %s (%s)", settings.name, remaining[0].name,
                        error.kind.value, error.message)
    raise last_error


# Test connection runs on values that may not be saved: its outcome must not move the
# circuit breaker of the stored provider that happens to share the name.
_NO_HEALTH_PURPOSES = {"test"}


def _note_failure(settings, error, purpose):
    if error.triggers_failover and purpose not in _NO_HEALTH_PURPOSES:
        health.record_failure(settings.name, error)


def _note_success(settings, purpose):
    if purpose not in _NO_HEALTH_PURPOSES:
        health.record_success(settings.name)


def prefix_hash(request):
    """Hash of the cacheable prefix (system + tools), for the caching recommendation."""
    prefix = {"system": request.get("system"), "tools": request.get("tools")}
    if not any(prefix.values()):
        return None
    return hashlib.sha256(json.dumps(prefix, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _record(settings, request, model_id, usage, status, purpose, gateway_key, agent, *, latency_ms,
            ttft_ms=None, request_id=None, stream=False):
    from usage.services import record_usage

    logical = request.get("model") if request.get("model") != model_id else None
    try:
        record_usage(
            provider_name=settings.name or settings.kind, provider_kind=settings.kind, model_id=model_id,
            logical_model=logical, usage=usage, status=status, purpose=purpose, latency_ms=latency_ms,
            ttft_ms=ttft_ms, gateway_key=gateway_key, agent=agent, stream=stream,
            has_tools=bool(request.get("tools")), region=settings.aws_region if settings.kind == "bedrock" else None,
            request_id=request_id, prompt_prefix_hash=prefix_hash(request),
        )
    except Exception:
        # Losing a usage row must never fail the caller's request; it is logged loudly instead.
        log.exception("Could not record usage for %s %s", settings.name, model_id)
