"""The Batches page: jobs with progress, outcomes, cost at batch prices and the saving; upload, cancel, download."""
import json

from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_GET, require_POST

from moments_admin.permissions import staff_required
from providers import snapshot
from providers.batch import submission, tracking
from providers.batch.forms import BatchUploadForm
from providers.batch.models import BatchJob
from providers.clients.errors import ProviderError


def _providers():
    return [s.name for s in snapshot.current().chain]


def _list_page(request, form=None, error=None, status=200):
    jobs = BatchJob.objects.all()[:200]
    template = "batch/list.html#jobs" if request.htmx and request.GET.get("partial") else "batch/list.html"
    return render(request, template, {
        "jobs": jobs, "form": form or BatchUploadForm(providers=_providers()), "error": error,
        "active": any(job.state != "ended" or not job.results_stored for job in jobs)}, status=status)


@require_GET
def batch_list(request):
    return _list_page(request)


@require_POST
@staff_required
def batch_submit(request):
    form = BatchUploadForm(request.POST, request.FILES, providers=_providers())
    if not form.is_valid():
        return _list_page(request, form=form, status=400)
    data = form.cleaned_data
    try:
        job = submission.submit_file(data["file"].read(), name=data["name"], provider=data["provider"] or None,
                                     agent=data["agent"], source="upload", user=request.user)
    except ProviderError as error:
        return _list_page(request, form=form, error=error, status=400)
    messages.success(request, f"Batch submitted to {job.provider_name}: {job.total} request{pluralize(job.total)}.")
    return redirect("batch:detail", pk=job.pk)


@require_GET
def batch_detail(request, pk):
    job = get_object_or_404(BatchJob, pk=pk)
    failures = job.results.exclude(outcome="succeeded").order_by("pk")[:500]
    template = "batch/detail.html#summary" if request.htmx else "batch/detail.html"
    return render(request, template, {"job": job, "failures": failures})


@require_POST
@staff_required
def batch_refresh(request, pk):
    job = get_object_or_404(BatchJob, pk=pk)
    tracking.poll(job.pk)
    return redirect("batch:detail", pk=job.pk)


@require_POST
@staff_required
def batch_cancel(request, pk):
    job = get_object_or_404(BatchJob, pk=pk)
    if job.state == "ended":
        messages.info(request, "This batch has already ended.")
        return redirect("batch:detail", pk=job.pk)
    try:
        tracking.cancel(job)
    except ProviderError as error:
        messages.error(request, f"Could not cancel: {error}")
        return redirect("batch:detail", pk=job.pk)
    messages.success(request, "Cancel requested: requests not yet processed end as canceled.")
    return redirect("batch:detail", pk=job.pk)


@require_GET
def batch_results(request, pk):
    """Every request's result as JSONL (the Message Batches results shape), whichever provider ran it."""
    job = get_object_or_404(BatchJob, pk=pk)

    def lines():
        for row in job.results.order_by("pk").iterator(chunk_size=1000):
            result = {"type": row.outcome}
            if row.message is not None:
                result["message"] = row.message
            if row.error is not None:
                result["error"] = row.error
            yield json.dumps({"custom_id": row.custom_id, "result": result}) + "\n"

    response = StreamingHttpResponse(lines(), content_type="application/jsonl")
    response["Content-Disposition"] = f'attachment; filename="batch-{job.pk}-results.jsonl"'
    return response
