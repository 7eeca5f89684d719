"""Revisions of the provider configuration: list, diff, one-click restore."""
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from moments_admin.permissions import staff_required
from providers import revisions
from providers.models import ConfigRevision


@require_GET
def revision_list(request):
    page = Paginator(ConfigRevision.objects.select_related("user").defer("snapshot"), 50).get_page(
        request.GET.get("page"))
    return render(request, "providers/revisions.html", {"page": page})


@require_GET
def revision_detail(request, pk):
    revision = get_object_or_404(ConfigRevision, pk=pk)
    before = revisions.previous(revision)
    return render(request, "providers/revision.html", {
        "revision": revision, "previous": before,
        "changes": revisions.diff(before.snapshot if before else {}, revision.snapshot, staff=request.user.is_staff),
        "restore_changes": revisions.diff(revisions.snapshot(), revisions.restorable(revision.snapshot), staff=request.user.is_staff),
        "unreadable": revisions.unreadable_secrets(revision.snapshot),
    })


@require_http_methods(["GET", "POST"])
@staff_required
def revision_restore(request, pk):
    """GET (or a POST without confirm): what restoring would change, and a button to confirm it."""
    revision = get_object_or_404(ConfigRevision, pk=pk)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        new = revisions.restore(revision, request.user)
        messages.success(request, f"Restored the configuration of revision #{revision.pk} (now revision #{new.pk}).")
        return redirect("providers:list")
    return render(request, "providers/revision_restore.html", {
        "revision": revision,
        "restore_changes": revisions.diff(revisions.snapshot(), revisions.restorable(revision.snapshot), staff=True),
        "unreadable": revisions.unreadable_secrets(revision.snapshot),
    })
