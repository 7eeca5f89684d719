"""manage.py batch_submit FILE: submit a JSONL file of Messages requests as one batch."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from providers.batch import submission
from providers.clients.errors import ProviderError


class Command(BaseCommand):
    help = "Submit a JSONL file of Messages requests as a batch to the active provider (docs/batch.md)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSONL: one request per line ({\"custom_id\", \"params\"} or a bare request)")
        parser.add_argument("--name", default="", help="a name shown on the Batches page")
        parser.add_argument("--provider", default=None, help="a configured provider's name (default: the primary)")
        parser.add_argument("--agent", default="", help="record the usage under this agent")

    def handle(self, *args, file, name, provider, agent, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"{file}: no such file.")
        try:
            job = submission.submit_file(path.read_bytes(), name=name, provider=provider, agent=agent, source="cli")
        except ProviderError as error:
            raise CommandError(f"{error.kind.value}: {error}") from None
        self.stdout.write(f"Batch {job.pk} submitted to {job.provider_name} ({job.provider_kind}): {job.total} "
                          f"requests, model {job.model_id}.\nProvider's ID: {job.provider_batch_id}\n"
                          "The worker tracks it; see the Batches page (/batches/).")
