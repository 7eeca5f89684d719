"""Settings for Moments Admin, every value read from the environment.

Embedded defaults (no server to install): SQLite under var/, the database cache,
and a Celery broker on a SQLite file. Set DATABASE_URL, CACHE_URL and
CELERY_BROKER_URL for PostgreSQL, Redis and RabbitMQ/Redis. See .env.example.
"""
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from moments_admin import dotenv
from moments_admin.env import env_bool, env_choice, env_float, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
dotenv.load()  # .env at the project root; a variable already in the environment wins
VAR_DIR = Path(env_str("MOMENTS_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core -------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for a local run) in .env at the project root "
                                   "or in the environment.")
    SECRET_KEY = "insecure-development-key-only-for-debug"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Where "Write config.yml" (UI and `export_config --write`) saves the provider configuration.
MOMENTS_CONFIG_PATH = Path(env_str("MOMENTS_CONFIG_PATH", str(BASE_DIR / "config.yml")))
MOMENTS_ENV = env_choice("MOMENTS_ENV", ("development", "staging", "production"), "development")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "providers",
    "usage",
    "providers.health",
    "providers.gateway",
    "providers.migration",
    "providers.batch",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Every view needs login unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "moments_admin.urls"
WSGI_APPLICATION = "moments_admin.wsgi.application"
ASGI_APPLICATION = "moments_admin.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "providers.context_processors.shared_cache_status",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "moments.sqlite3",
            # WAL and a busy timeout let web, worker and beat share one file.
            "OPTIONS": {
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (cross-process state: circuit breakers, locks, catalog cache) ----
CACHE_URL = env_str("CACHE_URL")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured("CACHE_URL must be a redis:// or rediss:// URL.")
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {"default": {"BACKEND": "moments_admin.db_cache.AtomicDatabaseCache", "LOCATION": "moments_cache"}}

# --- Auth -------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
# Failed sign-ins allowed per username and per client address within the window (cache counters).
LOGIN_THROTTLE_WINDOW_SECONDS = env_int("LOGIN_THROTTLE_WINDOW_SECONDS", 900, minimum=60)
LOGIN_THROTTLE_PER_USER = env_int("LOGIN_THROTTLE_PER_USER", 5, minimum=1)
LOGIN_THROTTLE_PER_ADDRESS = env_int("LOGIN_THROTTLE_PER_ADDRESS", 20, minimum=1)

# --- HTTPS (README "Deployment") ------------------------------------------
# On by default when DEBUG is off; ALLOW_PLAIN_HTTP=1 turns the defaults off for a plain-HTTP
# deployment (a private network, or a proxy that terminates TLS without X-Forwarded-Proto).
ALLOW_PLAIN_HTTP = env_bool("ALLOW_PLAIN_HTTP", False)
_HTTPS = not DEBUG and not ALLOW_PLAIN_HTTP
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
# Load balancers probe /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SESSION_COOKIE_SECURE)
# Behind a proxy that terminates TLS: trust its X-Forwarded-Proto (only if it always sets or strips it).
TRUST_X_FORWARDED_PROTO = env_bool("TRUST_X_FORWARDED_PROTO", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_X_FORWARDED_PROTO else None

# --- Content-Security-Policy (django-csp) ----------------------------------
# Our own files only: no inline script, handler or style anywhere (static/js/app.js wires behaviour up,
# charts are JSON data blocks). Plotly draws with inline style attributes set from script, which
# style-src does not govern.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Secrets at rest --------------------------------------------------------
# Fernet key(s), comma separated, newest first: the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY")
if not FIELD_ENCRYPTION_KEYS:
    if DATABASE_URL:
        raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEY (a Fernet key) when DATABASE_URL is set, in .env "
                                   "at the project root or in the environment.")
    _key_file = VAR_DIR / "field_encryption.key"
    if not _key_file.exists():
        from cryptography.fernet import Fernet

        _key_file.write_bytes(Fernet.generate_key())
        _key_file.chmod(0o600)
    FIELD_ENCRYPTION_KEYS = [_key_file.read_text().strip()]
# Env vars a provider may read its secret from (api_key_env, bedrock_api_key_env); empty: any name
# that is not one of this application's own settings (providers/secret_env.py). Comma separated.
PROVIDER_SECRET_ENV_ALLOWLIST = env_list("PROVIDER_SECRET_ENV_ALLOWLIST")

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite'}"
# Results are only needed by tests and scripts that wait on a task; tasks record their effects themselves.
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Health monitoring (docs/health.md). The interval is the default of the dashboard's setting.
HEALTH_CHECK_INTERVAL_SECONDS = env_int("HEALTH_CHECK_INTERVAL_SECONDS", 60, minimum=5)
HEALTH_HISTORY_DAYS = env_int("HEALTH_HISTORY_DAYS", 90, minimum=1)
WORKER_HEARTBEAT_INTERVAL_SECONDS = env_int("WORKER_HEARTBEAT_INTERVAL_SECONDS", 60, minimum=5)
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- Provider calls (providers.calls.invoke) ----------------------------------
# One deadline for a whole call: every retry and every fallback provider fits inside it.
CALL_DEADLINE_SECONDS = env_float("CALL_DEADLINE_SECONDS", 120.0, minimum=1)
# Batch jobs: the tracker's first poll after submission, doubling up to the cap (docs/batch.md).
BATCH_POLL_FIRST_SECONDS = env_float("BATCH_POLL_FIRST_SECONDS", 30.0, minimum=1)
BATCH_POLL_MAX_SECONDS = env_float("BATCH_POLL_MAX_SECONDS", 1800.0, minimum=1)
# A timed-out attempt may still have been processed and billed: not retried on the same
# provider unless this is on (failover to the next provider still happens).
CALL_RETRY_TIMEOUTS = env_bool("CALL_RETRY_TIMEOUTS", False)

# --- In-process client (providers.client): prompt caching and the response cache ------
# Automatic cache_control breakpoints (tools, system, conversation turns) when the caller placed none.
PROMPT_CACHING_AUTO = env_bool("PROMPT_CACHING_AUTO", True)
PROMPT_CACHING_TTL = env_choice("PROMPT_CACHING_TTL", ("5m", "1h"), "5m")
# Exact-match response cache, used only when a call asks for it (x-moments-cache: use).
RESPONSE_CACHE_TTL_SECONDS = env_int("RESPONSE_CACHE_TTL_SECONDS", 3600, minimum=1)
RESPONSE_CACHE_MAX_ENTRY_BYTES = env_int("RESPONSE_CACHE_MAX_ENTRY_BYTES", 262144, minimum=1024)
# Total size of the live entries; over it the oldest are evicted (providers/response_cache_index.py).
RESPONSE_CACHE_MAX_TOTAL_BYTES = env_int("RESPONSE_CACHE_MAX_TOTAL_BYTES", 256 * 1024 * 1024, minimum=1024)
# Models (as callers name them: logical names or IDs) whose calls use the response cache unless told not to.
RESPONSE_CACHE_MODELS = env_list("RESPONSE_CACHE_MODELS", [])

# --- Usage and costs --------------------------------------------------------
# Write-behind buffer for usage records: batched INSERTs every USAGE_WRITE_BUFFER_SECONDS
# (flushed on clean exit). On by default with PostgreSQL, where one INSERT per call
# cannot sustain the ingestion floor; a hard kill can lose that last fraction of a second.
USAGE_WRITE_BUFFER = env_bool("USAGE_WRITE_BUFFER", bool(DATABASE_URL))
USAGE_WRITE_BUFFER_SECONDS = env_float("USAGE_WRITE_BUFFER_SECONDS", 0.2, minimum=0.01)
# Where buffered rows wait: a Redis stream (survives a killed web process; drained by the worker)
# when USAGE_QUEUE_URL is set, by default CACHE_URL; "off" keeps the in-process buffer. docs/usage.md.
USAGE_QUEUE_URL = env_str("USAGE_QUEUE_URL", CACHE_URL)
if USAGE_QUEUE_URL == "off":
    USAGE_QUEUE_URL = None
elif USAGE_QUEUE_URL and not USAGE_QUEUE_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured("USAGE_QUEUE_URL must be a redis:// or rediss:// URL, or off.")
USAGE_QUEUE_STREAM = env_str("USAGE_QUEUE_STREAM", "moments:usage")
USAGE_QUEUE_DRAIN_SECONDS = env_float("USAGE_QUEUE_DRAIN_SECONDS", 1.0, minimum=0.2)
USAGE_QUEUE_CLAIM_SECONDS = env_float("USAGE_QUEUE_CLAIM_SECONDS", 60.0, minimum=1.0)
# Locks of periodic jobs: PostgreSQL advisory locks; elsewhere a cache lock held for this long
# and renewed by its holder every third of it, so a dead holder blocks the next run that long at most.
JOB_LOCK_TTL_SECONDS = env_float("JOB_LOCK_TTL_SECONDS", 15.0, minimum=1.0)

# --- Gateway (the Anthropic-compatible endpoint under /v1/) -----------------
# Larger request bodies get a 413 request_too_large before they are parsed.
GATEWAY_MAX_BODY_BYTES = env_int("GATEWAY_MAX_BODY_BYTES", 32 * 1024 * 1024, minimum=1024)
USAGE_ROLLUP_INTERVAL_SECONDS = env_int("USAGE_ROLLUP_INTERVAL_SECONDS", 30, minimum=5)
USAGE_BUDGET_CHECK_INTERVAL_SECONDS = env_int("USAGE_BUDGET_CHECK_INTERVAL_SECONDS", 60, minimum=5)
# How often a gradual rollout of the migration wizard compares its target's error rate with its threshold.
MIGRATION_ROLLOUT_CHECK_SECONDS = env_int("MIGRATION_ROLLOUT_CHECK_SECONDS", 15, minimum=5)
# Retention (usage/retention.py, docs/usage.md): raw rows feed re-pricing, the CSV export and the 30-day
# recommendations; daily rollups every view longer than two days (at least 92 days: the 90-day views stay whole).
USAGE_RAW_RETENTION_DAYS = env_int("USAGE_RAW_RETENTION_DAYS", 90, minimum=31)
USAGE_HOURLY_RETENTION_DAYS = env_int("USAGE_HOURLY_RETENTION_DAYS", 35, minimum=2)
USAGE_DAILY_RETENTION_DAYS = env_int("USAGE_DAILY_RETENTION_DAYS", 400, minimum=92)
USAGE_PRUNE_BATCH_ROWS = env_int("USAGE_PRUNE_BATCH_ROWS", 5000, minimum=100)
# Absolute base URL for links in alert e-mails and webhooks, e.g. https://admin.example.com
MOMENTS_BASE_URL = env_str("MOMENTS_BASE_URL", "")

# --- Outbound calls to admin-typed URLs (budget webhooks; moments_admin/outbound.py) ---
# https only unless OUTBOUND_ALLOW_HTTP; internal addresses refused unless listed here (CIDR, comma separated).
OUTBOUND_ALLOW_HTTP = env_bool("OUTBOUND_ALLOW_HTTP", False)
OUTBOUND_ALLOWED_NETWORKS = env_networks("OUTBOUND_ALLOWED_NETWORKS")

# --- Email (budget alerts) --------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "moments-admin@localhost")

# --- i18n -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"forbidden_without_traceback": {"()": "moments_admin.log_filters.ForbiddenWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # One handler for Django's records too: its default console handler (DEBUG) would print each twice.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # A 403 (PermissionDenied) is logged as one line, without the traceback Django attaches.
        "django.request": {"filters": ["forbidden_without_traceback"]},
        # SDK internals log request headers at DEBUG (SigV4 names the access key ID): never below INFO.
        **{name: {"level": "INFO"} for name in ("botocore", "boto3", "urllib3", "httpx", "httpcore", "anthropic")},
    },
}
