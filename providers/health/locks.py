"""The one-run-per-interval claim, in one small function so it can move to a shared lock module.

TODO(lead): swap for the shared lock module (owners and TTLs) when it lands; the contract is
`claim_interval(name, interval_seconds) -> owner token or None`.
"""
import time
import uuid

from providers.shared_cache import shared_cache


def claim_interval(name, interval_seconds, *, now=None):
    """Claim the current interval slot of `name` for this caller: an owner token, or None when
    another process already claimed it (or the shared cache is unreachable: skipping a round is
    safer than every worker running it). Slots are aligned on the epoch, so beats started at
    different moments still share one slot; the key expires with its slot."""
    now = time.time() if now is None else now
    slot = int(now // interval_seconds)
    owner = uuid.uuid4().hex
    key = f"lock:{name}:{interval_seconds}:{slot}"
    ttl = max(1, int((slot + 1) * interval_seconds - now) + 1)
    return owner if shared_cache.add(key, owner, ttl) else None
