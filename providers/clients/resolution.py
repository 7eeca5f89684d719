"""The one model resolution: what a provider configured by `settings` is sent for a model name.

Every caller uses it: the clients (with live availability), test connection, the mapping
table, config export and the Claude Code page, so they can never disagree. Custom inference
profiles are looked up on top of it by the Bedrock client, which can ask AWS.
"""
from providers.clients.catalog import resolve_model_id
from providers.clients.registry import kind_info


def resolve(settings, model, *, available=None):
    """A logical name or model ID -> catalog Resolution for this provider (region, geo, mapping,
    forced profile). `available` is the set of IDs the provider serves, when known."""
    info = kind_info(settings.kind)
    return resolve_model_id(model, info.model_family, region=settings.aws_region if info.regional else None,
                            geo_preference=settings.geo_preference, mapping=settings.model_mapping,
                            available=available, inference_profile=settings.inference_profile)
