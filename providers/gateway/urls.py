from django.urls import path

from providers.gateway import views

app_name = "gateway"

urlpatterns = [
    path("keys/", views.key_list, name="keys"),
    path("keys/add/", views.key_create, name="key-add"),
    path("keys/<int:pk>/edit/", views.key_edit, name="key-edit"),
    path("keys/<int:pk>/rotate/", views.key_rotate, name="key-rotate"),
    path("keys/<int:pk>/revoke/", views.key_revoke, name="key-revoke"),
]
