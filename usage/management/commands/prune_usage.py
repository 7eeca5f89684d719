"""Delete usage rows older than their retention now (what the hourly prune task does)."""
from django.core.management.base import BaseCommand

from usage.retention import RULES, kept_from, prune


class Command(BaseCommand):
    help = ("Delete raw usage records and rollup rows older than USAGE_RAW/HOURLY/DAILY_RETENTION_DAYS, "
            "in small batches. --dry-run only counts them.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count the rows that would go; delete nothing.")

    def handle(self, *args, dry_run, **options):
        from django.conf import settings

        result = prune(dry_run=dry_run)
        if "skipped" in result:
            self.stdout.write(f"Skipped: {result['skipped']}.")
            return
        verb = "would delete" if dry_run else "deleted"
        for rule in RULES:
            table = rule.model._meta.db_table
            days = getattr(settings, rule.setting)
            self.stdout.write(f"{table}: {verb} {result[table]:,} row(s) before {kept_from(days):%Y-%m-%d} "
                              f"({rule.setting}={days})")
