from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "Providers"

    def ready(self):
        from providers.models import ConfigRevision, ProviderConfig, ProviderRouting
        from providers.snapshot import configuration_changed

        for model in (ProviderConfig, ProviderRouting, ConfigRevision):
            post_save.connect(configuration_changed, sender=model, dispatch_uid=f"snapshot-{model.__name__}")
            post_delete.connect(configuration_changed, sender=model, dispatch_uid=f"snapshot-d-{model.__name__}")
