"""Stored providers the wizard works on, resolved into call settings (env vars and secrets read now)."""
from providers.models import ProviderConfig
from providers.resolve import build_settings


class UnknownProvider(ValueError):
    pass


def config_named(name):
    config = ProviderConfig.objects.filter(name=name).first()
    if config is None:
        raise UnknownProvider(f"No provider is named '{name}'. Create it on the Providers page or pick another.")
    return config


def resolved_named(name):
    return build_settings(config_named(name))


def settings_named(name):
    return resolved_named(name).settings
