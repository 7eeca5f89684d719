from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "providers.health"
    label = "health"  # the app label its tables and migrations were created under
    verbose_name = "Health monitoring"

    def ready(self):
        from providers import tracing
        from providers.call_records import add_call_observer
        from providers.health import passive
        from providers.health.metrics import observe_cache_failure, observe_call
        from providers.shared_cache import shared_cache

        add_call_observer(observe_call)
        add_call_observer(passive.observe_call)
        tracing.configure()  # OpenTelemetry spans, only when OTEL_EXPORTER_OTLP_ENDPOINT is set
        if observe_cache_failure not in shared_cache.failure_listeners:
            shared_cache.failure_listeners.append(observe_cache_failure)
