from django.urls import path

from providers.health import views

app_name = "health"

urlpatterns = [
    path("settings/", views.save_settings, name="settings"),
    path("test-alert/", views.send_test_alert, name="test-alert"),
]
