from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
def home(request):
    """The set-up checklist until a provider has passed a test and served a call; then the providers."""
    from moments_admin import onboarding

    if onboarding.complete():
        return redirect("providers:list")
    return setup(request)


@require_GET
def setup(request):
    """The set-up checklist, also reachable once everything is done (/setup/)."""
    from moments_admin import onboarding

    steps = onboarding.steps()
    return render(request, "onboarding.html", {
        "steps": steps, "done_count": sum(step.done for step in steps),
        "snippets": onboarding.snippets(request.build_absolute_uri("/").rstrip("/")),
        "has_gateway_key": onboarding.has_gateway_key(), "complete": onboarding.complete(),
    })


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """For load balancers: database and cache reachability, nothing else."""
    checks = {"database": _database_ok(), "cache": _cache_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "fail", **{k: "ok" if v else "fail" for k, v in checks.items()}}
    return JsonResponse(body, status=200 if healthy else 503)


def _database_ok():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _cache_ok():
    try:
        cache.set("healthz:probe", "1", timeout=10)
        return cache.get("healthz:probe") == "1"
    except Exception:
        return False
