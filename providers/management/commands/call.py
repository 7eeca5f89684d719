"""`manage.py call`: one Messages request through the active configuration and the choke point."""
import time

from django.core.management.base import BaseCommand, CommandError

from providers.call_records import CallContext
from providers.calls import invoke
from providers.clients.errors import ProviderError


class Command(BaseCommand):
    help = ("Send one Messages request through the active configuration (routing, retries, failover, usage) "
            "and print who served it, the model ID, tokens, cost, latency and whether it failed over.")

    def add_arguments(self, parser):
        parser.add_argument("--model", default="sonnet", help="Logical name or model ID (default: sonnet).")
        parser.add_argument("--prompt", default="Say hello in five words.", help="The user message.")
        parser.add_argument("--system", default=None, help="An optional system prompt.")
        parser.add_argument("--max-tokens", type=int, default=256, help="max_tokens (default 256).")
        parser.add_argument("--stream", action="store_true", help="Stream the answer as it arrives.")
        parser.add_argument("--provider", default=None, help="Pin the call to this provider name (no failover).")

    def handle(self, *args, model, prompt, system, max_tokens, stream, provider, **options):
        if max_tokens < 1:
            raise CommandError("--max-tokens must be a positive whole number.")
        request = {"model": model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": prompt}]}
        if system:
            request["system"] = system
        context = CallContext(purpose="cli", provider=provider)
        started = time.monotonic()
        try:
            if stream:
                result = invoke(None, request, context, stream=True)
                for event in result:
                    delta = event.get("delta", {}) if event.get("type") == "content_block_delta" else {}
                    if delta.get("type") == "text_delta":
                        self.stdout.write(delta["text"], ending="")
                        self.stdout.flush()
                self.stdout.write("")
            else:
                result = invoke(None, request, context)
                text = "".join(b.get("text", "") for b in result.message.get("content", []) if b.get("type") == "text")
                self.stdout.write(text)
        except ProviderError as error:
            raise CommandError(f"{error.kind.value}: {error}") from None
        self._summary(result, (time.monotonic() - started) * 1000)

    def _summary(self, result, elapsed_ms):
        record, usage = result.record, result.record.usage
        cost = "unpriced" if record.cost_usd is None else f"${record.cost_usd:.6f}"
        lines = [
            ("provider", f"{record.provider_name} ({record.provider_kind})"),
            ("model", f"{record.requested_model} -> {record.model_id}" + (f" [{record.scope}]" if record.scope else "")),
            ("tokens", f"input {usage.input_tokens}, output {usage.output_tokens}, cache write "
                       f"{usage.cache_write_tokens}, cache read {usage.cache_read_tokens}"),
            ("cost", cost),
            ("latency", f"{elapsed_ms:.0f} ms" + (f" (first token {record.ttft_ms:.0f} ms)" if record.ttft_ms else "")),
            ("failed over", "yes" if record.failed_over else "no"),
        ]
        self.stdout.write("")
        for label, value in lines:
            self.stdout.write(f"{label + ':':<13}{value}")
