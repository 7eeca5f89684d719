"""The migration wizard's views: thin, each calling a service and rendering the step it lands on."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from moments_admin.permissions import staff_required
from providers.changes import save_provider
from providers.clients.catalog import load_catalog
from providers.migration import jobs, mapping, page, rollout, state, tasks
from providers.migration import switch as switching
from providers.migration.checklist import items as checklist_items
from providers.migration.checklist import manual_keys
from providers.migration.forms import (
    AcknowledgeForm,
    DirectionForm,
    FixMappingForm,
    RolloutForm,
    RunForm,
    SwitchForm,
)
from providers.migration.models import Migration
from providers.migration.new_target import render_page
from providers.migration.providers_of import UnknownProvider, config_named, resolved_named, settings_named
from providers.migration.steps import missing_before
from providers.models import ProviderConfig

JOB_TASKS = {"verification": tasks.run_verification, "performance": tasks.run_performance}


def _render(request, migration, status=200, **extra):
    return render_page(request, migration, status, **extra)


def _back(migration):
    return redirect("migration:detail", pk=migration.pk)


@require_GET
def wizard(request):
    """/providers/migration/: the migration in progress at its current step, or step 1."""
    return _render(request, state.current())


@require_GET
def detail(request, pk):
    return _render(request, get_object_or_404(Migration, pk=pk))


def _in_progress(pk):
    migration = get_object_or_404(Migration, pk=pk)
    if migration.status != "in_progress":
        raise Http404("This migration is no longer in progress.")
    return migration


@require_POST
@staff_required
def start(request):
    form = DirectionForm(request.POST, providers=list(ProviderConfig.objects.all()))
    if not form.is_valid():
        return _render(request, state.current(), status=400, direction_form=form)
    try:
        migration = state.start(**form.cleaned_data, user=request.user)
    except (state.WizardError, UnknownProvider) as error:
        form.add_error(None, str(error))
        return _render(request, state.current(), status=400, direction_form=form)
    return _back(migration)


@require_POST
@staff_required
def direction(request, pk):
    migration = _in_progress(pk)
    form = DirectionForm(request.POST, providers=list(ProviderConfig.objects.all()))
    if form.is_valid():
        try:
            state.change_direction(migration, **form.cleaned_data, user=request.user)
            return _back(migration)
        except (state.WizardError, UnknownProvider) as error:
            form.add_error(None, str(error))
    return _render(request, migration, status=400, direction_form=form)


@require_POST
@staff_required
def go(request, pk):
    """Back, next, or a step picked on the progress indicator."""
    migration = _in_progress(pk)
    step = request.POST.get("step", "")
    if not step.isdigit():
        messages.error(request, "Pick a step from 1 to 7.")
        return _back(migration)
    missing = missing_before(int(step), migration.data) if int(step) > migration.step else None
    if missing is not None:
        messages.error(request, f"Step {missing[0]}: {missing[1]}")
        state.go_to(migration, missing[0], request.user)
        return _back(migration)
    state.go_to(migration, int(step), request.user)
    return _back(migration)


@require_POST
@staff_required
def check_mapping(request, pk):
    migration = _in_progress(pk)
    try:
        result = mapping.check(settings_named(migration.source), settings_named(migration.target))
    except UnknownProvider as error:
        messages.error(request, str(error))
        return _back(migration)
    state.save_data(migration.pk, "mapping", {"result": result}, request.user)
    return _back(migration)


@require_POST
@staff_required
def fix_mapping(request, pk):
    """Map one logical name on the target to the suggested model (a configuration revision), then re-check."""
    migration = _in_progress(pk)
    form = FixMappingForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a logical name and the model to map it to.")
        return _back(migration)
    config = config_named(migration.target)
    logical, model_id = form.cleaned_data["logical"], form.cleaned_data["model_id"]
    catalog = load_catalog()
    if logical not in {*catalog.logical_names(), *(config.model_mapping or {})} or catalog.model(model_id) is None:
        messages.error(request, f"Map a logical name to a model of the catalog ('{logical}' → '{model_id}' is not one).")
        return _back(migration)
    config.model_mapping = {**(config.model_mapping or {}), logical: model_id}
    save_provider(config, request.user, summary=f"Migration #{migration.pk}: mapped {logical} to {model_id} "
                                                f"on {config.name}")
    result = mapping.check(settings_named(migration.source), resolved_named(migration.target).settings)
    state.save_data(migration.pk, "mapping", {"result": result}, request.user)
    messages.success(request, f"{config.name} now maps {logical} to {model_id}.")
    return _back(migration)


@require_POST
@staff_required
def start_job(request, pk, name):
    if name not in JOB_TASKS:
        raise Http404("No such job.")
    migration = _in_progress(pk)
    form = RunForm(request.POST)
    if not form.is_valid():
        return _render(request, migration, status=400, run_form=form)
    options = {"model": form.cleaned_data["model"].strip(), "requests": form.cleaned_data.get("requests") or 1}
    if name == "verification":
        options.pop("requests")
        state.acknowledged_reset(migration, request.user)
    jobs.queue(migration, name, JOB_TASKS[name], options, request.user)
    return _back(migration)


@require_GET
def job_progress(request, pk, name):
    if name not in JOB_TASKS:
        raise Http404("No such job.")
    migration = get_object_or_404(Migration, pk=pk)
    job = migration.step_data(name)
    response = render(request, "migration/_job_progress.html", {"migration": migration, "job": job,
                                                                 "job_name": name})
    if job.get("state") in ("done", "error"):
        response["HX-Refresh"] = "true"  # the results need the whole step: reload it once
    return response


@require_POST
@staff_required
def acknowledge(request, pk):
    migration = _in_progress(pk)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write a note saying why this failure is acceptable.")
        return _back(migration)
    try:
        state.acknowledge(migration, form.cleaned_data["probe"], form.cleaned_data["note"], request.user)
    except state.WizardError as error:
        messages.error(request, str(error))
    return _back(migration)


@require_POST
@staff_required
def checklist(request, pk):
    migration = _in_progress(pk)
    rows, _ = checklist_items(migration, config_named(migration.target), resolved_named(migration.target))
    allowed = set(manual_keys(rows))
    ticked = [key for key in request.POST.getlist("ticked") if key in allowed]
    state.save_data(migration.pk, "checklist", {"ticked": ticked}, request.user)
    messages.success(request, "Checklist saved.")
    return _back(migration)


@require_POST
@staff_required
def switch(request, pk):
    migration = _in_progress(pk)
    form = SwitchForm(request.POST)
    keep = form.is_valid() and form.cleaned_data["keep_source_as_fallback"]
    try:
        revision = switching.switch(migration, request.user, keep_source_as_fallback=keep)
    except state.WizardError as error:
        messages.error(request, str(error))
        return _back(migration)
    messages.success(request, f"{migration.target} is now primary (revision #{revision.pk}).")
    return _back(migration)


@require_POST
@staff_required
def rollback(request, pk):
    migration = get_object_or_404(Migration, pk=pk)
    try:
        revision = switching.rollback(migration, request.user)
    except state.WizardError as error:
        messages.error(request, str(error))
        return _back(migration)
    messages.success(request, f"Rolled back: {migration.source} serves traffic again (revision #{revision.pk}).")
    return _back(migration)


@require_POST
@staff_required
def cancel(request, pk):
    migration = _in_progress(pk)
    rollout.stop(migration, request.user, "the migration was cancelled")  # nothing left routed to the target
    state.finish(migration, "cancelled", request.user)
    messages.success(request, f"Migration #{migration.pk} cancelled; nothing was switched.")
    return redirect("providers:migration")


@require_POST
@staff_required
def rollout_step(request, pk):
    """Start the gradual rollout or move it to 1, 10, 50 or 100 percent."""
    migration = _in_progress(pk)
    form = RolloutForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose 1, 10, 50 or 100 percent and an error-rate threshold between 0.1 and 100.")
        return _back(migration)
    try:
        rollout.set_percent(migration, form.cleaned_data["percent"], request.user,
                            threshold=form.cleaned_data["threshold"])
    except state.WizardError as error:
        messages.error(request, str(error))
        return _back(migration)
    messages.success(request, f"{form.cleaned_data['percent']}% of traffic now goes to {migration.target} first.")
    return _back(migration)


@require_POST
@staff_required
def rollout_stop(request, pk):
    migration = _in_progress(pk)
    rollout.stop(migration, request.user, f"stopped by {request.user.get_username()}")
    messages.success(request, f"Rollout stopped: all traffic goes to {migration.source} again.")
    return _back(migration)


@require_GET
def rollout_live(request, pk):
    """The side-by-side numbers while a rollout runs (polled by htmx)."""
    migration = get_object_or_404(Migration, pk=pk)
    return render(request, "migration/_rollout_live.html", page.rollout_context(migration))
