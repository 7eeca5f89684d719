"""Test connection: one htmx request per step, each rendering its result and triggering the next."""
import re

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_POST

from moments_admin.permissions import staff_required
from providers.connection_test import STEP_LABELS, STEPS, StepResult, new_run_id, next_step, run_step
from providers.kinds import form_class
from providers.models import ProviderConfig
from providers.resolve import build_settings, fingerprint
from providers.test_runs import record_step

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@require_POST
@staff_required
def test_connection(request, step):
    if step not in STEPS:
        raise Http404("No such test step.")
    kind = request.POST.get("kind", "")
    form_cls = form_class(kind)
    provider_id = request.POST.get("provider_id", "")
    instance = ProviderConfig.objects.filter(pk=int(provider_id)).first() if provider_id.isdigit() else None
    if instance is not None and instance.kind != kind:
        instance = None
    run_id = request.POST.get("run", "")
    if not _RUN_ID.match(run_id) or step == STEPS[0]:
        run_id = new_run_id()
    if form_cls is None:
        result = StepResult(step, False, "Choose a provider kind first.")
    else:
        form = form_cls(request.POST, instance=instance)
        if not form.is_valid():
            fields = [[name, " ".join(errors)] for name, errors in form.errors.items() if name != "__all__"]
            lines = [f"{form.fields[name].label or name}: {message}" for name, message in fields if name in form.fields]
            lines += list(form.non_field_errors())
            result = StepResult(step, False, "Fix the highlighted fields first; nothing was sent to the provider.",
                                fields=fields, lines=lines)
        else:
            config = form.to_config()
            result = run_step(step, build_settings(config, for_test=True))
            tested = fingerprint(config)
            # "Last test" speaks for the saved configuration only: a run of unsaved (or deliberately
            # wrong) values on the page is shown there and then, never stored as the provider's result.
            if instance is not None and tested == fingerprint(instance):
                record_step(instance.pk, run_id, result, tested)
    upcoming = next_step(step) if result.ok else None
    return render(request, "providers/test_step.html", {
        "result": result, "next_step": upcoming, "next_label": STEP_LABELS.get(upcoming, ""), "run_id": run_id,
    })
