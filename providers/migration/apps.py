from django.apps import AppConfig


class MigrationConfig(AppConfig):
    name = "providers.migration"
    label = "migration"
    verbose_name = "Provider migration wizard"
