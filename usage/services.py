"""The entry points other code calls: record_usage (after every provider call) and is_key_blocked.

record_usage is on the request path, so it does one INSERT and nothing else:
the price comes from an in-memory price book, and rollups are built from new
rows by rollups.update_rollups() (a Celery beat task) in set-based statements.
See docs/usage.md for why rollups are not updated on write. With the setting
USAGE_WRITE_BUFFER the INSERT is replaced by a write-behind buffer: a Redis stream
(queue.py) when a queue URL is configured, else a per-process buffer (ingest.py).
Every row is sanitized first (sanitize.py), so no value can make its write fail.
"""
import contextlib
import dataclasses
import datetime
import functools
import logging
import threading
import time

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DataError, IntegrityError, connections, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from providers.background import LINGER_SECONDS, Worker
from providers.call_records import PURPOSES  # one list, owned by the call path
from providers.clients.usage import Usage
from usage import metrics as usage_metrics
from usage.ingest import dead_letter, usage_buffer, write_rows
from usage.ingest import replay_dead_letters as replay_rows
from usage.models import Budget, UsageRecord
from usage.pricing import PROVIDER_KINDS, compute_cost, price_book
from usage.queue import usage_queue
from usage.sanitize import sanitize_row

log = logging.getLogger(__name__)
RECORD_ARGUMENTS = ("provider_name", "provider_kind", "model_id", "logical_model", "usage", "status", "purpose",
                    "latency_ms", "ttft_ms", "gateway_key", "agent", "batch", "stream", "has_tools", "region",
                    "request_id", "prompt_prefix_hash", "occurred_at", "is_demo", "inference_geo",
                    "profile_target", "adaptations", "response_cache_saving")


def record_call(record):
    """record_usage for a plain dict or object carrying the same names (a usage sink's record).

    `usage` may be a Usage or a dict of token counts; token counts may also sit on the record itself.
    """
    def get(name):
        return record.get(name) if isinstance(record, dict) else getattr(record, name, None)

    arguments = {"logical_model": "", **{name: get(name) for name in RECORD_ARGUMENTS if get(name) is not None}}
    usage = arguments.get("usage")
    if usage is None or isinstance(usage, dict):
        token_names = [field.name for field in dataclasses.fields(Usage)]
        counts = usage if isinstance(usage, dict) else {name: get(name) for name in token_names}
        arguments["usage"] = Usage(**{name: int(counts.get(name) or 0) for name in token_names})
    return record_usage(**arguments)


