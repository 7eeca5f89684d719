"""Realistic demo usage so a newcomer sees charts at once; `--remove` deletes it all again.

Demo rows are recorded through record_usage with is_demo=True, provider names
ending in "(demo)" and keys starting with "demo-". Budgets never count them.
"""
import datetime
import hashlib
import random

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from providers.clients.usage import Usage
from usage import rollups
from usage.models import UsageRecord
from usage.recommendations import refresh_recommendations
from usage.services import record_usage

ANTHROPIC, BEDROCK = "Anthropic API (demo)", "Bedrock us-east-1 (demo)"
AWS_PLATFORM = "Claude Platform on AWS (demo)"
# (provider name, kind, model ID, logical model, share of traffic, typical output tokens)
ROUTES = [
    (ANTHROPIC, "anthropic", "claude-sonnet-4-5-20250929", "sonnet", 0.32, 700),
    # Demo mode shows all three kinds: Claude Platform on AWS on the current lineup.
    (AWS_PLATFORM, "aws_platform", "claude-sonnet-5-5", "sonnet", 0.06, 700),
    (ANTHROPIC, "anthropic", "claude-haiku-4-5-20251001", "haiku", 0.2, 250),
    (ANTHROPIC, "anthropic", "claude-opus-4-5-20251101", "opus", 0.04, 1500),
    (BEDROCK, "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "sonnet", 0.22, 700),
    (BEDROCK, "bedrock", "global.anthropic.claude-haiku-4-5-20251001-v1:0", "haiku", 0.1, 250),
    (BEDROCK, "bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0", "haiku-legacy", 0.06, 200),
]
AGENTS = [("demo-key-web", "support-chat", True), ("demo-key-ide", "code-assistant", True),
          ("demo-key-etl", "nightly-summaries", False), ("demo-key-ops", "triage-bot", False)]
FAILURES = ["rate_limited", "overloaded", "timeout", "unavailable"]


def _one(rng, moment):
    provider, kind, model_id, logical, _share, typical_out = rng.choices(ROUTES, weights=[r[4] for r in ROUTES])[0]
    key, agent, interactive = rng.choice(AGENTS)
    failed = rng.random() < (0.04 if provider == BEDROCK else 0.02)
    prefix = rng.choice([None, "faq", "style-guide", "tools-v3"]) if agent != "code-assistant" else "repo-map"
    cached = prefix and rng.random() < 0.5
    prompt = int(rng.lognormvariate(7.5, 0.9))
    usage = Usage() if failed else Usage(
        input_tokens=prompt if not cached else int(prompt * 0.2),
        output_tokens=max(1, int(rng.lognormvariate(0, 0.8) * typical_out)),
        cache_write_5m_tokens=int(prompt * 0.8) if cached and rng.random() < 0.15 else 0,
        cache_read_tokens=int(prompt * 0.8) if cached and rng.random() >= 0.15 else 0)
    latency = rng.lognormvariate(7.2 if "opus" in model_id else 6.6, 0.5) * (1.15 if provider == BEDROCK else 1)
    return {"provider_name": provider, "provider_kind": kind, "model_id": model_id, "logical_model": logical,
            "usage": usage, "status": rng.choice(FAILURES) if failed else "ok",
            "purpose": "health" if rng.random() < 0.01 else "gateway",
            "latency_ms": round(latency, 1), "ttft_ms": round(latency * rng.uniform(0.15, 0.4), 1) if interactive
            else None, "gateway_key": key, "agent": agent, "stream": interactive, "has_tools": rng.random() < 0.3,
            "region": "us-east-1" if kind == "bedrock" else "",
            "prompt_prefix_hash": hashlib.sha256(f"{agent}:{prefix}".encode()).hexdigest()[:32] if prefix else "",
            "occurred_at": moment, "is_demo": True}


class Command(BaseCommand):
    help = "Create realistic demo usage records (marked demo, kept if some exist), or delete them with --remove."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="Spread records over this many days (default 30).")
        parser.add_argument("--records", type=int, default=6000, help="How many records (default 6000).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed, for repeatable data.")
        parser.add_argument("--remove", action="store_true", help="Delete every demo record and its rollups.")

    def handle(self, *args, days, records, seed, remove, **options):
        if remove:
            deleted = rollups.remove_demo_rows()
            self.stdout.write(self.style.SUCCESS(f"Removed {deleted} demo records and their rollups."))
            return
        if not 1 <= days <= 400 or not 1 <= records <= 1_000_000:
            raise CommandError("Use --days between 1 and 400 and --records between 1 and 1000000.")
        existing = UsageRecord.objects.filter(is_demo=True).count()
        if existing:  # the launcher seeds on every start: never pile a second copy on top
            self.stdout.write(f"Demo usage: already present ({existing} records). To reseed, remove it first: "
                              "manage.py seed_demo_usage --remove")
            return
        rng = random.Random(seed)
        now = timezone.now()
        start = now - datetime.timedelta(days=days)
        span = (now - start).total_seconds()
        moments = sorted(start + datetime.timedelta(seconds=rng.random() * span) for _ in range(records))
        with transaction.atomic():
            for moment in moments:
                # Business hours are busier: thin out the night.
                if moment.hour < 6 and rng.random() < 0.6:
                    moment += datetime.timedelta(hours=8)
                    moment = min(moment, now)
                record_usage(**_one(rng, moment))
        summary = rollups.update_rollups()
        refresh_recommendations()
        self.stdout.write(self.style.SUCCESS(
            f"Created {records} demo records over {days} days (rolled up through #{summary.get('last_id')}). "
            "Remove them with: manage.py seed_demo_usage --remove"))
