"""Provider pages, split by what they do; urls.py imports the views from here."""
from providers.views.config_io import config_download, config_import, config_page, config_write
from providers.views.edit import (
    create_provider,
    delete_provider,
    edit_provider,
    form_fields,
    mapping_preview,
    remap_model,
    routing,
)
from providers.views.history import revision_detail, revision_list, revision_restore
from providers.views.pages import claude_code, environment, provider_list, status
from providers.views.response_cache import (
    response_cache_export,
    response_cache_flush,
    response_cache_import,
    response_cache_page,
)
from providers.views.testing import test_connection

__all__ = [
    "claude_code", "config_download", "config_import", "config_page", "config_write", "create_provider",
    "delete_provider", "edit_provider", "environment", "form_fields", "mapping_preview",
    "provider_list", "remap_model", "response_cache_export", "response_cache_flush", "response_cache_import",
    "response_cache_page", "revision_detail", "revision_list", "revision_restore", "routing", "status",
    "test_connection",
]
