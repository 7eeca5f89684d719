"""Provider kinds on the Django side: the one registry of kind plugins (see base.KindPlugin).
Adding a kind: one module here (plus its fields template), one client in providers/clients, and a line in
each registry. An AWS kind builds on providers.kinds.aws (region, AWS auth modes, assumed role); nothing in
the provider pages, config.yml or test connection switches on a kind's name."""
from providers.clients.errors import ErrorKind, ProviderError
from providers.kinds import anthropic, aws_platform, bedrock

PLUGINS = {plugin.name: plugin for plugin in (anthropic.PLUGIN, bedrock.PLUGIN, aws_platform.PLUGIN)}


def kind_names():
    return tuple(PLUGINS)


def plugin_for(kind):
    try:
        return PLUGINS[kind]
    except KeyError:
        raise ProviderError(ErrorKind.CONFIGURATION, f"Unknown provider kind '{kind}'.",
                            hint=f"Use one of: {', '.join(PLUGINS)}.") from None


def form_class(kind):
    """The kind's provider form, or None for a kind that does not exist."""
    plugin = PLUGINS.get(kind)
    return plugin.form_class if plugin else None


def kind_choices():
    """(kind, label) pairs, for the page that picks a kind."""
    return [(plugin.name, plugin.label) for plugin in PLUGINS.values()]
