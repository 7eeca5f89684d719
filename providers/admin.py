"""Django admin: read-only views for support; changes go through the provider pages (revisions, checks)."""
from django.contrib import admin

from providers.models import SECRET_FIELDS, ConfigRevision, ProviderConfig, ProviderRouting


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProviderConfig)
class ProviderConfigAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "enabled", "aws_region", "auth_mode", "last_test_ok", "last_test_at")
    exclude = SECRET_FIELDS


@admin.register(ProviderRouting)
class ProviderRoutingAdmin(ReadOnlyAdmin):
    list_display = ("primary", "auto_fallback")


@admin.register(ConfigRevision)
class ConfigRevisionAdmin(ReadOnlyAdmin):
    list_display = ("pk", "created_at", "username", "summary")
    exclude = ("snapshot",)
