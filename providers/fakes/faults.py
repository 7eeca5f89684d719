"""Fault injection shared by the fake servers: a thread-safe queue of one-shot (or N-shot) faults."""

from __future__ import annotations

import threading
from dataclasses import dataclass

# Kinds that only make sense mid-stream; they never fire on a non-streaming request.
STREAM_KINDS = frozenset({"stream_break", "malformed_frame"})

KINDS = frozenset(
    {
        "rate_limit",
        "overloaded",
        "server_error",
        "unavailable",
        "throttling",
        "service_unavailable_400",
        "access_denied",
        "model_not_ready",
        "model_timeout",
        "slow",
        "reset",
    }
    | STREAM_KINDS
)


@dataclass
class Fault:
    """One injected failure.

    ``times`` is how many matching requests it fires on (``None``: every one until ``reset()``).
    ``after_events`` is for stream faults (and ``slow`` on a stream: pause after that many events).
    """

    kind: str
    times: int | None = 1
    after_events: int | None = None
    delay: float | None = None
    retry_after: float | None = None
    path_contains: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 (or None for unlimited)")

    def matches(self, path: str, streaming: bool) -> bool:
        if self.kind in STREAM_KINDS and not streaming:
            return False
        return self.path_contains is None or self.path_contains in path

    @property
    def sleep_seconds(self) -> float:
        return 1.0 if self.delay is None else self.delay

    @property
    def retry_after_header(self) -> str:
        value = 1 if self.retry_after is None else self.retry_after
        # Integral seconds print without a trailing ".0", as real servers send them.
        return str(int(value)) if float(value).is_integer() else str(value)


class FaultQueue:
    """FIFO of faults; the first one matching a request fires and is consumed once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            # Copy so the caller's object is not mutated as it is consumed.
            self._faults.append(Fault(**fault.__dict__))

    def take(self, path: str, streaming: bool) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if not fault.matches(path, streaming):
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times == 0:
                        del self._faults[i]
                return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)
