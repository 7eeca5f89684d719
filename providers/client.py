"""A drop-in for `anthropic.Anthropic` in in-process code, through the one call path.

    from providers.client import Anthropic
    client = Anthropic()                       # the active configuration: routing, failover, usage
    client = Anthropic(provider="bedrock-eu")  # pinned to one configured provider (no failover)
    client = Anthropic(agent="summarizer")     # usage recorded under the agent's name

`client.messages.create(...)` returns the SDK's own `anthropic.types.Message`;
`create(stream=True)` iterates the SDK's own `RawMessageStreamEvent` objects;
`client.messages.stream(...)` is the SDK's own `MessageStreamManager` (text_stream,
get_final_message(), get_final_text()) fed with those events; `count_tokens(...)` returns
`MessageTokensCount`. Failures raise the SDK's own exceptions (RateLimitError, ...) with
the ProviderError as `__cause__`. Every call goes through `providers.calls.invoke` with
purpose "client". Provider credentials come from the stored configuration: `api_key`,
`base_url` and `max_retries` given here are accepted for compatibility and ignored.

Per call, `extra_headers` may carry `x-moments-cache: use|skip|refresh` (response cache) and
`x-moments-prompt-caching: auto|off` (automatic breakpoints, placed by the call path for each
provider by its own policy); both are consumed here.
"""
import functools

import anthropic
import pydantic
from anthropic.lib.streaming import MessageStreamManager
from anthropic.types import Message, MessageTokensCount
from django.conf import settings as django_settings

from providers import response_cache, snapshot
from providers.call_records import CallContext
from providers.calls import invoke
from providers.client_batches import Batches
from providers.client_pool import client_for
from providers.client_streams import EventStream
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.prompt_caching import HEADER as PROMPT_CACHING_HEADER
from providers.clients.prompt_caching import header_allows
from providers.clients.request_check import shape_problem
from providers.response_cache_calls import StoringStream, look_up, store_answer
from providers.sdk_errors import to_sdk_error

IGNORED_OPTIONS = ("extra_query",)


def plain(value):
    """SDK objects (a previous response's content blocks, typed params) as JSON-ready data."""
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", exclude_none=True, by_alias=True)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if not _omitted(v)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _omitted(value):
    return isinstance(value, (anthropic.NotGiven, anthropic.Omit))


class Anthropic:
    """The in-process client. Thread-safe: holds no per-call state."""

    def __init__(self, *, provider=None, agent=None, chain=None, prompt_caching=None, response_cache_mode="skip",
                 deadline_seconds=None, timeout=None, purpose="client", api_key=None, base_url=None,
                 max_retries=None, default_headers=None, guardrail=None):
        del api_key, base_url, max_retries  # credentials and retries come from the stored configuration
        if response_cache_mode not in response_cache.MODES:
            raise ValueError(f"response_cache_mode must be one of {response_cache.MODES}.")
        self.provider, self.agent, self.chain = provider, agent, chain
        self.prompt_caching = prompt_caching  # False: never; None or True: each provider's own policy
        self.response_cache_mode = response_cache_mode
        self.deadline_seconds = deadline_seconds or (timeout if isinstance(timeout, (int, float)) else None)
        self.purpose = purpose
        self.guardrail = guardrail  # "ID:VERSION": this client's calls use that Bedrock guardrail (an agent's)
        self.default_headers = dict(default_headers or {})
        self.messages = Messages(self)

    def with_options(self, **changes):
        """A copy with some options changed, like the SDK's with_options (agent, provider...)."""
        options = {"provider": self.provider, "agent": self.agent, "chain": self.chain,
                   "prompt_caching": self.prompt_caching, "response_cache_mode": self.response_cache_mode,
                   "deadline_seconds": self.deadline_seconds, "purpose": self.purpose,
                   "default_headers": self.default_headers, "guardrail": self.guardrail}
        return Anthropic(**{**options, **changes})

    # `with Anthropic() as client:` and `client.close()`, as the SDK's client offers: nothing to release
    # here (the pooled provider clients belong to the call path and outlive any one Anthropic()).
    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def context(self, deadline_seconds=None, prompt_caching=True):
        return CallContext(purpose=self.purpose, agent=self.agent, provider=self.provider,
                           deadline_seconds=deadline_seconds or self.deadline_seconds, guardrail=self.guardrail,
                           prompt_caching=prompt_caching)

    def candidates(self):
        """The providers a call may reach, primary first (the pinned one alone when pinned)."""
        chain = list(self.chain) if self.chain is not None else list(snapshot.current().chain)
        if self.provider:
            chain = [s for s in chain if s.name == self.provider]
        return chain


