from functools import wraps

from django.core.exceptions import PermissionDenied


def staff_required(view):
    """403 for logged-in users who are not staff (login itself is enforced by middleware)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Only staff can change prices, budgets and recommendations.")
        return view(request, *args, **kwargs)

    return wrapper
