"""The batch operations of a provider client: Anthropic Message Batches or Bedrock batch inference."""
from providers.clients.errors import ErrorKind, ProviderError


def batch_api(client):
    """The batch operations of a provider client (Anthropic or Bedrock)."""
    if client.kind == "anthropic":
        from providers.clients.batch_anthropic import AnthropicBatches

        return AnthropicBatches(client)
    if client.kind == "bedrock":
        from providers.clients.batch_bedrock import BedrockBatches

        return BedrockBatches(client)
    raise ProviderError(ErrorKind.UNSUPPORTED, f"Batch inference is not available on {client.kind} providers.",
                        provider=client.kind)
