"""Sign-in throttling: failed attempts counted per username and per client address.

Counters live in the shared cache (atomic incr, a window from the first failure), so every web process sees
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


def _keys(username, address):
    # Hashed: a username or address of any length or content makes a valid, short cache key.
    user = hashlib.sha256((username or "").strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    addr = hashlib.sha256((address or "").encode("utf-8", "replace")).hexdigest()[:32]
    return ((f"signin-fail:user:{user}", settings.LOGIN_THROTTLE_PER_USER),
            (f"signin-fail:addr:{addr}", settings.LOGIN_THROTTLE_PER_ADDRESS))


def blocked_minutes(username, address):
    """Minutes until sign-in is allowed again, or 0 when it is allowed now.

    A window opens at a subject's first failure and lasts LOGIN_THROTTLE_WINDOW_SECONDS, so a
    run of failures is never split in two by a clock boundary.
    """
    keys = _keys(username, address)
    try:
        found = cache.get_many([name for key, _ in keys for name in (key, f"{key}:since")])
    except Exception:  # the cache is an optimization here, never a reason to refuse or to fail
        log.warning("Sign-in throttle unavailable (cache unreachable); allowing the attempt.", exc_info=True)
        return 0
    now = time.time()
    left = [found.get(f"{key}:since", now) + settings.LOGIN_THROTTLE_WINDOW_SECONDS - now
            for key, limit in keys if found.get(key, 0) >= limit]
    return max(1, math.ceil(max(left) / 60)) if left else 0


def record_failure(username, address):
    size = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    try:
        for key, _ in _keys(username, address):
            if cache.add(key, 0, timeout=size):
                cache.set(f"{key}:since", time.time(), timeout=size)
            try:
                cache.incr(key)
            except ValueError:  # its window ended between add and incr: this failure opens the next
                cache.set(key, 1, timeout=size)
                cache.set(f"{key}:since", time.time(), timeout=size)
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
