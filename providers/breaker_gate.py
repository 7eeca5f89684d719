"""The call path's use of the breakers: which candidates a call may try, and what it reports.

One read per call (one `get_many` for each candidate's provider breaker and its breaker for the
requested model). A candidate is skipped while either is open; half-open, only the caller that
wins the probe tries it. Failures feed the model's breaker always, and the provider's only for
kinds that speak for the whole provider (a missing, throttled or overloaded model opens its own
breaker and leaves the provider's other models in traffic). The policy is the snapshot's.
"""
import functools
import time
from dataclasses import dataclass

from providers import breaker, snapshot
from providers.clients.errors import ErrorKind

# Kinds that are the provider's as a whole; the rest (model_not_available, permission, overloaded,
# rate_limited) are counted against the model only.
PROVIDER_WIDE_KINDS = frozenset({ErrorKind.AUTHENTICATION, ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT,
                                 ErrorKind.CONNECTION, ErrorKind.CONFIGURATION})


@dataclass
class Gate:
    model: str  # as the request names it ("" when it names none)
    states: dict  # breaker name -> state read before the call
    policy: breaker.Policy
    targets: dict  # provider name -> its breaker names for this call (provider, provider/model)


def requested_model(request):
    model = request.get("model") if isinstance(request, dict) else None
    return model.strip() if isinstance(model, str) else ""


@functools.lru_cache(maxsize=4096)  # the same few (provider, model) pairs on every call
def _names(provider_name, model):
    return (provider_name, breaker.model_target(provider_name, model)) if model else (provider_name,)


def read(candidates, request):
    model = requested_model(request)
    targets = {settings.name: _names(settings.name, model) for settings in candidates}
    states = breaker.states([name for names in targets.values() for name in names])
    return Gate(model, states, snapshot.current().breaker, targets)


def admitted(gate, candidates):
    """The candidates to try, in order: all when no gate, else those whose breakers admit a call
    (all of them again when none does: a call is never refused for open breakers alone)."""
    if gate is None:
        return candidates
    now = time.time()
    if all(not current["tripped"] and current["open_until"] <= now for current in gate.states.values()):
        return candidates  # every breaker closed: the usual case, decided without a call per breaker
    return [s for s in candidates if all(breaker.admit(name, gate.states[name])
                                         for name in gate.targets[s.name])] or candidates


def failed(gate, settings, error):
    if gate is None:
        return
    if gate.model:
        breaker.record_failure(breaker.model_target(settings.name, gate.model), error, gate.policy)
    if error.kind in PROVIDER_WIDE_KINDS or not gate.model:
        breaker.record_failure(settings.name, error, gate.policy)


def succeeded(gate, settings):
    if gate is None:
        return
    for name in gate.targets.get(settings.name) or _names(settings.name, gate.model):
        breaker.record_success(name, gate.states.get(name), gate.policy)
