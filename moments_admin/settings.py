"""Settings for Moments Admin, every value read from the environment.

Embedded defaults (no server to install): SQLite under var/, the database cache,
and a Celery broker on a SQLite file. Set DATABASE_URL, CACHE_URL and
CELERY_BROKER_URL for PostgreSQL, Redis and RabbitMQ/Redis. See .env.example.
"""
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from moments_admin.env import env_bool, env_choice, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MOMENTS_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core -------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=1 for a local run).")
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
    "gateway",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "moments_cache"}}

# --- Auth -------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Secrets at rest --------------------------------------------------------
# Fernet key(s), comma separated, newest first: the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEY")
if not FIELD_ENCRYPTION_KEYS:
    if DATABASE_URL:
        raise ImproperlyConfigured("Set FIELD_ENCRYPTION_KEY (a Fernet key) when DATABASE_URL is set.")
    _key_file = VAR_DIR / "field_encryption.key"
    if not _key_file.exists():
        from cryptography.fernet import Fernet

        _key_file.write_bytes(Fernet.generate_key())
        _key_file.chmod(0o600)
    FIELD_ENCRYPTION_KEYS = [_key_file.read_text().strip()]

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
HEALTH_CHECK_INTERVAL_SECONDS = env_int("HEALTH_CHECK_INTERVAL_SECONDS", 60, minimum=5)

# --- Provider calls (providers.calls.invoke) ----------------------------------
# One deadline for a whole call: every retry and every fallback provider fits inside it.
CALL_DEADLINE_SECONDS = env_float("CALL_DEADLINE_SECONDS", 120.0, minimum=1)
# A timed-out attempt may still have been processed and billed: not retried on the same
# provider unless this is on (failover to the next provider still happens).
CALL_RETRY_TIMEOUTS = env_bool("CALL_RETRY_TIMEOUTS", False)

# --- Usage and costs --------------------------------------------------------
# Write-behind buffer for usage records: batched INSERTs every USAGE_WRITE_BUFFER_SECONDS
# (flushed on clean exit). On by default with PostgreSQL, where one INSERT per call
# cannot sustain the ingestion floor; a hard kill can lose that last fraction of a second.
USAGE_WRITE_BUFFER = env_bool("USAGE_WRITE_BUFFER", bool(DATABASE_URL))
USAGE_WRITE_BUFFER_SECONDS = env_float("USAGE_WRITE_BUFFER_SECONDS", 0.2, minimum=0.01)

# --- Gateway (the Anthropic-compatible endpoint under /v1/) -----------------
# Larger request bodies get a 413 request_too_large before they are parsed.
GATEWAY_MAX_BODY_BYTES = env_int("GATEWAY_MAX_BODY_BYTES", 32 * 1024 * 1024, minimum=1024)
USAGE_ROLLUP_INTERVAL_SECONDS = env_int("USAGE_ROLLUP_INTERVAL_SECONDS", 30, minimum=5)
USAGE_BUDGET_CHECK_INTERVAL_SECONDS = env_int("USAGE_BUDGET_CHECK_INTERVAL_SECONDS", 60, minimum=5)
# Absolute base URL for links in alert e-mails and webhooks, e.g. https://admin.example.com
MOMENTS_BASE_URL = env_str("MOMENTS_BASE_URL", "")

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
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # One handler for Django's records too: its default console handler (DEBUG) would print each twice.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
