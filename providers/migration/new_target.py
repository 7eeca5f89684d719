"""Step 1's inline provider form: the real provider form (the kind plugins' forms, saved as a configuration
revision by providers.changes), whose new provider becomes the wizard's target."""
from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from moments_admin.permissions import staff_required
from providers.changes import save_provider
from providers.kinds import form_class, kind_names
from providers.migration import page, state
from providers.save_warnings import save_warnings
from providers.views.edit import form_context, with_query

DEFAULT_KIND = "bedrock"


def _unknown_kind(kind):
    return HttpResponseBadRequest(f"Unknown provider kind: use one of {', '.join(kind_names())}.",
                                  content_type="text/plain")


def default_kind(migration):
    return state.TARGET_KINDS[migration.direction][1] if migration and migration.direction in state.TARGET_KINDS \
        else DEFAULT_KIND


def context(request, form):
    """The provider form's context, its kind buttons and save pointed at the wizard."""
    return form_context(request, form, kind_url=reverse("migration:new-target") + "?", embedded=True)


def render_page(request, migration, status=200, **extra):
    """The wizard page; at step 1, for staff, with the inline provider form (`new_target_form` if given)."""
    ctx = page.context(migration, preselect=request.GET.get("target", "")[:50], **extra)
    form = ctx.pop("new_target_form", None)
    if ctx["step_name"] == "direction" and request.user.is_staff:
        ctx.update(context(request, form or form_class(default_kind(migration))()))
    return render(request, "migration/wizard.html", ctx, status=status)


def _form_body(request, form, status=200):
    return render(request, "providers/edit.html#form-body", context(request, form), status=status)


def _adopt(request, config):
    """Make the new provider the target of the migration in progress; say so, or why not."""
    migration = state.current()
    if migration is None:
        messages.success(request, f"Added provider {config.name}, selected below as the target: choose the "
                                  "direction and the source, then start.")
        return
    try:
        state.change_direction(migration, migration.direction, migration.source, config.name, request.user)
    except state.WizardError as error:
        messages.warning(request, f"Added provider {config.name}, but it cannot be the target of migration "
                                  f"#{migration.pk}: {error} Change the direction below, or pick another target.")
        return
    messages.success(request, f"Added provider {config.name}: it is now the target of migration #{migration.pk}.")


@require_http_methods(["GET", "POST"])
@staff_required
def new_target(request):
    kind = request.POST.get("kind") or request.GET.get("kind") or default_kind(state.current())
    form_cls = form_class(kind)
    if form_cls is None:
        return _unknown_kind(kind)
    if request.method == "GET":
        if not request.htmx:  # without htmx: the full provider form, which comes back here
            return redirect(with_query(reverse("providers:create"), kind=kind,
                                       next=reverse("providers:migration")))
        typed_name = (request.GET.get("name") or "").strip()[:50]
        return _form_body(request, form_cls(initial={"name": typed_name} if typed_name else None))
    form = form_cls(request.POST)
    if not form.is_valid():
        if request.htmx:
            return _form_body(request, form, status=400)
        return render_page(request, state.current(), status=400, new_target_form=form)
    config = save_provider(form.to_config(), request.user,
                           summary=f"Added provider {form.cleaned_data['name']} (migration wizard target)")
    for warning in save_warnings(config):
        messages.warning(request, f"Saved, but check: {warning}")
    _adopt(request, config)
    url = with_query(reverse("providers:migration"), target=config.name)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
