"""Provider kinds of the provider layer: the one list, each with its client and what the rest of
the layer needs to know about it. The client class is imported lazily, so one kind's SDK never
loads for another. The Django side has its own plugin per kind (providers.kinds)."""
import importlib
from dataclasses import dataclass

from providers.clients.errors import ErrorKind, ProviderError


@dataclass(frozen=True)
class KindInfo:
    client: str  # dotted path of the ProviderClient class
    model_family: str  # whose model IDs the kind speaks: "anthropic" (Claude API IDs) or "bedrock"
    regional: bool  # has an AWS region that model resolution and prices depend on


KINDS = {
    "anthropic": KindInfo("providers.clients.anthropic_client.AnthropicClient", "anthropic", regional=False),
    "bedrock": KindInfo("providers.clients.bedrock_client.BedrockClient", "bedrock", regional=True),
    # Claude Platform on AWS: Claude API model IDs and prices; its region picks the endpoint, not the model.
    "aws_platform": KindInfo("providers.clients.aws_platform.AwsPlatformClient", "anthropic", regional=False),
}


def provider_kinds():
    return tuple(KINDS)


def kind_info(kind):
    try:
        return KINDS[kind]
    except KeyError:
        raise ProviderError(ErrorKind.CONFIGURATION, f"Unknown provider kind '{kind}'.",
                            hint=f"Use one of: {', '.join(KINDS)}.") from None


def client_class(kind):
    module_name, _, class_name = kind_info(kind).client.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)


def get_client(settings, availability_cache=None):
    return client_class(settings.kind)(settings, availability_cache=availability_cache)
