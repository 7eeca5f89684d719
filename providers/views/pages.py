"""Read-only pages: the provider list, the effective configuration, Claude Code, status."""
import time

from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from providers import breaker
from providers.claude_code import as_settings_json, as_shell, claude_code_env
from providers.display import effective_rows, mapping_rows
from providers.environment import EnvironmentError_, read_environment
from providers.forms import RoutingForm
from providers.health.status_page import nothing_to_watch, page_context
from providers.kinds import PLUGINS, kind_choices
from providers.models import ProviderConfig, ProviderRouting
from providers.resolve import build_settings, fingerprint
from providers.selection import SelectionError, select_providers


def _selection():
    try:
        return select_providers(), ""
    except SelectionError as exc:
        return None, str(exc)


@require_GET
def provider_list(request):
    return render(request, "providers/list.html", list_context())


def list_context(routing_form=None):
    """The provider list page; `routing_form` is a bound form with errors (its typed values are kept)."""
    providers = list(ProviderConfig.objects.all())
    routing = ProviderRouting.load()
    selection, selection_error = _selection()
    chain = {}
    if selection and selection.primary:
        chain[selection.primary.pk] = "primary"
        for index, fallback in enumerate(selection.fallbacks, start=1):
            chain[fallback.pk] = f"fallback {index}"
    rows = []
    for provider in providers:
        stale = bool(provider.last_test_fingerprint) and provider.last_test_fingerprint != fingerprint(provider)
        plugin = PLUGINS.get(provider.kind)
        rows.append({"provider": provider, "role": chain.get(provider.pk, ""), "stale": stale,
                     "kind_label": plugin.label if plugin else provider.kind,
                     "summary": plugin.summary(provider) if plugin else "",
                     "mapping": mapping_rows(provider), "health": _health(provider)})
    logical = [row.logical for row in rows[0]["mapping"]] if rows else []
    form = routing_form or RoutingForm(names=[p.name for p in providers], initial=RoutingForm.initial_for(routing))
    return {
        "rows": rows, "routing": routing, "routing_form": form, "selection": selection,
        "selection_error": selection_error, "logical_names": logical, "kinds": kind_choices(),
    }


def _health(provider):
    """(css class, label) from the shared circuit-breaker state that real traffic updates."""
    state = breaker.state(provider.name)
    if not provider.enabled:
        return "muted", "disabled"
    if state["open_until"] > time.time():
        return "bad", "down (circuit open)"
    if state["failures"]:
        error = state.get("last_error") or {}
        return "warn", f"degraded: {error.get('kind', 'errors')}"
    if state.get("last_ok"):
        return "ok", "operational"
    return "muted", "no traffic yet"


@require_GET
def environment(request):
    try:
        env, env_error = read_environment(), ""
    except EnvironmentError_ as exc:
        env, env_error = None, exc.message
    selection, selection_error = _selection()
    chain = []
    if selection and selection.primary:
        providers = [selection.primary, *selection.fallbacks]
        for index, provider in enumerate(providers):
            resolved = build_settings(provider, environment=selection.environment)
            chain.append({"provider": provider, "role": "primary" if index == 0 else f"fallback {index}",
                          "rows": effective_rows(resolved, staff=request.user.is_staff), "problems": resolved.problems})
    return render(request, "providers/environment.html", {
        "env_rows": env.describe() if env else [], "env_error": env_error, "selection": selection,
        "selection_error": selection_error, "chain": chain,
    })


@require_GET
def claude_code(request):
    selection, selection_error = _selection()
    context = {"selection_error": selection_error, "primary": None}
    if selection and selection.primary:
        resolved = build_settings(selection.primary, environment=selection.environment)
        env, notes = claude_code_env(resolved, selection.environment)
        context.update(primary=selection.primary, shell=as_shell(env), settings_json=as_settings_json(env),
                       variables=env, notes=notes, reasons=selection.reasons)
    return render(request, "providers/claude_code.html", context)


@require_GET
@vary_on_headers("HX-Request")
def status(request):
    """The Status page; an htmx poll gets only its live part, and stops polling (286) when there
    is nothing to watch."""
    if request.htmx:
        response = render(request, "providers/status.html#live", page_context(request, live_only=True))
        if nothing_to_watch():
            response.status_code = 286  # htmx: stop polling
        return response
    return render(request, "providers/status.html", page_context(request))
