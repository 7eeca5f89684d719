"""`manage.py cache_import FILE`: load response cache entries from JSON lines, all or nothing."""
from django.core.management.base import BaseCommand, CommandError

from providers.response_cache_io import ImportRefused, import_lines


class Command(BaseCommand):
    help = ("Load response cache entries from a JSON lines file written by cache_export. Every line is checked "
            "first: a bad line refuses the file with its line number and nothing is imported.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="The JSON lines file to read.")

    def handle(self, *args, file, **options):
        try:
            with open(file, "rb") as source:
                stored = import_lines(source)
        except OSError as exc:
            raise CommandError(f"Could not read {file}: {exc.strerror}.") from None
        except (ImportRefused, RuntimeError) as exc:
            raise CommandError(f"{exc} Nothing was imported.") from None
        self.stdout.write(f"Imported {stored} response cache entr{'y' if stored == 1 else 'ies'}.")
