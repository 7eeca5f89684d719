"""Re-pricing a period with the current price table, on a staff request (RecomputeJob).

Past costs never change by themselves when a price is edited; this is the one
way to apply a corrected price to records already stored. Rows are re-priced in
id chunks with the same calculator record_usage uses, then every rollup bucket
of the period is rebuilt from the raw rows.
"""
import datetime
import logging

from django.utils import timezone

from providers.clients.usage import Usage
from usage import rollups
from usage.models import RecomputeJob, UsageRecord
from usage.pricing import ParsedModel, PriceBook, compute_cost

log = logging.getLogger(__name__)
CHUNK = 2000
COST_COLUMNS = ("cost_input", "cost_output", "cost_cache_write", "cost_cache_read", "cost_total", "cache_savings")
UPDATED = ("base_model", "scope", "long_context", "price", *COST_COLUMNS)


def day_range(start, end):
    start_at = datetime.datetime.combine(start, datetime.time(), datetime.UTC)
    end_at = datetime.datetime.combine(end + datetime.timedelta(days=1), datetime.time(), datetime.UTC)
    return start_at, end_at


def reprice(record, book):
    """Set the record's price and costs from `book`; True when anything changed."""
    before = tuple(getattr(record, name) for name in ("base_model", "scope", "long_context", "price_id",
                                                       *COST_COLUMNS))
    parsed = book.parse(record.provider_kind, record.model_id)
    if parsed is None and record.model_id.startswith("arn:") and record.scope and record.base_model != record.model_id:
        # An application inference profile priced at call time by the model Bedrock named for it.
        parsed = ParsedModel(record.base_model, record.scope)
    price = book.price_for(record.provider_kind, parsed.base_model, parsed.scope, record.occurred_at) \
        if parsed else None
    if parsed:
        record.base_model, record.scope = parsed.base_model, parsed.scope
    record.price = price
    usage = Usage(record.input_tokens, record.output_tokens, record.cache_write_5m_tokens,
                  record.cache_write_1h_tokens, record.cache_read_tokens)
    cost = compute_cost(price, usage, batch=record.batch, inference_geo=record.inference_geo) if price else None
    record.long_context = bool(cost and cost.long_context)
    values = (cost.input, cost.output, cost.cache_write, cost.cache_read, cost.total, cost.cache_savings) \
        if cost else (None,) * len(COST_COLUMNS)
    for name, value in zip(COST_COLUMNS, values, strict=True):
        setattr(record, name, value)
    after = tuple(getattr(record, name) for name in ("base_model", "scope", "long_context", "price_id",
                                                      *COST_COLUMNS))
    return before != after


def recompute_period(start, end, provider_kind="", base_model=""):
    """Re-price [start, end] (dates, inclusive); returns (records seen, records changed)."""
    book = PriceBook.load()
    start_at, end_at = day_range(start, end)
    rows = UsageRecord.objects.filter(occurred_at__gte=start_at, occurred_at__lt=end_at)
    if provider_kind:
        rows = rows.filter(provider_kind=provider_kind)
    if base_model:
        rows = rows.filter(base_model=base_model)
    seen = changed = 0
    last_id = 0
    while True:
        chunk = list(rows.filter(id__gt=last_id).order_by("id")[:CHUNK])
        if not chunk:
            break
        last_id = chunk[-1].id
        dirty = [record for record in chunk if reprice(record, book)]
        UsageRecord.objects.bulk_update(dirty, UPDATED, batch_size=500)
        seen, changed = seen + len(chunk), changed + len(dirty)
    rollups.rebuild_range(start_at, end_at)
    return seen, changed


def run_job(job_id):
    job = RecomputeJob.objects.filter(id=job_id, status="queued").first()
    if job is None:
        return "nothing to do"
    RecomputeJob.objects.filter(id=job.id).update(status="running")
    try:
        seen, changed = recompute_period(job.start, job.end, job.provider_kind, job.base_model)
    except Exception as error:
        log.exception("Recompute job %s failed", job.id)
        RecomputeJob.objects.filter(id=job.id).update(status="failed", error=str(error)[:2000],
                                                      finished_at=timezone.now())
        return f"failed: {error}"
    RecomputeJob.objects.filter(id=job.id).update(status="done", records=seen, changed=changed,
                                                  finished_at=timezone.now())
    return f"re-priced {changed} of {seen} records"
