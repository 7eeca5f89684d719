"""What the choke point knows about a call, and where it hands it (the usage sink).

The providers app never imports usage: the usage app registers its recorder at start-up
(`usage.apps.UsageConfig.ready`) with `set_usage_sink`. Until one is registered (a script
that never loads Django apps) records are logged and dropped.
"""
import contextlib
import logging
from dataclasses import dataclass, field

from providers.clients.usage import Usage

log = logging.getLogger(__name__)
PURPOSES = ("gateway", "client", "test", "health", "wizard", "batch", "demo", "cli")


@dataclass(frozen=True)
class CallContext:
    """Who is calling and how long they may wait; the same for every attempt and provider."""

    purpose: str = "gateway"
    gateway_key: str | None = None
    agent: str | None = None
    deadline_seconds: float | None = None  # overall, across retries and failover; None: the setting
    provider: str | None = None  # pin the call to this provider name (no failover)
    guardrail: str | None = None  # "ID:VERSION": a Bedrock guardrail in place of each provider's (an agent's own)
    prompt_caching: bool = True  # automatic breakpoints where the serving provider's policy has them on

    def __post_init__(self):
        if self.purpose not in PURPOSES:
            raise ValueError(f"purpose must be one of {PURPOSES}, not {self.purpose!r}.")


@dataclass
class CallRecord:
    """One provider attempt, however it ended; the usage app turns it into a usage row."""

    provider_name: str
    provider_kind: str
    requested_model: str  # as the caller wrote it: a logical name or a model ID
    model_id: str  # the provider model ID sent (the requested name when it never resolved)
    status: str  # "ok", an ErrorKind value, or "abandoned"
    context: CallContext
    usage: Usage = field(default_factory=Usage)
    logical_model: str | None = None
    region: str | None = None
    scope: str | None = None  # in_region, a geo profile, custom...
    latency_ms: float | None = None
    ttft_ms: float | None = None
    request_id: str | None = None
    stream: bool = False
    has_tools: bool = False
    prompt_prefix_hash: str | None = None
    failed_over: bool = False
    adaptations: tuple = ()  # request settings changed to suit the model
    inference_geo: str | None = None  # the request's inference_geo ("us" is priced at a premium)
    batch: bool = False  # a batch result: priced at batch prices
    # The model an application inference profile ARN routes to (GetInferenceProfile): what it is priced as
    # when the Prices page has no manual mapping for the ARN.
    profile_target: str | None = None
    cost_usd: object = None  # a Decimal, set from what the usage sink returns; None when unpriced
    stop_reason: str | None = None  # the Messages response's stop_reason (traces' finish reasons)
    # A response-cache hit: what it saved, the cost of the original answer it replays (a Decimal; None when
    # that call was unpriced, and on every other record).
    response_cache_saving: object = None


_sink = None
_batch = contextlib.nullcontext
_observers = []  # called with each record after the sink (metrics); never fail the call


def add_call_observer(observer):
    """Register a callable that sees every CallRecord after it is recorded (idempotent)."""
    if observer not in _observers:
        _observers.append(observer)


def set_usage_sink(sink, batch=None):
    """Register the callable that stores a CallRecord and returns its cost (the usage app does, once),
    and optionally a context manager factory under which the sink may store records together."""
    global _sink, _batch
    _sink, _batch = sink, batch or contextlib.nullcontext


def recording_batch():
    """A block whose records the sink may store together when it ends (one round trip for a burst)."""
    return _batch()


def emit(record):
    """Hand `record` to the sink; a failing sink is logged loudly and never fails the call."""
    if _sink is None:
        log.warning("No usage sink registered; dropping the record of %s %s", record.provider_name, record.model_id)
    else:
        try:
            record.cost_usd = _sink(record)
        except Exception:
            log.exception("Could not record usage for %s %s", record.provider_name, record.model_id)
    for observer in _observers:
        try:
            observer(record)
        except Exception:
            log.exception("A call observer failed on %s %s", record.provider_name, record.model_id)
