"""Warnings shown when a provider is saved with values that are allowed but probably not meant.

They never block the save (a new model ID may be newer than the catalog; a geography may be
chosen on purpose): the page says what was noticed and what to check.
"""
from providers.clients.catalog import load_catalog


def save_warnings(config):
    catalog = load_catalog()
    found = []
    for logical, override in sorted((config.model_mapping or {}).items()):
        if override and catalog.model(override) is None and "inference-profile/" not in override:
            found.append(f"{logical} is mapped to {override}, which is not a model in the catalog: it is sent "
                         "exactly as typed. Check the ID for typos; test connection shows whether the provider "
                         "serves it.")
    if config.kind == "bedrock" and config.geo_preference and config.geo_preference != "global" and config.aws_region:
        geos = catalog.geos_for_region(config.aws_region)
        if geos and config.geo_preference not in geos:
            found.append(f"The preferred geography {config.geo_preference} does not match the region "
                         f"{config.aws_region} (its geography: {', '.join(geos)}): {config.geo_preference}. "
                         f"profiles are not callable from {config.aws_region}, so models fall back to what the region "
                         "offers. Choose a region in that geography, or \"By region\".")
    return found
