from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_delete, post_save


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage and costs"

    def ready(self):
        from providers.call_records import set_usage_sink
        from usage.ingest import install_flush_on_signals
        from usage.models import Budget, ModelPrice, ProfileMapping
        from usage.pricing import forget_price_book
        from usage.services import batched_records, forget_blocked_keys
        from usage.sink import record_call

        for model in (ModelPrice, ProfileMapping):
            post_save.connect(forget_price_book, sender=model, dispatch_uid=f"forget-prices-{model.__name__}")
            post_delete.connect(forget_price_book, sender=model, dispatch_uid=f"forget-prices-d-{model.__name__}")
        post_save.connect(forget_blocked_keys, sender=Budget, dispatch_uid="forget-blocked-keys")
        post_delete.connect(forget_blocked_keys, sender=Budget, dispatch_uid="forget-blocked-keys-d")
        set_usage_sink(record_call, batch=batched_records)
        if settings.USAGE_WRITE_BUFFER and not settings.USAGE_QUEUE_URL:
            # In-process buffer: SIGTERM / SIGINT must write it before the process goes.
            install_flush_on_signals()
