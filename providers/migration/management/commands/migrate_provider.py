"""manage.py migrate_provider --from NAME --to NAME [--json]: the wizard's steps 3 to 5 for CI/CD.

Exit status: 0 when every model resolves on the target and every probe passed, 1 when something
fails (the report says what), 2 for bad arguments (an unknown provider).
"""
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from providers.migration.performance import DEFAULT_REQUESTS, MAX_REQUESTS
from providers.migration.providers_of import UnknownProvider
from providers.migration.report import as_text, headless
from providers.migration.verification import DEFAULT_MODEL


class Command(BaseCommand):
    help = "Check a migration between two stored providers: model mapping, verification suite, performance and cost."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, help="The provider serving traffic today.")
        parser.add_argument("--to", dest="target", required=True, help="The provider to move to.")
        parser.add_argument("--model", default=DEFAULT_MODEL, help="Model for the probes (default haiku).")
        parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS,
                            help=f"Requests per provider for the latency comparison (0 to {MAX_REQUESTS}).")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options):
        if options["source"] == options["target"]:
            raise CommandError("--from and --to must name two different providers.", returncode=2)
        if not 0 <= options["requests"] <= MAX_REQUESTS:
            raise CommandError(f"--requests must be between 0 and {MAX_REQUESTS}.", returncode=2)
        try:
            report = headless(options["source"], options["target"], model=options["model"],
                              requests=options["requests"])
        except UnknownProvider as error:
            raise CommandError(str(error), returncode=2) from None
        self.stdout.write(json.dumps(report, indent=2, default=str) if options["json"] else as_text(report))
        if not report["passed"]:
            sys.exit(1)
