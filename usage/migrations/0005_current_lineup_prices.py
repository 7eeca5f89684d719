"""The current Claude lineup's prices (usage/data/prices.json, checked 2026-11-29).

Schema: ModelPrice.estimated and ModelPrice.us_only_multiplier, UsageRecord.inference_geo.
Data, without duplicating a row:
- shipped rows (created_by NULL) loaded with a wrong release date by 0002 get the right date, in
  place, so usage records keep pointing at them;
- every row of prices.json that is missing is added (5.x models, Claude Platform on AWS);
- shipped rows already present get the file's estimated flag, US-only multiplier, note and source.
  Their prices are left alone: a price change is a new dated row, and edits made in the dashboard
  (created_by set) are never touched.
0002 reads the same file, so on a new database it loads everything and this step only sets flags.
"""
import json
from decimal import Decimal
from pathlib import Path

from django.db import migrations, models

PRICES_FILE = Path(__file__).resolve().parent.parent / "data" / "prices.json"
DECIMALS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read", "batch_discount",
            "long_context_input", "long_context_output", "us_only_multiplier")
# (base model, the effective_from 0002 shipped before 2026-11-29) -> the model's release date.
CORRECTED_DATES = {
    ("claude-opus-4-8", "2025-11-01"): "2025-11-24",
    ("claude-opus-4-7", "2025-11-01"): "2025-11-24",
    ("claude-opus-4-6", "2025-11-01"): "2025-11-24",
    ("claude-opus-4-5", "2025-11-01"): "2025-11-24",
    ("claude-sonnet-4-6", "2025-09-29"): "2026-02-17",
    ("claude-haiku-4-5", "2025-10-01"): "2025-10-15",
    ("claude-sonnet-4", "2025-05-14"): "2025-05-22",
    ("claude-opus-4", "2025-05-14"): "2025-05-22",
    ("claude-3-7-sonnet", "2025-02-19"): "2025-02-24",
}


def correct_dates(ModelPrice):
    for (model, wrong), right in CORRECTED_DATES.items():
        for row in ModelPrice.objects.filter(base_model=model, effective_from=wrong, created_by=None):
            taken = ModelPrice.objects.filter(provider_kind=row.provider_kind, base_model=model, scope=row.scope,
                                              effective_from=right).exists()
            if not taken:
                row.effective_from = right
                row.save(update_fields=["effective_from"])


def load_current_lineup(apps, schema_editor):
    ModelPrice = apps.get_model("usage", "ModelPrice")
    correct_dates(ModelPrice)
    for entry in json.loads(PRICES_FILE.read_text())["prices"]:
        values = {name: Decimal(entry[name]) for name in DECIMALS if entry.get(name) is not None}
        described = {"estimated": bool(entry.get("estimated")),
                     "us_only_multiplier": values.pop("us_only_multiplier", None),
                     "source_url": entry["source_url"], "source_date": entry["source_date"],
                     "note": entry.get("note", "")}
        row, created = ModelPrice.objects.get_or_create(
            provider_kind=entry["provider"], base_model=entry["model"], scope=entry["scope"],
            effective_from=entry["effective_from"],
            defaults={**values, **described, "long_context_threshold": entry.get("long_context_threshold")},
        )
        if not created and row.created_by_id is None:
            for name, value in described.items():
                setattr(row, name, value)
            row.save(update_fields=list(described))


class Migration(migrations.Migration):
    dependencies = [("usage", "0004_budget_alert_failures")]
    operations = [
        migrations.AddField(
            model_name="modelprice",
            name="estimated",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddField(
            model_name="modelprice",
            name="us_only_multiplier",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=4, null=True),
        ),
        migrations.AddField(
            model_name="usagerecord",
            name="inference_geo",
            field=models.CharField(blank=True, db_default="", default="", max_length=16),
        ),
        migrations.RunPython(load_current_lineup, migrations.RunPython.noop),
    ]
