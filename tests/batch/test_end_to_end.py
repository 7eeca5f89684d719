"""Batch end to end on both providers, against the fakes (Bedrock's with a local S3): submit, progress,
results with failures per request, cancel, and usage recorded once at batch prices."""
import csv
import io
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from providers.batch import submission, tracking
from providers.batch.models import BatchJob
from providers.batch.tasks import track_batch, track_open_batches
from providers.clients.errors import ProviderError
from providers.clients.usage import Usage
from tests.batch.conftest import BUCKET, PROFILE_ARN, request_line
from usage.models import ProfileMapping, UsageRecord
from usage.pricing import compute_cost, price_book

pytestmark = pytest.mark.django_db
LONG = "echo: " + "word " * 800  # about 1,000 tokens in and out, so costs are well above a micro-dollar


def jsonl(lines):
    return "\n".join(json.dumps(line) for line in lines).encode()


def requests_for(count, bad=()):
    lines = [request_line(f"req-{i}", LONG) for i in range(count)]
    for i in bad:  # valid to our checks, refused by the model: a failure per request, not per batch
        lines[i]["params"]["messages"] = [{"role": "assistant", "content": "starts with the assistant"}]
    return lines


def advance(kind, fake, n=None):
    (fake.batches if kind == "anthropic" else fake.jobs).advance(n)


@pytest.fixture(params=["anthropic", "bedrock"])
def active(request):
    fake = request.getfixturevalue(f"{request.param}_active")
    return request.param, fake


def test_submit_progress_results_failures_and_usage_at_batch_prices(active):
    kind, fake = active
    count = 100 if kind == "bedrock" else 5  # Bedrock's minimum records per job is 100
    job = submission.submit_file(jsonl(requests_for(count, bad=(3,))), name="nightly", agent="summarizer")
    assert job.provider_kind == kind and job.total == count and job.state == "in_progress"
    assert job.provider_batch_id.startswith("msgbatch_" if kind == "anthropic" else "arn:aws:bedrock:")

    advance(kind, fake, 2)
    assert tracking.poll(job.pk) is not None  # still running: the tracker comes back later
    job.refresh_from_db()
    assert job.counts["processing"] == count - 2 and job.done == 2 and job.cost_usd is None
    assert UsageRecord.objects.filter(purpose="batch").count() == 0  # usage is recorded when results arrive

    advance(kind, fake)
    assert tracking.poll(job.pk) is None  # ended: results stored, nothing more to track
    job.refresh_from_db()
    assert job.state == "ended" and job.results_stored
    assert job.counts["succeeded"] == count - 1 and job.counts["errored"] == 1

    failure = job.results.get(outcome="errored")
    assert failure.custom_id == "req-3" and "user" in failure.error["message"]
    records = UsageRecord.objects.filter(purpose="batch")
    assert records.count() == count - 1
    assert all(r.batch and r.agent == "summarizer" and r.cost_total is not None for r in records)
    first = records.first()
    price = price_book().price_for(first.provider_kind, first.base_model, first.scope, first.occurred_at)
    usage = Usage(first.input_tokens, first.output_tokens)
    assert first.input_tokens > 500 and first.output_tokens > 500
    assert first.cost_total == compute_cost(price, usage, batch=True).total
    assert compute_cost(price, usage).total == pytest.approx(2 * first.cost_total, abs=Decimal("0.000002"))
    assert job.cost_usd == sum(r.cost_total for r in records)
    assert job.on_demand_cost_usd > job.cost_usd and job.saving_usd == job.on_demand_cost_usd - job.cost_usd

    tracking.store_results(job)  # a second tracker finds the results stored: nothing recorded twice
    assert UsageRecord.objects.filter(purpose="batch").count() == count - 1


def test_cancel_ends_unprocessed_requests_as_canceled(active):
    kind, fake = active
    count = 100 if kind == "bedrock" else 4
    job = submission.submit_file(jsonl(requests_for(count)))
    advance(kind, fake, 1)
    tracking.poll(job.pk)
    status = tracking.cancel(BatchJob.objects.get(pk=job.pk))
    assert status.state == "canceling"
    advance(kind, fake)
    assert tracking.poll(job.pk) is None
    job.refresh_from_db()
    assert job.counts == {"processing": 0, "succeeded": 1, "errored": 0, "canceled": count - 1, "expired": 0}
    assert job.results.filter(outcome="canceled").count() == count - 1
    assert UsageRecord.objects.filter(purpose="batch").count() == 1


