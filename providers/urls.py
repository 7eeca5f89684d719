from django.urls import path

from providers import views
from providers.migration.views import wizard as migration_wizard

app_name = "providers"

urlpatterns = [
    path("", views.provider_list, name="list"),
    path("new/", views.create_provider, name="create"),
    path("<int:pk>/edit/", views.edit_provider, name="edit"),
    path("<int:pk>/delete/", views.delete_provider, name="delete"),
    path("form-fields/", views.form_fields, name="form-fields"),
    path("mapping-preview/", views.mapping_preview, name="mapping-preview"),
    path("test/<slug:step>/", views.test_connection, name="test-connection"),
    path("routing/", views.routing, name="routing"),
    path("remap-model/", views.remap_model, name="remap-model"),
    path("environment/", views.environment, name="environment"),
    path("claude-code/", views.claude_code, name="claude-code"),
    path("config/", views.config_page, name="config"),
    path("config/export/", views.config_download, name="config-export"),
    path("config/import/", views.config_import, name="config-import"),
    path("config/write/", views.config_write, name="config-write"),
    path("revisions/", views.revision_list, name="revisions"),
    path("revisions/<int:pk>/", views.revision_detail, name="revision"),
    path("revisions/<int:pk>/restore/", views.revision_restore, name="revision-restore"),
    path("status/", views.status, name="status"),
    path("migration/", migration_wizard, name="migration"),
    path("response-cache/", views.response_cache_page, name="response-cache"),
    path("response-cache/flush/", views.response_cache_flush, name="response-cache-flush"),
    path("response-cache/export/", views.response_cache_export, name="response-cache-export"),
    path("response-cache/import/", views.response_cache_import, name="response-cache-import"),
]
