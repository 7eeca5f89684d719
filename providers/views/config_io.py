"""config.yml: download, upload (validated, atomic), and write to the configured path."""
import logging

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from moments_admin.permissions import staff_required
from providers.config_export import config_path, export_config, write_config
from providers.config_yaml import ConfigFileError, import_config
from providers.forms import ConfigUploadForm
from providers.yaml_lines import MAX_BYTES

logger = logging.getLogger("providers.config")


def _page(request, form=None, issues=(), status=200):
    return render(request, "providers/config.html", {
        "form": form or ConfigUploadForm(), "issues": issues, "export": export_config(request.user),
        "config_path": config_path(),
    }, status=status)


@require_GET
def config_page(request):
    return _page(request)


@require_GET
def config_download(request):
    response = HttpResponse(export_config(request.user), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="config.yml"'
    return response


@require_POST
@staff_required
def config_import(request):
    form = ConfigUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        revision = import_config(upload.read(MAX_BYTES + 1), request.user, source=f"upload {upload.name}"[:100])
    except ConfigFileError as exc:
        logger.info("config.yml upload by %s rejected: %d problems", request.user.get_username(), len(exc.issues))
        return _page(request, form, issues=exc.issues, status=400)
    messages.success(request, f"Imported {upload.name}: revision #{revision.pk}.")
    return redirect("providers:list")


@require_POST
@staff_required
def config_write(request):
    try:
        path = write_config(request.user)
    except OSError as exc:
        messages.error(request, f"Could not write {config_path()}: {exc.strerror or exc}.")
    else:
        messages.success(request, f"Wrote {path}.")
    return redirect("providers:config")
