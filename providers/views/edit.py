"""Add, edit and remove providers; the htmx pieces of the form; primary and fallbacks."""
from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from moments_admin.permissions import staff_required
from providers import changes, validation
from providers.aws_profiles import config_paths, list_profiles, sso_message, sso_state
from providers.display import beta_rows, mapping_rows, preview_config
from providers.environment import env_secret
from providers.forms import RoutingForm
from providers.kinds import form_class, kind_choices, kind_names
from providers.kinds.aws import AWS_ENV_KEYS
from providers.models import ProviderConfig
from providers.resolve import fingerprint
from providers.save_warnings import save_warnings

SECRET_INPUTS = ("api_key", "aws_secret_access_key", "aws_session_token", "bedrock_api_key", "csrfmiddlewaretoken")


def _warn(request, config):
    for warning in save_warnings(config):
        messages.warning(request, f"Saved, but check: {warning}")


def _unknown_kind(kind):
    return HttpResponseBadRequest(f"Unknown provider kind: use one of {', '.join(kind_names())}.",
                                  content_type="text/plain")


def wizard_next(request):
    """The `next` URL of a provider created from the migration wizard: local and under the wizard, else None."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure())
    return target if safe and target.startswith(reverse("providers:migration")) else None


def with_query(url, **params):
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def form_context(request, form, instance=None, *, kind_url=None, embedded=False):
    """What the provider form's template needs; `kind_url` (ending in ? or &) serves the kind buttons, and
    `embedded` leaves the browser's address alone (the form inside another page, e.g. the wizard)."""
    ctx = _context(request, form, instance)
    ctx["kind_url"] = kind_url or ctx["kind_url"]
    ctx["embedded"] = embedded
    return ctx


def _context(request, form, instance):
    form.add_refresh(reverse("providers:form-fields"))
    if form.is_bound:
        preview = preview_config(form.kind, form.data)
    elif instance is not None and instance.pk:
        preview = instance
    else:
        preview = preview_config(form.kind, {k: v for k, v in form.initial.items() if isinstance(v, str)})
    profiles = []
    aws_auth = getattr(form, "aws_auth", False)
    if aws_auth:
        for profile in list_profiles():
            state = sso_state(profile)
            profiles.append({"profile": profile, "state": state, "message": sso_message(profile, state)})
    stale = bool(instance and instance.pk and instance.last_test_fingerprint
                 and instance.last_test_fingerprint != fingerprint(instance))
    mode = form["auth_mode"].value() if aws_auth else None
    back = wizard_next(request)
    return {
        "form": form, "instance": instance or form.instance, "kinds": kind_choices(),
        "mapping_rows": mapping_rows(preview, form), "profiles": profiles,
        "aws_paths": [str(p) for p in config_paths()],
        "aws_env": [(name, bool(env_secret(name))) for name in AWS_ENV_KEYS],
        "auth_mode_label": getattr(form, "auth_mode_labels", validation.AUTH_MODE_LABELS).get(mode, ""),
        "beta_rows": beta_rows(),
        "form_action": request.path + (f"?kind={form.kind}" if not (instance and instance.pk) else ""),
        "embedded": False,
        "last_test_stale": stale,
        "next": back,
        "kind_url": reverse("providers:create") + (f"?{urlencode({'next': back})}&" if back else "?"),
    }


def _render(request, form, instance=None, *, partial=None, status=200):
    template = "providers/edit.html" + (f"#{partial}" if partial else "")
    return render(request, template, _context(request, form, instance), status=status)


@vary_on_headers("HX-Request")
@require_http_methods(["GET", "POST"])
@staff_required
def create_provider(request):
    kind = request.POST.get("kind") or request.GET.get("kind") or "anthropic"
    form_cls = form_class(kind)
    if form_cls is None:
        return _unknown_kind(kind)
    if request.method == "POST":
        form = form_cls(request.POST)
        if form.is_valid():
            config = changes.save_provider(form.to_config(), request.user)
            messages.success(request, f"Added provider {config.name}. Run test connection to check it.")
            _warn(request, config)
            back = wizard_next(request)  # created from the migration wizard: back there, as its target
            return redirect(with_query(back, target=config.name) if back else "providers:list")
        return _render(request, form, status=400)
    partial = "form-body" if request.htmx else None
    # Switching kind keeps the name typed so far (the kind buttons send it along).
    typed_name = (request.GET.get("name") or "").strip()[:50]
    return _render(request, form_cls(initial={"name": typed_name} if typed_name else None), partial=partial)