def record_usage(*, provider_name, provider_kind, model_id, logical_model, usage, status="ok", purpose="gateway",
                 latency_ms=None, ttft_ms=None, gateway_key=None, agent=None, batch=False, stream=False,
                 has_tools=False, region=None, request_id=None, prompt_prefix_hash=None, occurred_at=None,
                 is_demo=False, inference_geo=None, profile_target=None, adaptations=(),
                 response_cache_saving=None):
    """Store one provider call with its cost, priced with the price in force at occurred_at.

    A model without a price is stored with NULL costs (flagged unpriced), never 0.
    inference_geo is the request's `inference_geo` ("us" costs the price's us_only_multiplier).
    profile_target: for an application inference profile ARN, the model ID it routes to (asked of Bedrock);
    it prices the ARN unless the Prices page maps the ARN by hand (the manual mapping wins).
    adaptations: what the provider layer changed in the request to suit the model (CallRecord.adaptations),
    a sequence of short descriptions or one string; stored "; "-separated.
    response_cache_saving: for a response-cache hit (status "cache_hit"), the cost of the original answer it
    replayed (CallRecord.response_cache_saving); None when that was unpriced. Kept on cache hits only.
    Raises ValueError on arguments that can only come from a programming error.
    """
    if provider_kind not in PROVIDER_KINDS:
        raise ValueError(f"provider_kind must be one of {PROVIDER_KINDS}, not {provider_kind!r}.")
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, not {purpose!r}.")
    counts = (usage.input_tokens, usage.output_tokens, usage.cache_write_5m_tokens, usage.cache_write_1h_tokens,
              usage.cache_read_tokens)
    if any(count < 0 for count in counts):
        raise ValueError(f"Token counts cannot be negative: {usage}.")
    occurred_at = occurred_at or timezone.now()
    if timezone.is_naive(occurred_at):
        occurred_at = timezone.make_aware(occurred_at, datetime.UTC)
    status = getattr(status, "value", status) or "ok"

    book = price_book()
    parsed = book.parse(provider_kind, model_id, profile_target=profile_target)
    price = book.price_for(provider_kind, parsed.base_model, parsed.scope, occurred_at) if parsed else None
    inference_geo = inference_geo if isinstance(inference_geo, str) else ""
    cost = compute_cost(price, usage, batch=batch, inference_geo=inference_geo) if price else None
    values = {
        "occurred_at": occurred_at,
        "provider_name": provider_name,
        "provider_kind": provider_kind,
        "model_id": model_id,
        "base_model": parsed.base_model if parsed else model_id,
        "scope": parsed.scope if parsed else "",
        "logical_model": logical_model,
        "purpose": purpose,
        "status": status,
        "gateway_key": gateway_key,
        "agent": agent,
        "region": region,
        "request_id": request_id,
        "prompt_prefix_hash": prompt_prefix_hash,
        "batch": bool(batch), "stream": bool(stream), "has_tools": bool(has_tools), "is_demo": bool(is_demo),
        "long_context": bool(cost and cost.long_context), "inference_geo": inference_geo,
        "adaptations": adaptations if isinstance(adaptations, str) else "; ".join(map(str, adaptations or ())),
        "latency_ms": latency_ms, "ttft_ms": ttft_ms,
        "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
        "cache_write_5m_tokens": usage.cache_write_5m_tokens, "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "price_id": price.pk if price else None,
        "cost_input": cost and cost.input, "cost_output": cost and cost.output,
        "cost_cache_write": cost and cost.cache_write, "cost_cache_read": cost and cost.cache_read,
        "cost_total": cost and cost.total, "cache_savings": cost and cost.cache_savings,
        "response_cache_saving": response_cache_saving if status == "cache_hit" else None,
    }
    values = sanitize_row(values)  # texts cleaned and cut, numbers in range: no value can fail the write
    if not settings.USAGE_WRITE_BUFFER:
        return _insert(values)
    queue = usage_queue(settings)
    if queue is None:
        usage_buffer(_COLUMNS, _TABLE, settings).add(values)
        return _unsaved(values)
    if status == "cache_hit" and not queue.holding():
        # A response-cache hit (zero tokens, zero cost) must cost far less than the call it saves:
        # its row goes to the queue in the next burst, not in a round trip of its own.
        hit_rows.submit(_queue_or_insert, values)
        return _unsaved(values)
    return _queue_or_insert(values, queue)


def _queue_or_insert(values, queue=None):
    """The row into the Redis queue; when Redis does not take it, written directly rather than dropped."""
    queue = queue or usage_queue(settings)
    if queue is not None and queue.add(values):
        usage_metrics.ROWS_BUFFERED.labels("queue").inc()
        return _unsaved(values)
    return _insert(values)


_FIELDS = [field for field in UsageRecord._meta.concrete_fields if not field.primary_key]
_ATTNAMES = [field.attname for field in _FIELDS]
_COLUMNS = [field.column for field in _FIELDS]
_TABLE = UsageRecord._meta.db_table


@contextlib.contextmanager
def batched_records():
    """Usage rows this thread records inside the block reach the Redis queue together when it ends:
    one round trip for a burst (the gateway's bookkeeping thread records hits in bursts). Without a
    queue, rows are stored as record_usage stores them, one by one."""
    queue = usage_queue(settings) if settings.USAGE_WRITE_BUFFER else None
    if queue is None:
        yield
        return
    with queue.batch(_write_unsent):
        yield


# Response-cache hits' rows on their way to the Redis queue: sent in bursts (one pipeline each), so a
# hard kill loses at most the last LINGER_SECONDS of them; a clean exit waits for them.
hit_rows = Worker("usage-hit-rows", linger=LINGER_SECONDS, around=batched_records)


def _write_unsent(rows):
    """Rows the queue could not take, written to the database directly (as record_usage does)."""
    written, dead = write_rows(_COLUMNS, _TABLE, [[values[name] for name in _COLUMNS] for values in rows])
    log.info("Wrote %d usage rows directly (%d dead-lettered): the usage queue did not take them", written, dead)


