"""Write the usage rows kept in the dead-letter table back into the usage records (docs/usage.md)."""
from django.core.management.base import BaseCommand

from usage.services import replay_dead_letters


class Command(BaseCommand):
    help = "Replay usage rows the database refused (UsageDeadLetter), sanitized again; written ones are removed."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="Replay at most this many (oldest first).")

    def handle(self, *args, limit=None, **options):
        replayed, failing = replay_dead_letters(limit=limit)
        self.stdout.write(f"Replayed {replayed} usage row(s); {failing} still refused (kept with their error).")
