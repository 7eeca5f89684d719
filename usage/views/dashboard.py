"""The usage dashboard, its CSV export, and the recommendation controls."""
import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from moments_admin.permissions import staff_required
from usage.forms import BatchableAgentForm, FilterForm
from usage.models import BatchableAgent, UsageRecord
from usage.overview import build_overview, filter_options, quick_ranges
from usage.pricing import as_utc_date
from usage.queries import Filters

GUARDRAIL_STATUS = "guardrail_intervened"  # the provider layer's ErrorKind.GUARDRAIL_INTERVENED

EXPORT_MAX_ROWS = 100_000
EXPORT_COLUMNS = ("id", "occurred_at", "provider_name", "provider_kind", "model_id", "base_model", "scope",
                  "logical_model", "purpose", "status", "gateway_key", "agent", "region", "request_id", "batch",
                  "stream", "has_tools", "long_context", "is_demo", "latency_ms", "ttft_ms", "input_tokens",
                  "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens",
                  "cost_input", "cost_output", "cost_cache_write", "cost_cache_read", "cost_total", "cache_savings",
                  "adaptations", "response_cache_saving")


def parse_filters(request):
    """Filters from the query string; invalid input falls back to the defaults, with the errors."""
    form = FilterForm(request.GET)
    if form.is_valid():
        data = form.cleaned_data
    else:
        fallback = FilterForm({})
        fallback.is_valid()
        data = fallback.cleaned_data
    return form, Filters(**{name: data.get(name) or "" for name in
                            ("provider", "model", "key", "agent", "purpose")},
                         start=data["start"], end=data["end"], by=data["by"], metric=data["metric"])


@require_GET
@vary_on_headers("HX-Request")
def dashboard(request):
    form, filters = parse_filters(request)
    now = timezone.now()
    providers, models = filter_options()
    context = {"form": form, "filters": filters, "providers": providers, "models": models,
               "quick_ranges": quick_ranges(as_utc_date(now)),
               "query": request.GET.urlencode(), "kept_filters": _kept_filters(filters),
               "batchable_agents": BatchableAgent.objects.order_by("name"),
               "agent_form": BatchableAgentForm(), **build_overview(filters, now),
               "guardrail_interventions": guardrail_interventions(filters)}
    template = "usage/dashboard.html#usage-body" if request.htmx else "usage/dashboard.html"
    return render(request, template, context)


def guardrail_interventions(filters):
    """Calls a Bedrock guardrail blocked in the period (their status; read from the records, not the rollups)."""
    return UsageRecord.objects.filter(occurred_at__gte=filters.start_at, occurred_at__lt=filters.end_at,
                                      status=GUARDRAIL_STATUS, **filters.lookups()).count()


def _kept_filters(filters):
    """The filters a date preset keeps, as a query string (the preset only changes the dates)."""
    names = ("provider", "model", "key", "agent", "purpose", "by", "metric")
    return urlencode({name: getattr(filters, name) for name in names if getattr(filters, name)})


class _Echo:
    def write(self, value):
        return value


def _cell(value):
    # Spreadsheets run cells that start with these as formulas: neutralize them.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


@require_GET
def export_csv(request):
    form, filters = parse_filters(request)
    if not form.is_valid():
        errors = "; ".join(error for errors in form.errors.values() for error in errors)
        return HttpResponse(f"Cannot export: {errors}", status=400, content_type="text/plain")
    rows = (UsageRecord.objects.filter(occurred_at__gte=filters.start_at, occurred_at__lt=filters.end_at,
                                       **filters.lookups())
            .order_by("occurred_at", "id").values_list(*EXPORT_COLUMNS)[:EXPORT_MAX_ROWS + 1])
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(EXPORT_COLUMNS)
        for count, row in enumerate(rows.iterator(chunk_size=2000), start=1):
            if count > EXPORT_MAX_ROWS:
                yield f"# truncated: more than {EXPORT_MAX_ROWS} rows match; narrow the dates or filters\r\n"
                break
            yield writer.writerow([_cell(value) for value in row])

    name = f"usage-{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
@staff_required
def refresh_recommendations(request):
    from usage.tasks import refresh_usage_recommendations

    transaction.on_commit(refresh_usage_recommendations.delay)
    messages.info(request, "Recommendations are being recomputed from the last 30 days; reload in a minute.")
    return redirect("usage:dashboard")


@require_POST
@staff_required
def batchable_agent_add(request):
    form = BatchableAgentForm(request.POST)
    if form.is_valid():
        BatchableAgent.objects.get_or_create(name=form.cleaned_data["name"].strip())
        messages.success(request, f"{form.cleaned_data['name']} is marked as batchable.")
    else:
        messages.error(request, "Enter the agent's name (up to 128 characters).")
    return redirect("usage:dashboard")


@require_POST
@staff_required
def batchable_agent_remove(request, pk):
    deleted, _ = BatchableAgent.objects.filter(pk=pk).delete()
    messages.success(request, "Agent unmarked." if deleted else "That agent was not marked.")
    return redirect("usage:dashboard")
