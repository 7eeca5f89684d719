"""The set-up checklist the home page shows until a provider has passed a test and served a call.

Every step is ticked from what the database holds, never from a flag the user sets: a provider
exists; a provider's saved configuration passed test connection; a primary is chosen; an
application call (not a test, health check or wizard call) succeeded; a budget is active.
"""
from dataclasses import dataclass

from django.urls import reverse

from providers.models import GatewayKey, ProviderConfig, ProviderRouting
from providers.resolve import fingerprint
from usage.models import Budget, UsageRecord
from usage.templatetags.humanize_usage import usd
from usage.traffic import APPLICATION_PURPOSES


@dataclass
class Step:
    key: str
    title: str
    done: bool
    detail: str
    action_url: str = ""
    action_label: str = ""


def tested_providers():
    """Providers whose saved configuration (as it is now) passed every test connection step."""
    return [p for p in ProviderConfig.objects.filter(last_test_ok=True)
            if p.last_test_fingerprint and p.last_test_fingerprint == fingerprint(p)]


def first_call():
    return (UsageRecord.objects.filter(purpose__in=APPLICATION_PURPOSES, status="ok", is_demo=False)
            .order_by("occurred_at").first())


def steps():
    providers = list(ProviderConfig.objects.all())
    tested = tested_providers()
    routing = ProviderRouting.load()
    call = first_call()
    budget = Budget.objects.filter(active=True).first()
    untested = next((p for p in providers if p not in tested), providers[0] if providers else None)
    return [
        Step("provider", "Add a provider", bool(providers),
             f"{len(providers)} configured: {', '.join(p.name for p in providers)}." if providers else
             "An Anthropic API key, Amazon Bedrock credentials and a region, or a Claude Platform on AWS workspace.",
             reverse("providers:create") + "?kind=anthropic", "Add a provider"),
        Step("test", "Test it", bool(tested),
             f"Passed: {', '.join(p.name for p in tested)}." if tested else
             "Test connection checks credentials, permissions, models, one live and one streaming request.",
             reverse("providers:edit", args=[untested.pk]) + "#test-connection" if untested else "",
             "Test connection"),
        Step("routing", "Choose the primary and fallbacks", bool(routing.primary),
             f"Primary {routing.primary}" + (f", then {', '.join(routing.fallbacks)}." if routing.fallbacks else
                                             ", no fallback yet: add a second provider and choose it as "
                                             "fallback for failover.") if routing.primary else
             "Which provider serves traffic first, and which take over when it fails.",
             reverse("providers:list") + "#routing", "Choose"),
        Step("call", "Make the first call", call is not None,
             f"{call.provider_name} served {call.logical_model or call.model_id} "
             f"({call.purpose}) at {call.occurred_at:%Y-%m-%d %H:%M} UTC." if call else
             "Use one of the three ways below; the step is ticked when a call succeeds.",
             "#first-call", "Show how"),
        Step("budget", "Set a budget", budget is not None,
             f"{budget.name}: {usd(budget.amount_usd)}/month." if budget else
             "A monthly limit with e-mail or webhook alerts at 50, 80 and 100 %.",
             reverse("usage:budget-add"), "Add a budget"),
    ]


def complete():
    """Whether the home page can stop showing the checklist: a provider passed a test and served a call."""
    return bool(tested_providers()) and first_call() is not None


def snippets(base_url, model="haiku"):
    """(title, language, text) for the ways to make a first call; no secret is ever part of them."""
    prompt = "Say hello in five words."
    return [
        ("Management command", "sh",
         f'.venv/bin/python manage.py call --model {model} --prompt "{prompt}"'),
        ("Python, in-process client (providers/client.py)", "python",
         "# .venv/bin/python manage.py shell, then:\n"
         "from providers.client import Anthropic\n\n"
         "client = Anthropic()  # the active configuration: routing, retries, failover, usage\n"
         f"message = client.messages.create(model=\"{model}\", max_tokens=64,\n"
         f"                                 messages=[{{\"role\": \"user\", \"content\": \"{prompt}\"}}])\n"
         "print(message.content[0].text)"),
        ("HTTP: curl to the gateway", "sh",
         f"curl {base_url}/v1/messages -H \"x-api-key: $MOMENTS_GATEWAY_KEY\" \\\n"
         "  -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' \\\n"
         f"  -d '{{\"model\": \"{model}\", \"max_tokens\": 64, "
         f"\"messages\": [{{\"role\": \"user\", \"content\": \"{prompt}\"}}]}}'"),
        ("HTTP: the anthropic SDK with base_url", "python",
         "import os\n\nimport anthropic\n\n"
         f"client = anthropic.Anthropic(base_url=\"{base_url}\", api_key=os.environ[\"MOMENTS_GATEWAY_KEY\"])\n"
         f"message = client.messages.create(model=\"{model}\", max_tokens=64,\n"
         f"                                 messages=[{{\"role\": \"user\", \"content\": \"{prompt}\"}}])\n"
         "print(message.content[0].text)"),
    ]


def has_gateway_key():
    return GatewayKey.objects.filter(revoked_at__isnull=True).exists()
