"""Read `.env` at the project root into os.environ at start-up; the real environment always wins.

Imported before anything reads a setting: settings.py, manage.py, the launcher and Celery
all call `load()`. `MOMENTS_DOTENV` names another file, or `off` to read none (the test suite).
The format is the usual one: `NAME=value` lines, `#` comments, an optional `export `,
values optionally in single or double quotes. An empty value (`NAME=`) is ignored, so the
commented template .env.example can be copied as it is without overriding a default.
"""
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_loaded = {}  # path -> names taken from it (for messages saying where a value came from)


def path():
    chosen = os.environ.get("MOMENTS_DOTENV", "")
    if chosen.lower() == "off":
        return None
    return Path(chosen) if chosen else ROOT / ".env"


def parse(text):
    """{name: value} from the text of a .env file; lines that are not assignments are skipped."""
    values = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            continue
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()  # a trailing comment after an unquoted value
        values[name] = value
    return values


def load(file=None):
    """Set every variable of the .env file that the environment does not already have. Returns the names set."""
    file = Path(file) if file else path()
    if file is None or not file.is_file():
        return []
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    taken = []
    for name, value in parse(text).items():
        if value == "" or name in os.environ:
            continue
        os.environ[name] = value
        taken.append(name)
    _loaded[str(file)] = taken
    return taken


def where_to_set(name):
    """The sentence an error about a missing env var ends with: where the operator can set it."""
    return (f"Set {name} in .env at the project root ({ROOT / '.env'}) or in the environment of the "
            "process that runs the app (the shell that runs `make run`), then restart it.")
