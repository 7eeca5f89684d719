from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class GatewayConfig(AppConfig):
    name = "providers.gateway"
    label = "gateway"  # the app label its tables and migrations were created under
    verbose_name = "Anthropic-compatible gateway"

    def ready(self):
        from providers.gateway.keys import keys_changed
        from providers.models import GatewayKey

        post_save.connect(keys_changed, sender=GatewayKey, dispatch_uid="gateway-keys-changed")
        post_delete.connect(keys_changed, sender=GatewayKey, dispatch_uid="gateway-keys-changed-d")
