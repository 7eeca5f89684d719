"""Response cache entries to and from JSON lines (for development: seed a cache, move it).

One entry per line: {"digest", "model", "agent", "message", "provider_name", "provider_kind",
"model_id", "usage", "cost_usd", "stored_at"}. An import is checked completely first: any bad
line refuses the whole file with its line number, and nothing is written. Imported entries
get the configured TTL and the current generation tokens (so a later invalidation covers them).
"""
import json
import re
from decimal import Decimal, InvalidOperation

import pydantic
from anthropic.types import Message
from django.utils import timezone

from providers import response_cache
from providers.models import ResponseCacheEntry
from providers.shared_cache import shared_cache

DIGEST = re.compile(r"^[0-9a-f]{64}$")
TEXT_FIELDS = {"model": 200, "agent": 128, "provider_name": 100, "provider_kind": 20, "model_id": 255}
USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens")
MAX_LINES = 100_000
# What the index row (ResponseCacheEntry) can hold: cost_usd has 18 digits, 6 after the point; token
# counts are BigIntegerFields. A value beyond them would break the page and cache_export once stored.
MAX_COST_USD = Decimal(10) ** 12
MAX_TOKENS = 2 ** 62


class ImportRefused(ValueError):
    """A bad import file; the message names the line and what to fix."""


def export_lines():
    """JSON lines of every live entry (one per line, newline-terminated)."""
    rows = ResponseCacheEntry.objects.filter(expires_at__gt=timezone.now()).order_by("id")
    for chunk_start in range(0, rows.count(), 500):
        chunk = list(rows[chunk_start:chunk_start + 500])
        found = shared_cache.get_many([row.cache_key for row in chunk])
        for row in chunk:
            entry = found.get(row.cache_key)
            if isinstance(entry, dict):
                yield json.dumps(entry, sort_keys=True, default=str) + "\n"


def parse_lines(lines):
    """Checked entries from an iterable of text lines; ImportRefused on the first bad line."""
    entries = []
    for number, line in enumerate(lines, start=1):
        if number > MAX_LINES:
            raise ImportRefused(f"Line {number}: the file has more than {MAX_LINES} entries; split it.")
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                raise ImportRefused(f"Line {number}: not UTF-8 text.") from None
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportRefused(f"Line {number}: not valid JSON ({exc.msg} at column {exc.colno}).") from None
        entry = _checked(entry, number)
        size, limit = response_cache.entry_size(entry), response_cache.entry_limit()
        if size > limit:  # put() would skip it: say so rather than import fewer entries than the file has
            raise ImportRefused(f"Line {number}: the entry is {size:,} bytes, more than the {limit:,} bytes an "
                                "entry may take (RESPONSE_CACHE_MAX_ENTRY_BYTES).")
        entries.append(entry)
    return entries


def _checked(entry, number):
    if not isinstance(entry, dict):
        raise ImportRefused(f"Line {number}: each line must be a JSON object.")
    if not isinstance(entry.get("digest"), str) or not DIGEST.match(entry["digest"]):
        raise ImportRefused(f"Line {number}: digest must be the 64 hex characters of the request's SHA-256.")
    for name, limit in TEXT_FIELDS.items():
        value = entry.get(name, "")
        if not isinstance(value, str) or len(value) > limit or (name == "model" and not value):
            raise ImportRefused(f"Line {number}: {name} must be text of at most {limit} characters"
                                f"{' (required)' if name == 'model' else ''}.")
    message = entry.get("message")
    if not isinstance(message, dict) or message.get("type") != "message" or not isinstance(
            message.get("content"), list) or not message.get("stop_reason"):
        raise ImportRefused(f"Line {number}: message must be a complete Messages response "
                            "(type message, a content list and a stop_reason).")
    try:
        Message.model_validate(message)  # what a hit will build: refuse what it could not
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ImportRefused(f"Line {number}: message.{where}: {first['msg']}.") from None
    usage = entry.get("usage") or {}
    if not isinstance(usage, dict) or any(not isinstance(usage.get(k, 0), int) or isinstance(usage.get(k, 0), bool)
                                          or not 0 <= usage.get(k, 0) < MAX_TOKENS for k in USAGE_FIELDS):
        raise ImportRefused(f"Line {number}: usage must hold whole, non-negative token counts.")
    cost = entry.get("cost_usd")
    if cost is not None:
        try:
            if isinstance(cost, bool) or not isinstance(cost, (str, int, float)) or not (
                    0 <= Decimal(str(cost)) < MAX_COST_USD):  # NaN raises; Infinity is out of range
                raise InvalidOperation
        except InvalidOperation:
            raise ImportRefused(f"Line {number}: cost_usd must be a number from 0 to {MAX_COST_USD:,} "
                                "or null.") from None
    return {"digest": entry["digest"], "model": entry["model"], "agent": entry.get("agent", ""),
            "message": message, "provider_name": entry.get("provider_name", ""),
            "provider_kind": entry.get("provider_kind") or "anthropic", "model_id": entry.get("model_id", ""),
            "usage": {k: usage.get(k, 0) for k in USAGE_FIELDS},
            "cost_usd": None if cost is None else str(cost), "stored_at": timezone.now().isoformat()}


def import_lines(lines):
    """Check every line, then store every entry. Returns the number stored; ImportRefused
    (nothing written) on a bad line; RuntimeError when the shared cache cannot take them."""
    entries = parse_lines(lines)
    keys = []
    for entry in entries:
        key = response_cache.key_for(entry["model"], entry["agent"], entry["digest"])
        if key is None:
            raise RuntimeError("The shared cache is unreachable: nothing was imported.")
        keys.append(key)
    stored = 0
    for key, entry in zip(keys, entries, strict=True):
        stored += response_cache.put(key, entry)
    return stored
