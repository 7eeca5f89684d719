"""The Status page's manual overrides (staff, POST with CSRF): force a provider out or back, pin
or unpin the primary, reset a breaker, save the breaker policy. Each change is a revision."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from moments_admin.permissions import staff_required
from providers import overrides
from providers.health.forms import BreakerPolicyForm, OverrideForm
from providers.health.status_page import page_context


def _target(request):
    form = OverrideForm(request.POST)
    if not form.is_valid() or not form.cleaned_data["target"].strip():
        return None, False
    return form.cleaned_data["target"].strip(), form.cleaned_data["on"]


def _done(request, action):
    target, on = _target(request)
    if target is None:
        messages.error(request, "Pick a provider first; nothing was changed.")
        return redirect("providers:status")
    try:
        summary = action(target, on, request.user)
    except overrides.OverrideRefused as exc:
        messages.error(request, f"{exc} Nothing was changed.")
    else:
        messages.success(request, summary)
    return redirect("providers:status")


@require_POST
@staff_required
def force_out(request):
    def action(name, on, user):
        overrides.set_forced_out(name, on, user)
        return f"{name} is {'out of' if on else 'back in'} traffic."
    return _done(request, action)


@require_POST
@staff_required
def pin_primary(request):
    target, _ = _target(request)
    try:
        overrides.set_pinned_primary(target or "", request.user)
    except overrides.OverrideRefused as exc:
        messages.error(request, f"{exc} Nothing was changed.")
    else:
        messages.success(request, f"The primary is pinned to {target}." if target else "The primary is unpinned.")
    return redirect("providers:status")


@require_POST
@staff_required
def reset_breaker(request):
    def action(name, _on, user):
        overrides.reset_breaker(name, user)
        return f"The breaker of {name} is closed."
    return _done(request, action)


@require_POST
@staff_required
def breaker_policy(request):
    form = BreakerPolicyForm(request.POST)
    if not form.is_valid():
        return render(request, "providers/status.html", page_context(request, policy_form=form), status=400)
    overrides.save_policy(form.cleaned_data, request.user)
    messages.success(request, "Circuit-breaker policy saved.")
    return redirect("providers:status")
