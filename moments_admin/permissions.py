from functools import wraps

from django.core.exceptions import PermissionDenied


def staff_required(view):
    """Changes need staff: others get 403 (login itself is enforced by LoginRequiredMiddleware)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Only staff can change configuration, prices and budgets.")
        return view(request, *args, **kwargs)

    return wrapped