def drain_queue(queue, max_seconds=30.0):
    """Write what the Redis usage queue holds (the worker's task and `manage.py drain_usage_queue`)."""
    return queue.drain(_COLUMNS, _TABLE, max_seconds=max_seconds)


def replay_dead_letters(limit=None):
    return replay_rows(_COLUMNS, _TABLE, limit=limit)


@functools.cache
def _insert_sql(vendor, returning):
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(quote(field.column) for field in _FIELDS)
    sql = f"INSERT INTO {quote(UsageRecord._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(_FIELDS))})"
    return sql + (f" RETURNING {quote('id')}" if returning else "")


def _insert(values):
    """One INSERT with a prebuilt statement: the ORM's per-call SQL compilation costs more
    than the database round trip here, and this runs after every provider call.
    A row the database refuses (a value sanitizing missed) goes to the dead-letter table."""
    db = connections[DEFAULT_DB_ALIAS]  # resolve the thread's connection once
    try:
        if db.in_atomic_block:
            # Inside the caller's transaction: a savepoint, so a failed insert (which the choke
            # point logs and swallows) cannot leave that transaction unusable.
            with transaction.atomic(using=db.alias):
                return _insert_on(db, values)
        return _insert_on(db, values)
    except (DataError, IntegrityError, ValueError, TypeError) as error:  # this row's values, not the database
        dead_letter(values, error)
        return _unsaved(values)


def _insert_on(db, values):
    ordered = [values[name] for name in _ATTNAMES]
    if db.vendor == "postgresql":
        # Server-side parameter binding on Django's own connection (same transaction):
        # about half the client CPU of Django's client-side binding cursor.
        db.ensure_connection()
        raw = psycopg.Cursor(db.connection)
        cursor = db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)
        with cursor:  # Django's wrapper: error translation, execute_wrappers, query logging
            cursor.execute(_insert_sql(db.vendor, True), ordered)
            pk = cursor.fetchone()[0]
    else:
        params = [db.ops.adapt_datetimefield_value(value) if name == "occurred_at" else value
                  for name, value in zip(_ATTNAMES, ordered, strict=True)]
        returning = db.features.can_return_columns_from_insert
        with db.cursor() as cursor:
            cursor.execute(_insert_sql(db.vendor, returning), params)
            pk = cursor.fetchone()[0] if returning else db.ops.last_insert_id(cursor, _TABLE, "id")
    usage_metrics.ROWS_WRITTEN.labels("direct").inc()
    record = _unsaved(values)
    record.id = pk
    record._state.adding, record._state.db = False, db.alias
    return record


def _unsaved(values):
    """The instance as from_db() would build it, without Model.__init__'s per-field work
    (UsageRecord has no init signals and no field defaults left to apply)."""
    record = UsageRecord.__new__(UsageRecord)
    record.__dict__.update(values, id=None)
    record._state = ModelState()
    return record


_blocked = {"keys": frozenset(), "month": None, "loaded": 0.0}
_blocked_lock = threading.Lock()
BLOCKED_TTL_SECONDS = 5.0


def month_start(today=None):
    today = today or timezone.now().astimezone(datetime.UTC).date()
    return today.replace(day=1)


def is_key_blocked(gateway_key):
    """True when a hard-stop budget for this key reached 100% this month.

    Reads a set refreshed at most every few seconds (one small query), so it
    can run on every gateway request; budgets.check_budgets() sets the blocks.
    """
    if not gateway_key:
        return False
    with _blocked_lock:
        month = month_start()
        if _blocked_due(month):
            _blocked["keys"] = frozenset(Budget.objects.filter(
                active=True, hard_stop=True, scope="key", blocked_month=month).values_list("gateway_key", flat=True))
            _blocked["month"], _blocked["loaded"] = month, time.monotonic()
        return gateway_key in _blocked["keys"]


def is_key_blocked_in_memory(gateway_key):
    """is_key_blocked from this process's copy only: None when it is due for a reload (the caller,
    an event loop that must not query, then asks is_key_blocked in a worker thread)."""
    if not gateway_key:
        return False
    blocked = _blocked["keys"]
    return None if _blocked_due(month_start()) else gateway_key in blocked


def _blocked_due(month):
    return _blocked["month"] != month or time.monotonic() - _blocked["loaded"] > BLOCKED_TTL_SECONDS


def forget_blocked_keys(**kwargs):
    with _blocked_lock:
        _blocked["month"] = None
