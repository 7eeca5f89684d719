from django.core.cache import cache
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def provider_list(request):
    return render(request, "providers/list.html", {})


@require_GET
def status(request):
    return render(request, "providers/status.html", {"last_heartbeat": cache.get("worker:last_heartbeat")})


@require_GET
def migration(request):
    return render(request, "providers/migration.html", {})
