"""The Batches page, the in-process client's `messages.batches` and `manage.py batch_submit`."""
import json

import anthropic
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from providers.batch import tracking
from providers.batch.models import BatchJob
from providers.client import Anthropic
from tests.batch.conftest import request_line
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db


def upload(lines, name="requests.jsonl"):
    return SimpleUploadedFile(name, "\n".join(json.dumps(line) for line in lines).encode(),
                              content_type="application/jsonl")


def test_staff_uploads_a_file_and_sees_progress_outcomes_and_cost(anthropic_active, staff_client):
    response = staff_client.post("/batches/submit/", {"file": upload([request_line("a-1", "echo: one"),
                                                                      request_line("a-2", "echo: two")]),
                                                      "name": "first-run", "agent": "nightly"})
    job = BatchJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/batches/{job.pk}/"
    page = staff_client.get("/batches/").content.decode()
    assert "first-run" in page and 'max="2" value="0"' in page and "when it ends" in page
    assert 'hx-trigger="every 10s"' in page  # a running job refreshes itself
    anthropic_active.batches.advance()
    tracking.poll(job.pk)
    detail = staff_client.get(f"/batches/{job.pk}/").content.decode()
    assert "2 succeeded, 0 errored" in detail and "Download results" in detail and "Every request succeeded" in detail
    assert "saved $" in detail
    partial = staff_client.get("/batches/?partial=1", HTTP_HX_REQUEST="true").content.decode()
    assert "<h1>" not in partial and 'value="2"' in partial and "hx-trigger" not in partial


def test_a_bad_upload_says_what_to_fix_and_keeps_the_form(anthropic_active, staff_client):
    bad = SimpleUploadedFile("r.jsonl", b'{"custom_id": "x", "params": {"model": "haiku"}}\n')
    response = staff_client.post("/batches/submit/", {"file": bad, "name": "keepme"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Line 1 (x): the request has no &#x27;max_tokens&#x27;." in text and 'value="keepme"' in text
    assert not BatchJob.objects.exists()


def test_members_see_batches_but_cannot_submit_or_cancel(anthropic_active, member_client):
    assert member_client.get("/batches/").status_code == 200
    assert member_client.post("/batches/submit/", {"file": upload([request_line("a", "x")])}).status_code == 403
    assert not BatchJob.objects.exists()


def test_cancel_from_the_page(anthropic_active, staff_client):
    staff_client.post("/batches/submit/", {"file": upload([request_line(f"r{i}", "x") for i in range(3)])})
    job = BatchJob.objects.get()
    assert staff_client.post(f"/batches/{job.pk}/cancel/").status_code == 302
    anthropic_active.batches.advance()
    staff_client.post(f"/batches/{job.pk}/refresh/")
    job.refresh_from_db()
    assert job.counts["canceled"] == 3 and job.results_stored
    detail = staff_client.get(f"/batches/{job.pk}/").content.decode()
    assert "not run" in detail and "Cancel batch" not in detail


def test_in_process_client_batches_are_the_sdk_shape(anthropic_active):
    client = Anthropic(agent="reports")
    batch = client.messages.batches.create(requests=[request_line("q-1", "echo: hello"),
                                                     request_line("q-2", "echo: world")])
    assert isinstance(batch, anthropic.types.messages.MessageBatch) and batch.processing_status == "in_progress"
    with pytest.raises(anthropic.BadRequestError, match="has not ended"):
        list(client.messages.batches.results(batch.id))
    anthropic_active.batches.advance()
    assert client.messages.batches.retrieve(batch.id).processing_status == "ended"
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert results["q-1"].type == "succeeded" and results["q-1"].message.content[0].text == "hello"
    assert UsageRecord.objects.filter(purpose="batch", agent="reports").count() == 2
    with pytest.raises(anthropic.BadRequestError, match="custom_id"):
        client.messages.batches.create(requests=[{"custom_id": "bad id!", "params": {}}])


def test_batch_submit_command(anthropic_active, tmp_path, capsys):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"model": "claude-haiku-4-5-20251001", "max_tokens": 10,
                                "messages": [{"role": "user", "content": "hi"}]}) + "\n")
    call_command("batch_submit", str(path), "--name", "cli-run")
    out = capsys.readouterr().out
    job = BatchJob.objects.get()
    assert f"Batch {job.pk} submitted to anthropic" in out and job.source == "cli" and job.name == "cli-run"
    assert job.results.count() == 0 and job.total == 1
    with pytest.raises(CommandError, match="no such file"):
        call_command("batch_submit", str(tmp_path / "missing.jsonl"))
    (tmp_path / "bad.jsonl").write_text("[]\n")
    with pytest.raises(CommandError, match="invalid_request: Line 1 is not a JSON object"):
        call_command("batch_submit", str(tmp_path / "bad.jsonl"))