def test_results_download_in_one_format_whichever_provider(active, staff_client):
    kind, fake = active
    count = 100 if kind == "bedrock" else 3
    job = submission.submit_file(jsonl(requests_for(count, bad=(1,))))
    advance(kind, fake)
    tracking.poll(job.pk)
    response = staff_client.get(f"/batches/{job.pk}/results.jsonl")
    assert response.status_code == 200
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert len(lines) == count
    by_id = {line["custom_id"]: line["result"] for line in lines}
    assert by_id["req-0"]["type"] == "succeeded" and by_id["req-0"]["message"]["content"][0]["text"].startswith("word")
    assert by_id["req-1"]["type"] == "errored" and by_id["req-1"]["error"]["type"] == "invalid_request_error"
    failures = staff_client.get(f"/batches/{job.pk}/").content.decode()  # the failure per request, on the page
    assert "<code>req-1</code>" in failures and "<strong>invalid_request_error</strong>: " in failures
    assert "<code>req-0</code>" not in failures
    anonymous = Client().get(f"/batches/{job.pk}/results.jsonl")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))


def test_bedrock_refuses_fewer_records_than_its_minimum_before_submitting(bedrock_active):
    with pytest.raises(ProviderError, match="at least 100 records per job; this batch has 5"):
        submission.submit_file(jsonl(requests_for(5)))
    assert not BatchJob.objects.exists()
    assert not [r for r in bedrock_active.requests if "model-invocation-job" in r.path]


def test_bedrock_job_runs_one_model(bedrock_active):
    lines = requests_for(100)
    lines[7]["params"]["model"] = "sonnet"
    with pytest.raises(ProviderError, match="runs one model; this batch uses 2"):
        submission.submit_file(jsonl(lines))


def test_bedrock_input_is_written_to_s3_and_the_job_names_the_role(bedrock_active, s3_server):
    import boto3

    job = submission.submit_file(jsonl(requests_for(100)), name="s3check")
    s3 = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="t",
                      aws_secret_access_key="t")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="jobs/")["Contents"]]
    assert any(k.endswith("/input.jsonl") for k in keys)
    create = [r for r in bedrock_active.requests if r.path == "/model-invocation-job"][-1]
    assert create.json["roleArn"].endswith(":role/BedrockBatchRole")
    assert create.json["modelId"] == job.model_id
    first = json.loads(s3.get_object(Bucket=BUCKET, Key=next(k for k in keys if k.endswith("input.jsonl")))["Body"]
                       .read().decode().splitlines()[0])
    assert first["recordId"] == "req-0" and first["modelInput"]["anthropic_version"] == "bedrock-2023-05-31"
    assert "model" not in first["modelInput"]


def test_a_bedrock_job_on_an_application_profile_arn_is_priced_as_its_model_without_a_mapping(bedrock_active):
    assert not ProfileMapping.objects.exists()
    lines = requests_for(100)
    for line in lines:
        line["params"]["model"] = PROFILE_ARN
    job = submission.submit_file(jsonl(lines))
    create = [r for r in bedrock_active.requests if r.path == "/model-invocation-job"][-1]
    assert job.model_id == PROFILE_ARN and create.json["modelId"] == PROFILE_ARN
    bedrock_active.jobs.advance()
    assert tracking.poll(job.pk) is None
    job.refresh_from_db()
    assert job.counts["succeeded"] == 100 and job.unpriced == 0
    record = UsageRecord.objects.filter(purpose="batch").first()
    assert (record.model_id, record.base_model, record.scope) == (PROFILE_ARN, "claude-haiku-4-5", "geo")
    price = price_book().price_for("bedrock", "claude-haiku-4-5", "geo", record.occurred_at)
    assert record.cost_total == compute_cost(price, Usage(record.input_tokens, record.output_tokens), batch=True).total
    assert job.cost_usd > 0 and job.saving_usd > 0


