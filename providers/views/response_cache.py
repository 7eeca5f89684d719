"""The response cache page: hits and misses over time, savings, entries; flush, export, import."""
import logging

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from moments_admin.permissions import staff_required
from providers import response_cache
from providers.forms import CacheFlushForm, CacheImportForm
from providers.models import ResponseCacheEntry
from providers.response_cache_charts import hits_over_time
from providers.response_cache_io import ImportRefused, export_lines, import_lines

log = logging.getLogger(__name__)
MAX_IMPORT_BYTES = 50 * 1024 * 1024
HOURS = 48


def _summary(stats):
    totals = {stat: sum(row[stat] for _hour, row in stats) for stat in response_cache.STATS}
    lookups = totals["hits"] + totals["misses"]
    totals["hit_rate"] = round(100 * totals["hits"] / lookups, 1) if lookups else None
    totals["saved_usd"] = totals["saved_microusd"] / 1_000_000
    return totals


def _page(request, *, import_form=None, import_error=None, status=200):
    live = ResponseCacheEntry.objects.filter(expires_at__gt=timezone.now())
    model, agent = request.GET.get("model", "")[:200], request.GET.get("agent", "")[:128]
    order = "newest" if request.GET.get("order") == "newest" else "hits"
    listed = live.filter(**({"model": model} if model else {}), **({"agent": agent} if agent else {}))
    stats = response_cache.hourly_stats(HOURS)  # writes this process's buffered counts first, hits included
    ordering = ("-created_at", "-pk") if order == "newest" else ("-hits", "-created_at", "-pk")
    page = Paginator(listed.order_by(*ordering), 50).get_page(request.GET.get("page"))
    size = live.aggregate(entries=Count("id"), bytes=Sum("size_bytes"))
    limit = settings.RESPONSE_CACHE_MAX_TOTAL_BYTES
    size["percent"] = round(100 * (size["bytes"] or 0) / limit, 1)
    return render(request, "providers/response_cache.html", {
        "summary": _summary(stats), "chart": hits_over_time(stats), "hours": HOURS, "page": page, "order": order,
        "size": size, "max_total_bytes": limit,
        "by_model": live.values("model").annotate(entries=Count("id"), bytes=Sum("size_bytes"))
        .order_by("-entries")[:20],
        "by_agent": live.exclude(agent="").values("agent").annotate(entries=Count("id")).order_by("-entries")[:20],
        "filter_model": model, "filter_agent": agent,
        "import_form": import_form or CacheImportForm(), "import_error": import_error,
        "ttl": settings.RESPONSE_CACHE_TTL_SECONDS,
    }, status=status)


@require_GET
def response_cache_page(request):
    return _page(request)


@require_http_methods(["GET", "POST"])
@staff_required
def response_cache_flush(request):
    """GET: what would be flushed, with a confirmation form; POST: flush it."""
    form = CacheFlushForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, "Choose what to flush: " + "; ".join(
            error for errors in form.errors.values() for error in errors))
        return redirect("providers:response-cache")
    scope, value = form.cleaned_data["scope"], form.cleaned_data["value"]
    if request.method == "GET":
        affected = ResponseCacheEntry.objects.filter(expires_at__gt=timezone.now(), **_filter(scope, value)).count()
        return render(request, "providers/response_cache_flush.html",
                      {"scope": scope, "value": value, "affected": affected})
    flushed = {"all": lambda: response_cache.invalidate_all(), "model": lambda: response_cache.invalidate_model(value),
               "agent": lambda: response_cache.invalidate_agent(value),
               "entry": lambda: response_cache.invalidate_entry(int(value))}[scope]()
    log.info("Response cache flushed by %s: %s %s (%d entries)", request.user.get_username(), scope, value, flushed)
    messages.success(request, f"Flushed {flushed} entr{'y' if flushed == 1 else 'ies'} "
                              f"({dict(CacheFlushForm.SCOPES)[scope]}{': ' + value if value else ''}).")
    return redirect("providers:response-cache")


def _filter(scope, value):
    return {"all": {}, "model": {"model": value}, "agent": {"agent": value}, "entry": {"pk": value}}[scope]


@require_GET
@staff_required
def response_cache_export(request):
    response = StreamingHttpResponse(export_lines(), content_type="application/x-ndjson")
    response["Content-Disposition"] = 'attachment; filename="response-cache.jsonl"'
    return response


@require_POST
@staff_required
def response_cache_import(request):
    form = CacheImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, import_form=form, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > MAX_IMPORT_BYTES:
        return _page(request, import_form=form, status=400,
                     import_error=f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it.")
    try:
        stored = import_lines(upload)
    except (ImportRefused, RuntimeError) as exc:
        return _page(request, import_form=form, import_error=str(exc), status=400)
    messages.success(request, f"Imported {stored} response cache entr{'y' if stored == 1 else 'ies'}.")
    return redirect("providers:response-cache")
