"""One SDK client per provider configuration per process, so connections and SSL contexts
are reused between calls (building a client costs ~19 ms, mostly loading CA certificates).

Keyed by a digest of the whole ProviderSettings (secrets included, only as a digest): a
changed configuration gets a new client. A client whose assumed-role credentials near
expiry is rebuilt, one rebuild at a time per configuration. Thread-safe.
"""
import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import asdict

from providers.clients.aws_credentials import REFRESH_MARGIN
from providers.clients.registry import get_client
from providers.shared_cache import shared_cache

MAX_CLIENTS = 32  # unsaved configurations under test come and go; keep the pool bounded

_clients = OrderedDict()
_locks = {}
_pool_lock = threading.Lock()


def settings_key(settings):
    # ProviderSettings is frozen: its digest is computed once per object (a snapshot's chain is
    # reused by every call), kept beside the fields so asdict, eq and replace ignore it.
    key = settings.__dict__.get("_pool_key")
    if key is None:
        key = hashlib.sha256(json.dumps(asdict(settings), sort_keys=True, default=str).encode()).hexdigest()
        settings.__dict__["_pool_key"] = key
    return key


def _expiring(client):
    credentials = getattr(client, "credentials", None)
    expires_at = getattr(credentials, "expires_at", None)
    return expires_at is not None and expires_at - REFRESH_MARGIN <= dt.datetime.now(dt.UTC)


def client_for(settings):
    key = settings_key(settings)
    with _pool_lock:
        client = _clients.get(key)
        if client is not None and not _expiring(client):
            _clients.move_to_end(key)
            return client
        lock = _locks.setdefault(key, threading.Lock())
    with lock:  # one build per configuration at a time; others wait and reuse it
        with _pool_lock:
            client = _clients.get(key)
        if client is None or _expiring(client):
            client = get_client(settings, availability_cache=shared_cache)
            with _pool_lock:
                _clients[key] = client
                while len(_clients) > MAX_CLIENTS:
                    old, _ = _clients.popitem(last=False)
                    _locks.pop(old, None)
        return client


def forget_clients():
    with _pool_lock:
        _clients.clear()
        _locks.clear()
