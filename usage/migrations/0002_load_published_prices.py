"""Load the published list prices shipped in usage/data/prices.json into the price table."""
import json
from decimal import Decimal
from pathlib import Path

from django.db import migrations

PRICES_FILE = Path(__file__).resolve().parent.parent / "data" / "prices.json"
DECIMALS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read", "batch_discount",
            "long_context_input", "long_context_output")


def load_prices(apps, schema_editor):
    ModelPrice = apps.get_model("usage", "ModelPrice")
    for entry in json.loads(PRICES_FILE.read_text())["prices"]:
        values = {name: Decimal(entry[name]) for name in DECIMALS if entry.get(name) is not None}
        ModelPrice.objects.get_or_create(
            provider_kind=entry["provider"], base_model=entry["model"], scope=entry["scope"],
            effective_from=entry["effective_from"],
            defaults={**values, "long_context_threshold": entry.get("long_context_threshold"),
                      "source_url": entry["source_url"], "source_date": entry["source_date"],
                      "note": entry.get("note", "")},
        )


def unload_prices(apps, schema_editor):
    ModelPrice = apps.get_model("usage", "ModelPrice")
    for entry in json.loads(PRICES_FILE.read_text())["prices"]:
        ModelPrice.objects.filter(provider_kind=entry["provider"], base_model=entry["model"], scope=entry["scope"],
                                  effective_from=entry["effective_from"], created_by=None).delete()


class Migration(migrations.Migration):
    dependencies = [("usage", "0001_initial")]
    operations = [migrations.RunPython(load_prices, unload_prices)]
