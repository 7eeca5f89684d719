"""Provider health shared by every web and worker process through the Django cache.

A circuit opens after FAILURE_THRESHOLD consecutive provider-side failures and
stays open for OPEN_SECONDS; the router skips open providers while another is
healthy, so one broken provider does not add latency to every request.
"""
import time

from django.core.cache import cache

FAILURE_THRESHOLD = 3
OPEN_SECONDS = 60


def _key(provider_name):
    return f"provider-health:{provider_name}"


def state(provider_name):
    return cache.get(_key(provider_name)) or {"failures": 0, "open_until": 0, "last_error": None, "last_ok": None}


def is_open(provider_name):
    return state(provider_name)["open_until"] > time.time()


def record_success(provider_name):
    current = state(provider_name)
    if current["failures"] or current["open_until"]:
        current.update(failures=0, open_until=0)
    current["last_ok"] = time.time()
    cache.set(_key(provider_name), current, timeout=None)


def record_failure(provider_name, error):
    current = state(provider_name)
    current["failures"] += 1
    current["last_error"] = {"kind": error.kind.value, "message": str(error)[:300], "at": time.time()}
    if current["failures"] >= FAILURE_THRESHOLD:
        current["open_until"] = time.time() + OPEN_SECONDS
    cache.set(_key(provider_name), current, timeout=None)
