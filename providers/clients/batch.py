"""Batch inference, provider-neutral: the input format, the limits, job states and the one result format.

Input: JSONL, one Messages request per line, either in the Message Batches shape
`{"custom_id": "...", "params": {...}}` or a bare request (its custom_id becomes `request-N`).
Results, whichever provider ran them, use the Message Batches results shape:
`{"custom_id": "...", "result": {"type": "succeeded", "message": {...}}}` or
`{"custom_id": "...", "result": {"type": "errored", "error": {"type": "...", "message": "..."}}}`
(`canceled` and `expired` carry nothing else). Each provider's module (batch_anthropic,
batch_bedrock) submits, polls, reads results and cancels; `batch_api.batch_api(client)` picks it.
"""
import json
import re
from dataclasses import dataclass, field

from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.usage import Usage

OUTCOMES = ("succeeded", "errored", "canceled", "expired")
STATES = ("in_progress", "canceling", "ended")
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

# Anthropic Message Batches: at most 100,000 requests or 256 MB per batch.
ANTHROPIC_MAX_REQUESTS = 100_000
ANTHROPIC_MAX_BYTES = 256 * 1024 * 1024
# Bedrock batch inference default quotas (adjustable per account in Service Quotas): at least 100
# records per job, at most 50,000 records per job and per input file, 1 GB per input file.
BEDROCK_MIN_RECORDS = 100
BEDROCK_MAX_RECORDS = 50_000
BEDROCK_MAX_FILE_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class BatchItem:
    custom_id: str
    params: dict


@dataclass
class BatchJob:
    """What the provider says about a job now."""

    provider_batch_id: str
    state: str  # in_progress, canceling or ended
    counts: dict = field(default_factory=dict)  # processing + each outcome
    provider_status: str = ""  # the provider's own word (Bedrock: InProgress, PartiallyCompleted...)
    message: str = ""  # why it failed, when the provider says
    model_id: str = ""
    # custom_id -> the changes made to that request to suit its model (providers.clients.adaptation), only
    # for requests that were changed; set by submit, kept with the job, put on each result's usage record.
    adaptations: dict = field(default_factory=dict)

    @property
    def ended(self):
        return self.state == "ended"


@dataclass
class BatchResult:
    custom_id: str
    outcome: str  # one of OUTCOMES
    message: dict | None = None
    error: dict | None = None  # {"type": ..., "message": ...}
    usage: Usage = Usage()
    model_id: str = ""

    def as_line(self):
        """The one download format (the Message Batches results shape)."""
        result = {"type": self.outcome}
        if self.message is not None:
            result["message"] = self.message
        if self.error is not None:
            result["error"] = self.error
        return {"custom_id": self.custom_id, "result": result}


def _invalid(message, hint=None):
    return ProviderError(ErrorKind.INVALID_REQUEST, message, hint=hint)


def parse_jsonl(text):
    """BatchItems from JSONL text; every problem names its line."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid("The file is not UTF-8 text.", "Upload a .jsonl file, one JSON object per line.") from None
    items, seen = [], set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise _invalid(f"Line {number} is not valid JSON ({exc.msg}).",
                           "Each line must be one JSON object.") from None
        if not isinstance(data, dict):
            raise _invalid(f"Line {number} is not a JSON object.")
        if "params" in data:
            custom_id, params = data.get("custom_id"), data["params"]
        else:
            custom_id, params = f"request-{number}", data
        items.append(_item(number, custom_id, params, seen))
    if not items:
        raise _invalid("The file has no requests.", "Write one Messages request per line.")
    return items


def items_from_requests(requests):
    """BatchItems from the Message Batches `requests` list ([{"custom_id", "params"}, ...])."""
    items, seen = [], set()
    for number, request in enumerate(requests or (), start=1):
        if not isinstance(request, dict):
            raise _invalid(f"Request {number} is not an object with custom_id and params.")
        items.append(_item(number, request.get("custom_id"), request.get("params"), seen, where="Request"))
    if not items:
        raise _invalid("The batch has no requests.")
    return items


def _item(number, custom_id, params, seen, where="Line"):
    if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
        raise _invalid(f"{where} {number}: custom_id must be 1 to 64 letters, digits, '-' or '_'.")
    if custom_id in seen:
        raise _invalid(f"{where} {number}: custom_id '{custom_id}' is used twice; each must be unique.")
    seen.add(custom_id)
    if not isinstance(params, dict):
        raise _invalid(f"{where} {number}: params must be a Messages request object.")
    for key in ("model", "max_tokens", "messages"):
        if key not in params:
            raise _invalid(f"{where} {number} ({custom_id}): the request has no '{key}'.")
    if params.get("stream"):
        raise _invalid(f"{where} {number} ({custom_id}): a batch request cannot stream.",
                       "Remove \"stream\": true.")
    return BatchItem(custom_id, params)


def check_limits(kind, count, size_bytes, *, min_records=BEDROCK_MIN_RECORDS):
    """Refuse before submission what the provider would refuse (counts and sizes)."""
    if kind == "bedrock":
        if count < min_records:
            raise _invalid(f"Bedrock batch inference needs at least {min_records} records per job; this batch "
                           f"has {count}.", "Add requests, or send these few through the ordinary call path.")
        if count > BEDROCK_MAX_RECORDS:
            raise _invalid(f"Bedrock batch inference takes at most {BEDROCK_MAX_RECORDS:,} records per job; this "
                           f"batch has {count:,}.", "Split the file into several batches.")
        if size_bytes > BEDROCK_MAX_FILE_BYTES:
            raise _invalid(f"The Bedrock input file would be {size_bytes / 1e9:.2f} GB; the limit is 1 GB.",
                           "Split the file into several batches.")
    else:
        if count > ANTHROPIC_MAX_REQUESTS:
            raise _invalid(f"A Message Batch takes at most {ANTHROPIC_MAX_REQUESTS:,} requests; this one has "
                           f"{count:,}.", "Split the file into several batches.")
        if size_bytes > ANTHROPIC_MAX_BYTES:
            raise _invalid(f"The batch is {size_bytes / 1e6:.1f} MB; a Message Batch takes at most 256 MB.",
                           "Split the file into several batches.")
