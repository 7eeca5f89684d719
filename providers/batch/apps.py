from django.apps import AppConfig


class BatchConfig(AppConfig):
    name = "providers.batch"
    label = "batch"
    verbose_name = "Batch inference"
