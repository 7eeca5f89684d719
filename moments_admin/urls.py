from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from moments_admin import views
from moments_admin.signin import ThrottledAuthenticationForm
from providers.health.views import metrics_view

urlpatterns = [
    path("", views.home, name="home"),
    path("setup/", views.setup, name="setup"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=ThrottledAuthenticationForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("providers/", include("providers.urls")),
    path("providers/migration/", include("providers.migration.urls")),
    path("usage/", include("usage.urls")),
    path("health/", include("providers.health.urls")),
    path("metrics", metrics_view, name="metrics"),
    path("gateway/", include("providers.gateway.urls")),
    path("django-admin/", admin.site.urls),
]
