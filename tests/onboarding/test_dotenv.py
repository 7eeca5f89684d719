"""`.env` at the project root is read at start-up, and a variable of the real environment wins."""
import os
import subprocess
import sys
from pathlib import Path

from moments_admin import dotenv

ROOT = Path(__file__).resolve().parents[2]


def test_parse_reads_assignments_quotes_exports_and_skips_comments():
    text = "# comment\nexport PORT=9001\nHOST='0.0.0.0'\nNAME=\"a b\"\nEMPTY=\nnot an assignment\nX=1 # note\n"
    assert dotenv.parse(text) == {"PORT": "9001", "HOST": "0.0.0.0", "NAME": "a b", "EMPTY": "", "X": "1"}


def test_load_sets_missing_variables_and_the_real_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("ONBOARDING_FROM_FILE=file\nONBOARDING_BOTH=file\nONBOARDING_EMPTY=\n")
    monkeypatch.delenv("ONBOARDING_FROM_FILE", raising=False)
    monkeypatch.delenv("ONBOARDING_EMPTY", raising=False)
    monkeypatch.setenv("ONBOARDING_BOTH", "real")
    try:
        taken = dotenv.load(env_file)
        assert taken == ["ONBOARDING_FROM_FILE"]
        assert os.environ["ONBOARDING_FROM_FILE"] == "file"
        assert os.environ["ONBOARDING_BOTH"] == "real"
        assert "ONBOARDING_EMPTY" not in os.environ  # an empty value leaves the default alone
    finally:
        os.environ.pop("ONBOARDING_FROM_FILE", None)


def test_settings_of_a_fresh_process_read_the_env_file_and_the_environment_overrides_it(tmp_path):
    env_file = tmp_path / "custom.env"
    env_file.write_text("DEBUG=1\nHEALTH_CHECK_INTERVAL_SECONDS=77\nCALL_DEADLINE_SECONDS=33\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL", "SECRET_KEY", "DEBUG",
                                                            "HEALTH_CHECK_INTERVAL_SECONDS", "CALL_DEADLINE_SECONDS")}
    env.update(MOMENTS_DOTENV=str(env_file), CALL_DEADLINE_SECONDS="44", MOMENTS_VAR_DIR=str(tmp_path / "var"),
               DJANGO_SETTINGS_MODULE="moments_admin.settings")
    script = ("import django; django.setup(); from django.conf import settings as s; "
              "print(s.DEBUG, s.HEALTH_CHECK_INTERVAL_SECONDS, s.CALL_DEADLINE_SECONDS)")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "77", "44.0"]


def test_manage_py_reads_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=1\nLOG_LEVEL=WARNING\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL", "SECRET_KEY", "DEBUG",
                                                            "LOG_LEVEL", "DJANGO_SETTINGS_MODULE")}
    env.update(MOMENTS_DOTENV=str(env_file), MOMENTS_VAR_DIR=str(tmp_path / "var"))
    out = subprocess.run([sys.executable, "manage.py", "diffsettings", "--all"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert "DEBUG = True" in out


def test_missing_env_var_message_says_where_to_set_it(monkeypatch):
    from providers.kinds.base import resolve_secret
    from providers.models import ProviderConfig

    monkeypatch.delenv("ONBOARDING_MISSING_KEY", raising=False)
    config = ProviderConfig(name="x", kind="anthropic", api_key_env="ONBOARDING_MISSING_KEY")
    problems = []
    assert resolve_secret(config, "api_key_env", "api_key_encrypted", "api_key", {}, problems) is None
    message = problems[0][1]
    assert "not set in this process" in message and ".env" in message and "make run" in message
