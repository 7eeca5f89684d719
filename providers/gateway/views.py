"""The Gateway keys page: everyone signed in sees the list; staff create, edit, rotate and revoke keys."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from moments_admin.permissions import staff_required
from providers.gateway import services
from providers.gateway.forms import GatewayKeyEditForm, GatewayKeyForm
from providers.gateway.keys import last_used
from providers.models import GatewayKey


def _list_page(request, form=None, status=200, created=None):
    query = request.GET.get("q", "").strip()[:100]
    keys = services.search_keys(query)
    spend = services.month_spend_by_key()
    used = last_used([key.pk for key in keys])
    blocked = services.blocked_labels()
    rows = [{"key": key, "spend": spend.get(key.label), "last_used": used.get(key.pk),
             "blocked": key.label in blocked} for key in keys]
    base_url = request.build_absolute_uri("/").rstrip("/")
    response = render(request, "gateway/keys.html", {
        "rows": rows, "query": query, "form": form or GatewayKeyForm(), "created": created, "base_url": base_url,
    }, status=status)
    if created:
        response["Cache-Control"] = "no-store"  # the key is in this page only
    return response


@require_GET
def key_list(request):
    return _list_page(request)


@require_POST
@staff_required
@never_cache
def key_create(request):
    form = GatewayKeyForm(request.POST)
    if not form.is_valid():
        return _list_page(request, form=form, status=400)
    data = form.cleaned_data
    gateway_key, key = services.create_key(
        data["label"], owner=data["owner"], allowed_models=data["allowed_models"],
        monthly_budget_usd=data["monthly_budget_usd"], expires_at=services.expires_from_date(data["expires_on"]),
        created_by=request.user, **form.cache_policy())
    return _list_page(request, created={"key": gateway_key, "secret": key})


@require_http_methods(["GET", "POST"])
@staff_required
def key_edit(request, pk):
    gateway_key = get_object_or_404(GatewayKey, pk=pk)
    if request.method == "POST":
        form = GatewayKeyEditForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            services.update_key(gateway_key, owner=data["owner"], allowed_models=data["allowed_models"],
                                monthly_budget_usd=data["monthly_budget_usd"],
                                expires_at=services.expires_from_date(data["expires_on"]), **form.cache_policy())
            messages.success(request, f"Gateway key '{gateway_key.label}' saved.")
            return redirect("gateway:keys")
        status = 400
    else:
        form = GatewayKeyEditForm(initial={
            "owner": gateway_key.owner, "allowed_models": ", ".join(gateway_key.allowed_models),
            "monthly_budget_usd": gateway_key.monthly_budget_usd,
            "expires_on": gateway_key.expires_at.date() if gateway_key.expires_at else None,
            "response_cache": gateway_key.response_cache, "prompt_caching": gateway_key.prompt_caching,
            "response_cache_ttl_seconds": gateway_key.response_cache_ttl_seconds})
        status = 200
    return render(request, "gateway/edit.html", {"key": gateway_key, "form": form}, status=status)


@require_POST
@staff_required
@never_cache
def key_rotate(request, pk):
    gateway_key = get_object_or_404(GatewayKey, pk=pk)
    key = services.rotate_key(gateway_key)
    return _list_page(request, created={"key": gateway_key, "secret": key, "rotated": True})


@require_POST
@staff_required
def key_revoke(request, pk):
    gateway_key = get_object_or_404(GatewayKey, pk=pk)
    services.revoke_key(gateway_key)
    messages.success(request, f"Gateway key '{gateway_key.label}' revoked; every gateway process refuses it "
                              "within about a second.")
    return redirect("gateway:keys")
