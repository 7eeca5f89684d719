"""manage.py create_gateway_key NAME [--models sonnet,haiku] [--monthly-budget 50] [--owner TEAM]
[--response-cache request|use|off] [--response-cache-ttl SECONDS] [--no-prompt-caching]: prints the key once."""
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from providers.gateway.forms import GatewayKeyForm
from providers.gateway.services import create_key


class Command(BaseCommand):
    help = "Create a gateway key for the /v1/ endpoint and print it (once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The key's unique name (usage and budgets are reported under it).")
        parser.add_argument("--models", nargs="*", default=[],
                            help="Logical names or model IDs the key may use (commas or spaces); default: all.")
        parser.add_argument("--monthly-budget", help="Monthly budget in USD; the key is refused once it is spent.")
        parser.add_argument("--owner", default="", help="Who uses the key.")
        parser.add_argument("--response-cache", default="request",
                            help="Response cache policy: request (as each request's x-moments-cache header asks; "
                                 "the default), use (every request) or off (never).")
        parser.add_argument("--response-cache-ttl", default="",
                            help="Seconds this key's stored answers live (default: RESPONSE_CACHE_TTL_SECONDS).")
        parser.add_argument("--no-prompt-caching", action="store_true",
                            help="Never place automatic prompt-caching breakpoints for this key's calls.")

    def handle(self, *args, name, models, monthly_budget, owner, response_cache, response_cache_ttl,
               no_prompt_caching, **options):
        budget = None
        if monthly_budget is not None:
            try:
                budget = Decimal(monthly_budget)
            except InvalidOperation:
                raise CommandError(f"--monthly-budget must be an amount in USD such as 50 or 12.50, "
                                   f"not {monthly_budget!r}.") from None
        form = GatewayKeyForm({"label": name, "owner": owner, "allowed_models": " ".join(models),
                               "monthly_budget_usd": "" if budget is None else str(budget),
                               "response_cache": response_cache, "response_cache_ttl_seconds": response_cache_ttl,
                               "prompt_caching": "" if no_prompt_caching else "on"})
        if not form.is_valid():
            problems = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items())
            raise CommandError(f"Cannot create the key: {problems}")
        data = form.cleaned_data
        _, key = create_key(data["label"], owner=data["owner"], allowed_models=data["allowed_models"],
                            monthly_budget_usd=data["monthly_budget_usd"], **form.cache_policy())
        self.stdout.write(key)
