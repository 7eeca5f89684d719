"""The caching a gateway request gets: its key's policy, then the request's own headers.

Response cache (`x-moments-cache: use|skip|refresh`): a key with policy "off" never uses it (the
header is ignored); "use" uses it unless the request says skip or refresh; "request" (the
default) follows the header, else RESPONSE_CACHE_MODELS, else skip. Automatic prompt caching
(`x-moments-prompt-caching: off`): on where the serving provider's policy has it on, unless the
key's policy or the request turns it off. Both headers are read here and never sent upstream.
"""
from django.conf import settings

from providers import response_cache
from providers.clients import prompt_caching
from providers.gateway import errors


def cache_mode(entry, headers, model):
    if entry.response_cache == "off":
        return "skip"
    use = entry.response_cache == "use" or (isinstance(model, str) and model in settings.RESPONSE_CACHE_MODELS)
    value = headers.get(response_cache.HEADER)
    if value is None:
        return "use" if use else "skip"
    try:
        return response_cache.parse_mode(value)
    except response_cache.CacheModeError as error:
        raise errors.invalid(str(error)) from None


def may_use(entry, headers):
    """Whether cache_mode could say "use", decided before the body is parsed (no model known yet)."""
    if entry.response_cache == "off":
        return False
    value = headers.get(response_cache.HEADER)
    if value is not None:
        return value.strip().lower() == "use"
    return entry.response_cache == "use" or bool(settings.RESPONSE_CACHE_MODELS)


def prompt_caching_on(entry, headers):
    value = headers.get(prompt_caching.HEADER)
    return entry.prompt_caching and (value is None or prompt_caching.header_allows(value))
