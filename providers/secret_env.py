"""Which environment variables a provider may read its secret from (api_key_env, bedrock_api_key_env).

A staff user types the variable's name and the server sends its value to the
provider's endpoint, so the name must never be one of the application's own
settings (SECRET_KEY, FIELD_ENCRYPTION_KEY, DATABASE_URL, EMAIL_HOST_PASSWORD…)
nor an AWS credential meant for SigV4 rather than a bearer token. The rule is
checked where a name is typed (forms, config.yml) and again where a value is
read, so a name stored before this rule existed is never read.
"""
from django.conf import settings

# Variables meant to hold a provider secret: the only names of the denied families that stay allowed.
PROVIDER_SECRET_NAMES = frozenset({"ANTHROPIC_API_KEY", "NEXT_PUBLIC_ANTHROPIC_API_KEY",
                                   "AWS_BEARER_TOKEN_BEDROCK", "ANTHROPIC_AWS_API_KEY"})

# Everything the application reads for itself (settings.py, .env.example, libraries it configures).
# tests/providers/test_secret_env.py checks every variable of .env.example and settings.py is covered.
APP_SETTING_NAMES = frozenset({
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "LOG_LEVEL", "DATABASE_URL", "CACHE_URL", "DEFAULT_FROM_EMAIL",
    "HEALTH_CHECK_INTERVAL_SECONDS", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_MAX_OUTPUT_TOKENS",
    "MAX_THINKING_TOKENS", "PROVIDER_SECRET_ENV_ALLOWLIST", "DJANGO_SETTINGS_MODULE", "PGPASSWORD",
    "PGPASSFILE", "PGSERVICEFILE", "REDIS_URL", "BROKER_URL", "HOST", "PORT",
    # Demo ports (the demo's own key variable, DEMO_ANTHROPIC_API_KEY, is a provider secret and allowed).
    "DEMO_ANTHROPIC_PORT", "DEMO_BEDROCK_PORT", "DEMO_MANTLE_PORT", "DEMO_AWS_PLATFORM_PORT",
})
APP_SETTING_PREFIXES = ("SECRET_", "FIELD_ENCRYPTION_", "DATABASE_", "CACHE_", "CELERY_", "EMAIL_", "MOMENTS_",
                        "USAGE_", "OUTBOUND_", "SESSION_", "CSRF_", "SECURE_", "DJANGO_", "LOGIN_", "REDIS_",
                        "POSTGRES_", "PG", "HEALTH_", "PROMETHEUS_", "CLAUDE_CODE_", "GATEWAY_", "ALLOWED_",
                        "LOG_", "CALL_", "JOB_", "ALLOW_", "TRUST_", "PROMPT_", "RESPONSE_", "WORKER_", "METRICS_", "GATEWAY_", "BATCH_", "MIGRATION_",
                        "OTEL_")  # OpenTelemetry (providers/tracing.py): OTLP headers may carry a collector's token
# Read by botocore as SigV4 credentials (auth mode "env"), never to be sent as a bearer token.
AWS_PREFIX = "AWS_"


def is_app_setting(name):
    """True when `name` is one of the application's own settings (never a provider secret)."""
    name = (name or "").upper()
    if name in PROVIDER_SECRET_NAMES:
        return False
    return name in APP_SETTING_NAMES or name.startswith(APP_SETTING_PREFIXES)


def allowlist():
    return [name.strip() for name in getattr(settings, "PROVIDER_SECRET_ENV_ALLOWLIST", ()) if name.strip()]


def refusal(name):
    """Why a provider may not read its secret from env var `name`, or None when it may."""
    if not name:
        return None
    if is_app_setting(name):
        return (f"{name} is one of this application's own settings, not a provider secret: "
                "name the variable that holds the provider key, e.g. ANTHROPIC_API_KEY.")
    if name.upper().startswith(AWS_PREFIX) and name.upper() not in PROVIDER_SECRET_NAMES:
        return (f"{name} is an AWS credential for request signing, not a bearer key: use auth mode "
                "\"Environment variables\" for AWS keys, or name the variable that holds the API key.")
    allowed = allowlist()
    if allowed and name not in allowed:
        return (f"{name} is not in PROVIDER_SECRET_ENV_ALLOWLIST ({', '.join(allowed)}): use one of those, "
                "or ask the operator to add it.")
    return None
