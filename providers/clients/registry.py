"""Provider kind -> client class, imported lazily so one kind's SDK never loads for the other."""
import importlib

from providers.clients.errors import ErrorKind, ProviderError

CLIENTS = {
    "anthropic": "providers.clients.anthropic_client.AnthropicClient",
    "bedrock": "providers.clients.bedrock_client.BedrockClient",
}


def provider_kinds():
    return tuple(CLIENTS)


def client_class(kind):
    try:
        module_name, _, class_name = CLIENTS[kind].rpartition(".")
    except KeyError:
        raise ProviderError(ErrorKind.CONFIGURATION, f"Unknown provider kind '{kind}'.",
                            hint=f"Use one of: {', '.join(CLIENTS)}.") from None
    return getattr(importlib.import_module(module_name), class_name)


def get_client(settings, availability_cache=None):
    return client_class(settings.kind)(settings, availability_cache=availability_cache)
