"""Data retention: how long each usage table is kept, and how big it is now."""
from django.shortcuts import render
from django.views.decorators.http import require_GET

from moments_admin.permissions import staff_required
from usage.retention import table_report


@require_GET
@staff_required
def retention(request):
    rows = table_report()
    known = [row["bytes"] for row in rows if row["bytes"] is not None]
    return render(request, "usage/retention.html", {"tables": rows, "total_bytes": sum(known) if known else None})
