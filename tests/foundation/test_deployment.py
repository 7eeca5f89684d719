"""Deployment defaults: HTTPS settings, `check --deploy`, sign-in throttling, CSP, `migrate` alone."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
HTTPS_SETTINGS = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
                  "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER")


def _production_env(tmp_path, **extra):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "ALLOW_PLAIN_HTTP",
                          "DJANGO_SETTINGS_MODULE", "SESSION_COOKIE_SECURE", "TRUST_X_FORWARDED_PROTO",
                          "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update({"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64), "MOMENTS_VAR_DIR": str(tmp_path),
                "DJANGO_SETTINGS_MODULE": "moments_admin.settings", **extra})
    return env


def _python(code, env):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def _settings(env):
    code = ("import django, json; django.setup(); from django.conf import settings; "
            f"print(json.dumps({{n: getattr(settings, n) for n in {HTTPS_SETTINGS!r}}}))")
    result = _python(code, env)
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_https_is_on_by_default_without_debug(tmp_path):
    values = _settings(_production_env(tmp_path))
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and values["SECURE_HSTS_PRELOAD"]
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_PROXY_SSL_HEADER"] is None  # a forwarded header is trusted only when asked


def test_plain_http_and_debug_turn_the_defaults_off(tmp_path):
    for extra in ({"ALLOW_PLAIN_HTTP": "1"}, {"DEBUG": "1"}):
        values = _settings(_production_env(tmp_path, **extra))
        assert not values["SECURE_SSL_REDIRECT"] and values["SECURE_HSTS_SECONDS"] == 0
        assert not values["SESSION_COOKIE_SECURE"] and not values["CSRF_COOKIE_SECURE"]


def test_trusted_proxy_header_is_explicit(tmp_path):
    values = _settings(_production_env(tmp_path, TRUST_X_FORWARDED_PROTO="1"))
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_check_deploy_gives_no_warning(tmp_path):
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=_production_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_migrate_alone_gives_a_healthy_database_cache(tmp_path):
    env = _production_env(tmp_path, ALLOW_PLAIN_HTTP="1")
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    code = ("import django; django.setup(); from django.test import Client; "
            "r = Client(HTTP_HOST='localhost').get('/healthz'); print(r.status_code, r.content.decode())")
    result = _python(code, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == '200 {"status": "ok", "database": "ok", "cache": "ok"}'


# --- Sign-in throttling -----------------------------------------------------------------------------

def _sign_in(client, username, password, address="203.0.113.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_sign_in_is_refused_after_repeated_failures_for_one_user(client, member_user, password, settings):
    settings.LOGIN_THROTTLE_PER_USER = 3
    for attempt in range(3):
        response = _sign_in(client, "bob", f"wrong-{attempt}", address=f"203.0.113.{attempt}")
        assert "match. Please try again" in response.content.decode()
    response = _sign_in(client, "bob", password, address="203.0.113.99")  # the right password, too late
    assert response.status_code == 200
    body = response.content.decode()
    # The window opened at the first failure (900 s by default), whatever the wall clock says.
    assert "Too many failed sign-ins; try again in 15 minutes." in body
    assert "_auth_user_id" not in client.session
    # Another user from another address is not affected.
    assert _sign_in(client, "alice", "whatever", address="198.51.100.1").status_code == 200
    assert "Too many" not in _sign_in(client, "alice", "whatever", address="198.51.100.1").content.decode()


@pytest.mark.django_db
def test_sign_in_is_refused_after_repeated_failures_from_one_address(client, member_user, password, settings):
    settings.LOGIN_THROTTLE_PER_ADDRESS = 4
    for attempt in range(4):
        _sign_in(client, f"user{attempt}", "nope")
    response = _sign_in(client, "bob", password)
    assert "Too many failed sign-ins" in response.content.decode()
    assert _sign_in(client, "bob", password, address="198.51.100.2").status_code == 302


@pytest.mark.django_db
def test_sign_in_still_works_when_the_cache_is_down(client, member_user, password, settings, caplog):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    response = _sign_in(client, "bob", "wrong")
    assert response.status_code == 200 and "match. Please try again" in response.content.decode()
    assert _sign_in(client, "bob", password).status_code == 302
    assert "Sign-in throttle unavailable" in caplog.text


@pytest.mark.django_db
def test_ssl_redirect_spares_the_health_check(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("healthz")).status_code == 200  # load balancers probe over plain HTTP
    response = client.get(reverse("login"))
    assert response.status_code == 301 and response["Location"].startswith("https://")
