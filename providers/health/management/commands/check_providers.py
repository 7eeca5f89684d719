"""manage.py check_providers: one round of health checks now, printed; exit 1 when any failed."""
from django.core.management.base import BaseCommand, CommandError

from providers.health.rounds import run_round


class Command(BaseCommand):
    help = "Run one round of health checks now and print each provider and model with its result."

    def handle(self, *args, **options):
        result = run_round()
        if not result.outcomes:
            raise CommandError("No enabled provider to check.")
        provider = None
        for outcome in result.outcomes:
            if outcome.provider_name != provider:
                provider = outcome.provider_name
                self.stdout.write(f"{provider} ({outcome.provider_kind})")
            latency = f"{outcome.latency_ms:.0f} ms" if outcome.latency_ms is not None else "-"
            verdict = "ok" if outcome.ok else f"DOWN {outcome.error_kind}: {outcome.message}"
            self.stdout.write(f"  {outcome.model:<8} {outcome.model_id or '?':<48} {verdict}  "
                              f"[{outcome.check}, {outcome.spent}, {latency}]")
        self.stdout.write(result.summary())
        if result.any_down:
            raise CommandError("At least one provider model failed its check.", returncode=1)
