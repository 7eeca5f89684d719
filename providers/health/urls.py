from django.urls import path

from providers.health import override_views, views

app_name = "health"

urlpatterns = [
    path("settings/", views.save_settings, name="settings"),
    path("test-alert/", views.send_test_alert, name="test-alert"),
    path("breaker-policy/", override_views.breaker_policy, name="breaker-policy"),
    path("force-out/", override_views.force_out, name="force-out"),
    path("pin-primary/", override_views.pin_primary, name="pin-primary"),
    path("reset-breaker/", override_views.reset_breaker, name="reset-breaker"),
]
