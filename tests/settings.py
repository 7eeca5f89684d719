"""Test settings: production settings with test-only defaults for required secrets."""
import atexit
import contextlib
import os
import tempfile

# A developer's own .env must not change the suite (tests/onboarding/test_dotenv.py reads one explicitly).
os.environ.setdefault("MOMENTS_DOTENV", "off")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
# A fixed Fernet key for tests only; real deployments generate their own.
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "7DPKOt9bzN4dhTLmyt1RD0VNJBs0Q1LEhdFnV6A8Eo4=")
# The test client and live_server speak plain HTTP; tests/foundation/test_deployment.py checks the HTTPS defaults.
os.environ.setdefault("ALLOW_PLAIN_HTTP", "1")
if not os.environ.get("DATABASE_URL"):
    os.environ.setdefault("MOMENTS_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))

from moments_admin.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Records are written at once so tests can read them back; tests/usage/test_ingest.py covers the buffer.
USAGE_WRITE_BUFFER = False
if not os.environ.get("DATABASE_URL"):
    # A file, as the embedded default runs: the gateway's worker and bookkeeping threads write beside the
    # test's own connection, and SQLite's busy timeout makes them wait their turn (an in-memory shared-cache
    # database refuses a second writer at once: "database table is locked").
    # One file per test run (two runs in one checkout must not share it); Django deletes it at the end.
    _test_database = os.path.join(tempfile.gettempdir(), f"moments-test-{os.getpid()}.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": _test_database}  # noqa: F405

    def _remove_test_database():
        """What Django's teardown leaves: the WAL and shared-memory files of connections other threads held."""
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(_test_database + suffix)

    atexit.register(_remove_test_database)
