"""In a real browser: a staff user uploads a JSONL batch, checks on it, and downloads its results."""
import json

import pytest

from tests.batch.conftest import request_line

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def no_persistent_connections(monkeypatch):
    from django.db import connections

    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)


def test_upload_check_and_download_a_batch(login, live_server, staff_user, password, anthropic_active, tmp_path,
                                           no_persistent_connections):
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(json.dumps(request_line(f"b-{i}", f"echo: answer {i}")) for i in range(3)) + "\n")
    page = login(staff_user, password)
    page.goto(live_server.url + "/batches/")
    page.set_input_files("#id_file", str(path))
    page.fill("#id_name", "from-the-browser")
    page.click("#batch-submit button[type=submit]")
    page.wait_for_load_state()
    assert "Batch from-the-browser" in page.locator("h1").inner_text()
    assert "0 of 3" in page.locator("#batch-summary").inner_text()

    anthropic_active.batches.advance()
    page.click("text=Check now")
    page.wait_for_load_state()
    summary = page.locator("#batch-summary").inner_text()
    assert "3 succeeded, 0 errored" in summary and "saved" in summary
    with page.expect_download() as download:
        page.click("text=Download results")
    lines = [json.loads(line) for line in open(download.value.path()).read().splitlines()]
    assert [line["result"]["type"] for line in lines] == ["succeeded"] * 3

    page.goto(live_server.url + "/batches/")
    row = page.locator("#batch-jobs tr", has_text="from-the-browser")
    assert row.locator("progress").get_attribute("value") == "3"
