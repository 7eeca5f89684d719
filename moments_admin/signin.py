"""Sign-in throttling: failed attempts counted per username and per client address.

Counters live in the shared cache (fixed windows, atomic incr), so every web process sees
the same count. A cache outage never blocks sign-in and never becomes a 500: it is logged
and the attempt is allowed (the password check still runs).
"""
import hashlib
import logging
import math
import time

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache

from moments_admin.limits import apply_limits

log = logging.getLogger(__name__)


def _window():
    size = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    now = time.time()
    return int(now // size), size - (now % size)


def _keys(username, address):
    index, _ = _window()
    # Hashed: a username or address of any length or content makes a valid, short cache key.
    user = hashlib.sha256((username or "").strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    addr = hashlib.sha256((address or "").encode("utf-8", "replace")).hexdigest()[:32]
    return ((f"signin-fail:user:{user}:{index}", settings.LOGIN_THROTTLE_PER_USER),
            (f"signin-fail:addr:{addr}:{index}", settings.LOGIN_THROTTLE_PER_ADDRESS))


def blocked_minutes(username, address):
    """Minutes until sign-in is allowed again, or 0 when it is allowed now."""
    try:
        counts = cache.get_many([key for key, _ in _keys(username, address)])
    except Exception:  # the cache is an optimization here, never a reason to refuse or to fail
        log.warning("Sign-in throttle unavailable (cache unreachable); allowing the attempt.", exc_info=True)
        return 0
    if any(counts.get(key, 0) >= limit for key, limit in _keys(username, address)):
        return max(1, math.ceil(_window()[1] / 60))
    return 0


def record_failure(username, address):
    size = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    try:
        for key, _ in _keys(username, address):
            cache.add(key, 0, timeout=size + 60)
            cache.incr(key)
    except Exception:
        log.warning("Sign-in throttle unavailable (cache unreachable); failure not counted.", exc_info=True)


def client_address(request):
    # REMOTE_ADDR only: a header would let anyone pick their own counter. Behind a proxy, have
    # the server set REMOTE_ADDR from it (uvicorn --proxy-headers --forwarded-allow-ips=...).
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing early once a username or address has failed too often."""

    error_messages = {**AuthenticationForm.error_messages,
                      "invalid_login": "Your username and password didn't match. Please try again."}

    def clean(self):
        username = self.cleaned_data.get("username") or self.data.get("username", "")
        address = client_address(self.request)
        minutes = blocked_minutes(username, address)
        if minutes:
            unit = "minute" if minutes == 1 else "minutes"
            raise forms.ValidationError(f"Too many failed sign-ins; try again in {minutes} {unit}.",
                                        code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            record_failure(username, address)
            raise


# The username keeps the user model's limit; a password is hashed whole, so bound it too.
apply_limits(ThrottledAuthenticationForm, get_user_model(), fields={"password": 1024})
