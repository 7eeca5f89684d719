"""The price table: current prices with their history, new dated prices, recompute, profile ARNs."""
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from moments_admin.permissions import staff_required
from usage.forms import KIND_CHOICES, PriceForm, ProfileMappingForm, RecomputeForm
from usage.models import ModelPrice, ProfileMapping, RecomputeJob
from usage.pricing import as_utc_date

FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read", "batch_discount",
          "long_context_threshold", "long_context_input", "long_context_output", "us_only_multiplier", "estimated",
          "source_url", "note")


def _page(request, price_form=None, recompute_form=None, mapping_form=None, status=200):
    today = as_utc_date(timezone.now())
    groups = {}
    for price in ModelPrice.objects.all():
        groups.setdefault((price.provider_kind, price.base_model, price.scope), []).append(price)
    order = {"standard": 0, "global": 1, "geo": 2, "in_region": 3}
    providers = {kind: [] for kind, _ in KIND_CHOICES}
    for (kind, model, scope), history in sorted(groups.items(), key=lambda item: (item[0][1], order.get(item[0][2]))):
        current = next((price for price in history if price.effective_from <= today), None)
        upcoming = [price for price in history if price.effective_from > today]
        providers.setdefault(kind, []).append({
            "model": model, "scope": scope, "current": current, "upcoming": upcoming,
            "history": [price for price in history if price is not current and price not in upcoming]})
    context = {"providers": [(label, providers[kind]) for kind, label in KIND_CHOICES], "jobs": RecomputeJob.objects.order_by("-id")[:5],
               "mappings": ProfileMapping.objects.order_by("arn"),
               "price_form": price_form or PriceForm(initial={"effective_from": today}),
               "recompute_form": recompute_form or RecomputeForm(),
               "mapping_form": mapping_form or ProfileMappingForm()}
    return render(request, "usage/prices.html", context, status=status)


@require_GET
def price_list(request):
    return _page(request)


@require_POST
@staff_required
def price_add(request):
    form = PriceForm(request.POST)
    if not form.is_valid():
        return _page(request, price_form=form, status=400)
    data = form.cleaned_data
    try:
        with transaction.atomic():
            ModelPrice.objects.create(provider_kind=data["provider_kind"], base_model=data["model"],
                                      scope=data["scope"], effective_from=data["effective_from"],
                                      source_date=as_utc_date(timezone.now()), created_by=request.user,
                                      **{name: data[name] for name in FIELDS if name in data})
    except IntegrityError:
        form.add_error("effective_from", "A price for this model, scope and date exists: pick another date.")
        return _page(request, price_form=form, status=400)
    messages.success(request, f"New price for {data['model']} ({data['scope']}) applies from "
                              f"{data['effective_from']:%Y-%m-%d}. Costs already recorded keep their price "
                              "unless you recompute that period.")
    return redirect("usage:prices")


@require_POST
@staff_required
def recompute(request):
    from usage.tasks import recompute_usage_costs

    form = RecomputeForm(request.POST)
    if not form.is_valid():
        return _page(request, recompute_form=form, status=400)
    data = form.cleaned_data
    job = RecomputeJob.objects.create(start=data["start"], end=data["end"], provider_kind=data["provider_kind"],
                                      base_model=data.get("model", ""), requested_by=request.user)
    transaction.on_commit(lambda: recompute_usage_costs.delay(job.id))
    messages.info(request, f"Re-pricing {job.start:%Y-%m-%d} to {job.end:%Y-%m-%d} with the current price table.")
    return redirect("usage:prices")


@require_GET
def recompute_status(request, pk):
    job = RecomputeJob.objects.filter(pk=pk).first()
    if job is None:
        raise Http404("No such recompute job.")
    response = render(request, "usage/prices.html#job-row", {"job": job})
    if job.finished and request.htmx:
        return HttpResponseStopPolling(response.content)
    return response


@require_POST
@staff_required
def mapping_add(request):
    form = ProfileMappingForm(request.POST)
    if not form.is_valid():
        return _page(request, mapping_form=form, status=400)
    ProfileMapping.objects.create(**form.cleaned_data)
    messages.success(request, "Mapped. New calls through this profile are priced as its model; recompute a "
                              "period to price earlier ones.")
    return redirect("usage:prices")


@require_POST
@staff_required
def mapping_delete(request, pk):
    ProfileMapping.objects.filter(pk=pk).delete()
    messages.success(request, "Mapping removed.")
    return redirect("usage:prices")
