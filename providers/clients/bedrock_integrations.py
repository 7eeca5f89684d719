"""Which Bedrock integration serves a model: legacy InvokeModel, the Messages API on bedrock-runtime, or mantle.

Pure data and one pure function, so the Bedrock client, the permission step and the docs agree.
"""
from providers.clients.errors import ErrorKind, ProviderError

INTEGRATIONS = ("invoke", "messages", "mantle")
OVERRIDES = ("auto", *INTEGRATIONS)

# The IAM actions each integration needs to serve traffic.
INTEGRATION_ACTIONS = {
    "invoke": ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"),
    "messages": ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"),
    "mantle": ("bedrock-mantle:CreateInference",),
}
# The client class per integration (a dotted path, imported lazily like the registry's).
INTEGRATION_CLIENTS = {
    "invoke": "providers.clients.bedrock_client.BedrockClient",
    "messages": "providers.clients.bedrock_messages.BedrockMessagesClient",
    "mantle": "providers.clients.bedrock_mantle.BedrockMantleClient",
}


def documented_integration(model_entry):
    """The catalog's ``bedrock_integration`` for a model ("invoke" or "messages"); None if it says nothing."""
    if model_entry is None:
        return None
    value = model_entry.get("bedrock_integration") if isinstance(model_entry, dict) else getattr(
        model_entry, "bedrock_integration", None)
    return value if value in ("invoke", "messages") else None


def choose_bedrock_integration(model_entry, override="auto"):
    """The integration to call a model through.

    ``override`` is the provider's setting: "auto" follows the model's documentation in the
    catalog (a model the catalog does not know, such as an operator's profile ARN, stays on
    InvokeModel, which serves every Claude model Bedrock has); anything else applies to every model.
    """
    if override not in OVERRIDES:
        raise ProviderError(ErrorKind.CONFIGURATION, f"Unknown Bedrock integration '{override}'.",
                            provider="bedrock", hint=f"Use one of: {', '.join(OVERRIDES)}.")
    if override != "auto":
        return override
    return documented_integration(model_entry) or "invoke"
