"""Write the usage rows waiting in the Redis stream now (what the worker's drain task does)."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from usage.queue import usage_queue
from usage.services import drain_queue


class Command(BaseCommand):
    help = "Drain the Redis usage queue (USAGE_QUEUE_URL) into the database once."

    def handle(self, *args, **options):
        queue = usage_queue(settings)
        if queue is None:
            raise CommandError("No usage queue is configured (set USAGE_QUEUE_URL or a Redis CACHE_URL).")
        summary = drain_queue(queue)
        self.stdout.write(f"Wrote {summary['written']} usage row(s); {summary['dead_lettered']} dead-lettered.")