@require_http_methods(["GET", "POST"])
@staff_required
def edit_provider(request, pk):
    instance = get_object_or_404(ProviderConfig, pk=pk)
    form_cls = form_class(instance.kind)
    if form_cls is None:
        return _unknown_kind(instance.kind)
    if request.method == "POST":
        form = form_cls(request.POST, instance=instance)
        if form.is_valid():
            config = changes.save_provider(form.to_config(), request.user)
            messages.success(request, f"Saved provider {config.name}.")
            _warn(request, config)
            return redirect("providers:list")
        return _render(request, form, instance, status=400)
    return _render(request, form_cls(instance=instance), instance)


@require_http_methods(["GET", "POST"])
@staff_required
def delete_provider(request, pk):
    instance = get_object_or_404(ProviderConfig, pk=pk)
    if request.method == "POST":
        changes.delete_provider(instance, request.user)
        messages.success(request, f"Removed provider {instance.name}. Restore it from Revisions if needed.")
        return redirect("providers:list")
    return render(request, "providers/delete.html", {"instance": instance})


def _instance_from(request):
    provider_id = request.POST.get("provider_id", "")
    return ProviderConfig.objects.filter(pk=int(provider_id)).first() if provider_id.isdigit() else None


@require_POST
@staff_required
def form_fields(request):
    """htmx: the kind-specific fields for the chosen auth mode or secret source, from the values on screen."""
    kind = request.POST.get("kind", "")
    form_cls = form_class(kind)
    if form_cls is None:
        return _unknown_kind(kind)
    instance = _instance_from(request)
    if instance is not None and instance.kind != kind:
        instance = None
    initial = {k: v for k, v in request.POST.dict().items() if k not in SECRET_INPUTS}
    form = form_cls(instance=instance, initial=initial)
    return _render(request, form, instance, partial="kind-fields")


@require_POST
@staff_required
def mapping_preview(request):
    """htmx: the "resolves to" and availability cells of the mapping table, swapped out of band."""
    config = preview_config(request.POST.get("kind", ""), request.POST)
    return render(request, "providers/mapping_preview.html", {"rows": mapping_rows(config), "oob": True})


@require_POST
@staff_required
def routing(request):
    from providers.views.pages import list_context

    names = list(ProviderConfig.objects.values_list("name", flat=True))
    form = RoutingForm(request.POST, names=names)
    if form.is_valid():
        changes.update_routing(request.user, primary=form.cleaned_data["primary"],
                                fallbacks=form.cleaned_data["fallbacks"],
                                auto_fallback=form.cleaned_data["auto_fallback"],
                                environment_primary=form.environment_primary)
        messages.success(request, "Saved the primary provider and fallbacks.")
        return redirect("providers:list")
    # The page again with the values as typed and each error beside its field; nothing was saved.
    messages.error(request, "Nothing was changed: fix the routing form below.")
    return render(request, "providers/list.html", list_context(form), status=400)


@require_POST
@staff_required
def remap_model(request):
    """The end-of-life panel's one-click remap: logical names on a retiring model move to its successor."""
    model = (request.POST.get("model") or "")[:200]
    back = url_has_allowed_host_and_scheme(request.POST.get("next", ""), allowed_hosts={request.get_host()})
    target = request.POST["next"] if back else "providers:revisions"
    try:
        successor, moved = changes.remap_model(model, request.user)
    except ValueError as exc:
        messages.error(request, f"Nothing was changed. {exc}")
        return redirect(target)
    if moved:
        messages.success(request, f"Remapped {', '.join(moved)} to {successor.display_name}, as one revision "
                                  "(restore the one before it on the Revisions page to undo).")
    else:
        messages.warning(request, f"No provider maps a logical name to {model}: its requests name the model "
                                  f"directly. Change them to a logical name (or to {successor.key}).")
    return redirect(target)