def test_size_and_count_limits_are_checked_before_submission():
    from providers.clients.batch import check_limits

    check_limits("anthropic", 100_000, 256 * 1024 * 1024)  # at the limits: accepted
    check_limits("bedrock", 50_000, 1024 ** 3)
    with pytest.raises(ProviderError, match="at most 100,000 requests; this one has 100,001"):
        check_limits("anthropic", 100_001, 1)
    with pytest.raises(ProviderError, match="a Message Batch takes at most 256 MB"):
        check_limits("anthropic", 1, 256 * 1024 * 1024 + 1)
    with pytest.raises(ProviderError, match="at most 50,000 records per job; this batch has 50,001"):
        check_limits("bedrock", 50_001, 1)
    with pytest.raises(ProviderError, match="the limit is 1 GB"):
        check_limits("bedrock", 100, 1024 ** 3 + 1)


def test_bad_file_gets_a_clear_error_naming_the_line(anthropic_active):
    with pytest.raises(ProviderError, match="Line 2 is not valid JSON"):
        submission.submit_file(b'{"model": "haiku", "max_tokens": 5, "messages": []}\n{not json\n')
    with pytest.raises(ProviderError, match="custom_id 'a' is used twice"):
        submission.submit_file(jsonl([request_line("a", "x"), request_line("a", "y")]))


def test_tracker_task_polls_once_per_run_and_backs_off(anthropic_active, settings):
    settings.BATCH_POLL_FIRST_SECONDS, settings.BATCH_POLL_MAX_SECONDS = 30, 600
    job = submission.submit_file(jsonl(requests_for(2)))
    assert track_batch.apply((job.pk,)).get() == "next poll in 60s"  # eager: one poll, no loop
    assert track_batch.apply((job.pk,)).get() == "next poll in 120s"
    assert [tracking.next_delay(n) for n in (0, 1, 2, 5, 10)] == [30, 60, 120, 600, 600]
    anthropic_active.batches.advance()
    assert track_batch.apply((job.pk,)).get() == "ended"


def test_the_beat_gives_a_new_tracker_to_a_job_whose_tracker_was_lost(anthropic_active):
    import datetime

    from django.utils import timezone

    from moments_admin.celery import app

    lost = submission.submit_file(jsonl(requests_for(2)))
    waiting = submission.submit_file(jsonl(requests_for(2)))
    BatchJob.objects.filter(pk=lost.pk).update(next_poll_at=timezone.now() - datetime.timedelta(minutes=10))
    anthropic_active.batches.advance()
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the new tracker runs at once, one poll
    try:
        assert track_open_batches.apply().get() == "1 overdue"
    finally:
        app.conf.task_always_eager = previous
    lost.refresh_from_db()
    waiting.refresh_from_db()
    assert lost.results_stored and lost.counts["succeeded"] == 2
    assert not waiting.results_stored and waiting.polls == 0  # its own tracker is not due yet


def test_each_result_carries_the_adaptations_made_to_its_request_at_submission(active, staff_client):
    # Sonnet 5.5 takes only the default sampling: req-1's temperature is dropped at submission, and its usage
    # row (and the usage CSV) says so when the results arrive; the unchanged requests' rows say nothing.
    kind, fake = active
    lines = [request_line(f"req-{i}", LONG, model="sonnet") for i in range(100 if kind == "bedrock" else 3)]
    lines[1]["params"]["temperature"] = 0.3
    job = submission.submit_file(jsonl(lines))
    assert list(job.adaptations) == ["req-1"]
    assert any("dropped temperature=0.3" in change for change in job.adaptations["req-1"])
    advance(kind, fake)
    assert tracking.poll(job.pk) is None
    job.refresh_from_db()
    assert job.counts["succeeded"] == len(lines)
    rows = UsageRecord.objects.filter(purpose="batch")
    assert rows.count() == len(lines)
    adapted = rows.exclude(adaptations="")
    assert adapted.count() == 1
    [row] = adapted
    assert row.adaptations == "; ".join(job.adaptations["req-1"])
    assert "dropped temperature=0.3 (Claude Sonnet 5.5 takes only the default sampling)" in row.adaptations
    assert job.results.get(custom_id="req-1").message["id"] == row.request_id  # the row is req-1's own
    day = row.occurred_at.date().isoformat()
    export = staff_client.get(reverse("usage:export"), {"start": day, "end": day})
    exported = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    by_id = {int(line["id"]): line["adaptations"] for line in exported}
    assert by_id[row.pk] == row.adaptations and sum(1 for text in by_id.values() if text) == 1
