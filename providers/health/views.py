"""Health settings, the test alert, and /metrics. The Status page itself is providers:status."""
import hmac

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from moments_admin.permissions import staff_required
from providers.health import metrics
from providers.health.alerts import send_incident_alert
from providers.health.forms import HealthSettingsForm
from providers.health.models import HealthSettings, Incident
from providers.health.status_page import page_context
from providers.models import ProviderConfig


def _provider_names():
    return list(ProviderConfig.objects.values_list("name", flat=True))


@require_POST
@staff_required
def save_settings(request):
    form = HealthSettingsForm(request.POST, provider_names=_provider_names())
    if not form.is_valid():
        return render(request, "providers/status.html", page_context(request, settings_form=form), status=400)
    with transaction.atomic():
        row = HealthSettings.objects.select_for_update().get_or_create(pk=1)[0]
        for name, value in form.cleaned_data.items():
            setattr(row, name, value)
        row.save()
    messages.success(request, "Health check settings saved.")
    return redirect("providers:status")


@require_POST
@staff_required
def send_test_alert(request):
    row = HealthSettings.load()
    if not row.recipient_list and not row.webhook_url:
        messages.error(request, "Set an alert e-mail address or webhook URL first, then send a test alert.")
        return redirect("providers:status")
    incident = Incident(provider_name="example-provider", started_at=timezone.now(), cause="test",
                        message="This is a test of the health alert channels; nothing is down")
    results = send_incident_alert(incident, "opened", row, test=True)
    text = "; ".join(f"{channel}: {outcome}" for channel, outcome in results.items())
    if all(outcome == "sent" for outcome in results.values()):
        messages.success(request, f"Test alert sent ({text}).")
    else:
        messages.error(request, f"Test alert: {text}.")
    return redirect("providers:status")


@login_not_required
@never_cache
@require_GET
def metrics_view(request):
    """Prometheus scrape, on only when METRICS_TOKEN is set: `Authorization: Bearer <METRICS_TOKEN>`,
    or a staff session (to look at it in the browser)."""
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse("Metrics are off: set METRICS_TOKEN to turn /metrics on.\n", status=404,
                            content_type="text/plain")
    header = request.headers.get("Authorization", "")
    by_token = header.startswith("Bearer ") and hmac.compare_digest(
        header.removeprefix("Bearer ").encode(), token.encode())
    if not by_token:
        if not request.user.is_authenticated:
            response = HttpResponse("Send the bearer token (METRICS_TOKEN) or log in as staff.\n", status=401,
                                    content_type="text/plain")
            response["WWW-Authenticate"] = "Bearer"
            return response
        if not request.user.is_staff:
            return HttpResponse("Only staff may read metrics.\n", status=403, content_type="text/plain")
    return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
