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
    otel_system: str  # OpenTelemetry's gen_ai.provider.name for calls of this kind
    permission_probe: bool = False  # its client has a zero-token permission probe (check_permissions)


KINDS = {
    "anthropic": KindInfo("providers.clients.anthropic_client.AnthropicClient", "anthropic", regional=False,
                          otel_system="anthropic"),
    "bedrock": KindInfo("providers.clients.bedrock_client.BedrockClient", "bedrock", regional=True,
                        otel_system="aws.bedrock", permission_probe=True),
    # Claude Platform on AWS: Claude API model IDs and prices; its region picks the endpoint, not the model.
    "aws_platform": KindInfo("providers.clients.aws_platform.AwsPlatformClient", "anthropic", regional=False,
                             otel_system="anthropic"),
}


def provider_kinds():
    return tuple(KINDS)


def kinds_where(**facts):
    """The kinds whose KindInfo has every given value, e.g. kinds_where(model_family="anthropic")."""
    return tuple(kind for kind, info in KINDS.items() if all(getattr(info, k) == v for k, v in facts.items()))


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