class Messages:
    def __init__(self, client):
        self._client = client
        self.batches = Batches(client)  # Message Batches, on the active provider (providers.client_batches)

    def create(self, **kwargs):
        if kwargs.get("stream"):
            kwargs.pop("stream")
            request, cache_mode, deadline, caching = self._prepare(kwargs)
            return self._open_stream(request, self._client.context(deadline, caching), cache_mode)
        kwargs.pop("stream", None)
        return self.create_recorded(**kwargs)[0]

    def create_recorded(self, **kwargs):
        """(Message, CallRecord): create() and the usage record of the call that answered it
        (its cost_usd, tokens and provider), for sessions that keep totals."""
        request, cache_mode, deadline, caching = self._prepare(kwargs)
        context = self._client.context(deadline, caching)
        key, hit = look_up(request, cache_mode, self._client.agent, context)
        if hit is not None:
            return _message(hit.message), hit.record
        result = _call(self._client.chain, request, context)
        store_answer(key, request, result, self._client.agent)
        message = _message(result.message)
        message._request_id = result.request_id
        return message, result.record

    def stream(self, **kwargs):
        """The SDK's own MessageStreamManager, fed with this client's events."""
        kwargs.pop("stream", None)
        return MessageStreamManager(functools.partial(self.create, stream=True, **kwargs), output_format=anthropic.NOT_GIVEN)

    def count_tokens(self, **kwargs):
        request, _mode, _deadline, _caching = self._prepare({"max_tokens": 1, **kwargs})
        chain = self._client.candidates()
        if not chain:
            raise to_sdk_error(ProviderError(ErrorKind.CONFIGURATION, snapshot.current().error or
                                             "No provider is configured."))
        last = None
        for settings in chain:  # free on every provider that offers it: no usage to record
            try:
                return MessageTokensCount(input_tokens=client_for(settings).count_tokens(request))
            except ProviderError as error:
                last = error
                if not (error.triggers_failover or error.kind is ErrorKind.UNSUPPORTED):
                    break
        raise to_sdk_error(last) from last

    def _prepare(self, kwargs):
        """(request dict, response cache mode, deadline, prompt caching?) from SDK-style keyword arguments."""
        kwargs = {k: v for k, v in kwargs.items() if not _omitted(v) and k not in IGNORED_OPTIONS}
        problem = shape_problem(kwargs)  # before anything here walks it recursively
        if problem is not None:
            raise to_sdk_error(ProviderError(ErrorKind.INVALID_REQUEST, problem))
        timeout = kwargs.pop("timeout", None)
        extra_body = kwargs.pop("extra_body", None) or {}
        headers = {**self._client.default_headers, **(kwargs.pop("extra_headers", None) or {})}
        default_mode = self._client.response_cache_mode
        if default_mode == "skip" and kwargs.get("model") in django_settings.RESPONSE_CACHE_MODELS:
            default_mode = "use"  # the per-model policy; a header or the client's own mode still wins
        try:
            mode, headers = response_cache.mode_from_headers(headers, default_mode)
        except response_cache.CacheModeError as error:
            raise to_sdk_error(ProviderError(ErrorKind.INVALID_REQUEST, str(error))) from error
        caching = self._client.prompt_caching is not False
        for name in [n for n in headers if n.lower() == PROMPT_CACHING_HEADER]:
            caching = header_allows(headers.pop(name))
        request = plain({**kwargs, **extra_body})
        if headers:
            request["extra_headers"] = {k: str(v) for k, v in headers.items()}
        deadline = timeout if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) else None
        return request, mode, deadline, caching

    def _open_stream(self, request, context, cache_mode):
        key, hit = look_up(request, cache_mode, self._client.agent, context, stream=True)
        if hit is not None:
            return EventStream(iter(hit.events()), request_id=None, record=hit.record)
        try:
            inner = invoke(self._client.chain, request, context, stream=True)
        except ProviderError as error:
            raise to_sdk_error(error) from error
        stored = StoringStream(inner, key, request, self._client.agent) if key is not None else inner
        return EventStream(iter(stored), request_id=getattr(inner, "request_id", None), inner=inner)


def _call(chain, request, context):
    try:
        return invoke(chain, request, context)
    except ProviderError as error:
        raise to_sdk_error(error) from error


def _message(data):
    try:
        return Message.model_validate(data)
    except pydantic.ValidationError as exc:  # a provider answered something that is not a Message
        raise to_sdk_error(ProviderError(ErrorKind.UNAVAILABLE,
                                         f"The provider's answer is not a Messages response: {exc.error_count()} "
                                         "problem(s).")) from exc
