"""Template context every page gets."""
from providers.shared_cache import shared_cache


def shared_cache_status(request):
    """Pages render without the shared cache, and say so: breakers, availability and key checks
    run degraded (circuits closed, availability unknown) until it is back."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"shared_cache_unreachable": not shared_cache.reachable()}
