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
