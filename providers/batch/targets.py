"""Which provider a batch goes to, and the current settings of the one a job went to."""
from providers import snapshot
from providers.clients.errors import ErrorKind, ProviderError


def provider_for(provider=None):
    """The provider a batch goes to: the one named, else the active primary. Batch never fails over:
    a job lives on the provider that accepted it."""
    current = snapshot.current()
    chain = list(current.chain)
    if provider:
        chain = [s for s in chain if s.name == provider]
        if not chain:
            raise ProviderError(ErrorKind.CONFIGURATION, f"No active provider is named '{provider}'.")
    if not chain:
        raise ProviderError(ErrorKind.CONFIGURATION, current.error or "No provider is configured.")
    return chain[0]


def settings_named(name):
    """The current settings of a provider a job was sent to (it may no longer be the primary)."""
    for settings in snapshot.current().chain:
        if settings.name == name:
            return settings
    from providers.models import ProviderConfig
    from providers.resolve import build_settings

    config = ProviderConfig.objects.filter(name=name).first()
    if config is None:
        raise ProviderError(ErrorKind.CONFIGURATION, f"Provider '{name}' no longer exists; its batch cannot be "
                            "reached.")
    return build_settings(config).settings
