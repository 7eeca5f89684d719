"""manage.py migrate_provider: steps 3 to 5 headless, exit 0 / 1 / 2 and a JSON or text report."""
import json

import pytest
from django.core.management import CommandError, call_command

from providers.fakes import Fault

pytestmark = pytest.mark.django_db


def test_a_good_migration_exits_zero_with_a_json_report(pair, capsys):
    call_command("migrate_provider", "--from", "anthropic", "--to", "bedrock", "--json", "--requests", "1")
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] and report["problems"] == []
    assert report["mapping"]["ok"] and len(report["verification"]["probes"]) == 9
    assert report["performance"]["target"]["count"] == 1
    assert set(report["cost"]) >= {"source_cost", "target_cost", "difference"}


def test_a_failing_target_exits_one_and_the_text_report_says_why(pair, fresh_bedrock, capsys):
    fresh_bedrock.inject(Fault("access_denied", times=None))
    with pytest.raises(SystemExit) as exit_info:
        call_command("migrate_provider", "--from", "anthropic", "--to", "bedrock", "--requests", "0")
    out = capsys.readouterr().out
    assert exit_info.value.code == 1
    assert "FAILED:" in out and "verification: Plain text: The target failed: permission" in out


def test_an_unknown_provider_is_a_usage_error(pair):
    with pytest.raises(CommandError, match="No provider is named 'nowhere'") as error:
        call_command("migrate_provider", "--from", "anthropic", "--to", "nowhere")
    assert error.value.returncode == 2


def test_the_text_report_counts_in_words_and_shows_money_in_the_one_format():
    from providers.migration.report import as_text

    side = {"name": "x", "latency_p50": 1, "latency_p95": 2, "ttft_p50": 1, "tokens_per_second": 9, "errors": 1}
    report = {"source": "anthropic", "target": "bedrock", "model": "haiku", "passed": True, "problems": [],
              "mapping": {"rows": []}, "verification": {"probes": []},
              "performance": {"requests": 1, "source": side, "target": {**side, "errors": 0}},
              "cost": {"days": 1, "source": "anthropic", "target": "bedrock", "source_cost": "0.840000",
                       "target_cost": "1.170000", "difference": "0.330000", "complete": True, "missing": []}}
    text = as_text(report)
    assert "Performance (1 request each):" in text and "1 error\n" in text and "0 errors" in text
    assert "Cost of the last 1 day of anthropic's traffic: $0.84 recorded, $1.17 on bedrock (difference +$0.33)" \
        in text


def test_a_model_the_target_cannot_serve_exits_one_and_the_same_provider_twice_is_a_usage_error(pair, capsys):
    import datetime as dt

    from django.utils import timezone

    from providers.clients.usage import Usage
    from usage.services import record_usage

    record_usage(provider_name="anthropic", provider_kind="anthropic", model_id="claude-sonnet-4-20250514",
                 logical_model="", usage=Usage(10, 5), occurred_at=timezone.now() - dt.timedelta(days=1))
    with pytest.raises(SystemExit) as exit_info:
        call_command("migrate_provider", "--from", "anthropic", "--to", "bedrock", "--json", "--requests", "0")
    report = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1 and not report["passed"] and report["verification"]["passed"]
    assert report["problems"] == ["mapping: claude-sonnet-4-20250514: Claude Sonnet 4 was retired on 2026-06-15."]
    assert report["performance"] is None
    with pytest.raises(CommandError, match="two different providers") as error:
        call_command("migrate_provider", "--from", "anthropic", "--to", "anthropic")
    assert error.value.returncode == 2
