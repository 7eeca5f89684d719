"""Wording a newcomer noticed: plurals, one money format, a 403 logged without a traceback."""
import logging
from decimal import Decimal

import pytest
from django.urls import reverse

from usage.templatetags.humanize_usage import usd, usd_signed


@pytest.mark.parametrize("value, shown", [(Decimal("0.84"), "$0.84"), (Decimal("1.17"), "$1.17"),
                                          (Decimal("0.8400"), "$0.84"), (Decimal("1234.5"), "$1,234.50"),
                                          (Decimal("0.0042"), "$0.0042"), (Decimal("0.000001"), "$0.000001"),
                                          (Decimal("-0.5"), "-$0.50"), (Decimal(0), "$0.00")])
def test_one_money_format(value, shown):
    assert usd(value) == shown


@pytest.mark.parametrize("value, shown", [(Decimal("0.84"), "$0.84"), (Decimal("0.0123"), "$0.0123"),
                                          (Decimal("1.5"), "$1.50"), (Decimal("0.00042"), "$0.00042"),
                                          (Decimal("12.34567"), "$12.3457")])
def test_more_places_add_digits_but_never_trailing_zeros(value, shown):
    assert usd(value, 4) == shown  # the average per request: "$0.8400" beside "$1.17" was the complaint


@pytest.mark.django_db
def test_the_average_per_request_is_in_the_one_money_format(member_client, record):
    from django.utils import timezone

    from usage.rollups import update_rollups

    day = timezone.now().date().isoformat()
    record(tokens={"input_tokens": 30_000, "output_tokens": 50_000},  # $0.09 + $0.75 on Sonnet 4.5
           occurred_at=timezone.now())
    update_rollups(assume_settled=True)
    html = member_client.get(reverse("usage:dashboard"), {"start": day, "end": day}).content.decode()
    average = html.split("Average per request</div>")[1].split("</div>")[0]
    assert "$0.84" in average and "$0.8400" not in average


def test_no_difference_is_shown_as_none():
    assert usd_signed(Decimal("0")) == "$0.00" and usd_signed(Decimal("0.0000004")) == "$0.00"
    assert usd_signed(Decimal("1.5")) == "+$1.50"


def test_comparison_line_of_the_profile_in_use_shows_no_rounding_difference():
    from usage.comparison import compare

    class Book:
        def price_for(self, kind, base_model, scope, when):
            from usage.models import ModelPrice

            return ModelPrice(input=Decimal(3), output=Decimal(15), cache_write_5m=Decimal("3.75"),
                              cache_write_1h=Decimal(6), cache_read=Decimal("0.3"), batch_discount=Decimal("0.5"))

    row = {"provider_kind": "anthropic", "scope": "standard", "base_model": "claude-sonnet-4-5", "batch": False,
           "long_context": False, "requests": 3, "input_tokens": 7, "output_tokens": 7, "cache_write_5m_tokens": 0,
           "cache_write_1h_tokens": 0, "cache_read_tokens": 0, "cost_total": Decimal("0.000127"), "unpriced": 0}
    lines = {line["label"]: line for line in compare([row], Book(), None)["lines"]}
    assert lines["Anthropic API"]["current"] and lines["Anthropic API"]["difference"] == 0


@pytest.mark.django_db
def test_one_permission_check_is_counted_in_the_singular(aws_env, anthropic_api):
    from providers.connection_test import run_step
    from providers.resolve import build_settings
    from tests.providers.conftest import make_anthropic

    # Every logical name mapped to one model: the permissions step makes a single check, against the fake.
    config = make_anthropic(server=anthropic_api,
                            model_mapping=dict.fromkeys(("sonnet", "haiku", "opus", "fable"), "claude-haiku-4-5"))
    result = run_step("permissions", build_settings(config))
    assert result.ok and result.summary == "1 check allowed"


def test_one_day_to_end_of_life_is_counted_in_the_singular():
    import datetime

    from providers.clients.catalog import load_catalog

    dated = [model for model in load_catalog().models.values() if model.retirement_date(None)]
    assert dated, "the catalog has no model with a retirement date to try"
    model = dated[0]
    state, message = model.lifecycle(model.retirement_date(None) - datetime.timedelta(days=1), 400)
    assert state == "near_end_of_life" and message.endswith("(in 1 day).")
    state, message = model.lifecycle(model.retirement_date(None) - datetime.timedelta(days=2), 400)
    assert message.endswith("(in 2 days).")


@pytest.mark.django_db
def test_a_403_is_logged_without_a_traceback(member_client, caplog, capsys):
    caplog.set_level(logging.WARNING, logger="django.request")
    response = member_client.post(reverse("providers:create") + "?kind=anthropic", {})
    assert response.status_code == 403
    records = [r for r in caplog.records if getattr(r, "status_code", None) == 403]
    assert records and all(r.exc_info is None for r in records)
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.django_db
def test_the_batch_page_counts_in_words_and_shows_money_in_the_one_format(staff_client):
    from providers.batch.models import BatchJob

    job = BatchJob.objects.create(name="one-poll", provider_name="p", provider_kind="anthropic",
                                  provider_batch_id="msgbatch_wording", model_id="claude-haiku-4-5", total=2,
                                  counts={"succeeded": 2}, polls=1, unpriced=1, cost_usd=Decimal("0.840000"),
                                  on_demand_cost_usd=Decimal("1.680000"))
    html = staff_client.get(reverse("batch:detail", args=[job.pk])).content.decode()
    assert "<dd>1 time" in html and "1 times" not in html
    assert "(1 result unpriced)" in html
    assert "$0.84" in html and "$1.68 (saved $0.84)" in html and "0.840000" not in html


def test_the_wizard_cost_comparison_uses_the_one_money_format():
    from django.template.loader import render_to_string

    cost = {"days": 1, "source": "a", "target": "b", "source_cost": "0.840000", "target_cost": "1.170000",
            "difference": "0.330000", "complete": True, "missing": [],
            "lines": [{"model_id": "m", "target_id": "t", "batch": False, "requests": 1,
                       "source_cost": "0.840000", "target_cost": None, "problem": ""}]}
    html = render_to_string("migration/step_performance.html",
                            {"job": {"result": {"cost": cost}}, "migration": {"source": "a"}, "perf_sides": []})
    assert "Cost of the last 1 day of a" in html
    assert "<strong>$0.84</strong>" in html and "<strong>$1.17</strong>" in html and "<strong>+$0.33</strong>" in html
    assert "0.840000" not in html
