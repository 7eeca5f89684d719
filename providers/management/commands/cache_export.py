"""`manage.py cache_export FILE`: the live response cache entries as JSON lines (for development)."""
from django.core.management.base import BaseCommand, CommandError

from providers.response_cache_io import export_lines


class Command(BaseCommand):
    help = "Write every live response cache entry to FILE as JSON lines ('-' for standard output)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The file to write, or - for standard output.")

    def handle(self, *args, file, **options):
        if file == "-":
            count = sum(1 for line in export_lines() if self.stdout.write(line, ending="") or True)
        else:
            try:
                with open(file, "w", encoding="utf-8") as out:
                    count = sum(1 for line in export_lines() if out.write(line))
            except OSError as exc:
                raise CommandError(f"Could not write {file}: {exc.strerror}.") from None
        self.stderr.write(f"Exported {count} response cache entr{'y' if count == 1 else 'ies'}.")
