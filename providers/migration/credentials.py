"""Step 2: from an API-key world to AWS credentials and back, for this migration's target.

The IAM policy is generated for the models the target resolves (the mapped logical names) in its
region, by the function test connection uses (providers.clients.bedrock_policy): each model's
integration's actions on its model and profile ARNs, the control-plane reads on "*", and the
guardrail and batch statements the target's settings call for. Model access to request is listed
by name.
"""
import dataclasses
import json

from providers.clients.bedrock_integrations import INTEGRATION_ACTIONS, choose_bedrock_integration
from providers.clients.bedrock_policy import provider_policy
from providers.clients.catalog import load_catalog
from providers.clients.errors import ProviderError
from providers.clients.resolution import resolve

COUNT_TOKENS = "bedrock:CountTokens"  # token counting on bedrock-runtime, with SigV4 credentials only
AUTH_MODES = (
    ("Default credential chain", "Instance role, ECS task role or environment variables: nothing stored here."),
    ("AWS profile / SSO", "A named profile from ~/.aws/config; for SSO run `aws sso login --profile NAME` first."),
    ("Static access keys", "An IAM user's access key ID and secret (stored encrypted); rotate them regularly."),
    ("Bedrock API key", "A bearer token (AWS_BEARER_TOKEN_BEDROCK); no SigV4, so no CountTokens."),
    ("Assume role", "Base credentials assume a role (role ARN, optional external ID); the role's trust policy "
                    "must name the base identity."),
)


def mapped_resolutions(settings):
    """[(logical, Resolution)] the target would send, for every logical name that resolves."""
    catalog = load_catalog()
    out = []
    for logical in dict.fromkeys([*catalog.logical_names(), *settings.model_mapping]):
        try:
            out.append((logical, resolve(settings, logical)))
        except ProviderError:
            continue
    return out


def policy_actions(settings, resolutions):
    """The model actions the target's calls need: the actions of the integration that serves each model
    (chosen as the Bedrock client chooses it), and CountTokens beside bedrock-runtime."""
    catalog = load_catalog()
    actions = set()
    for resolution in resolutions:
        integration = choose_bedrock_integration(catalog.model(resolution.catalog_key or resolution.model_id),
                                                 settings.bedrock_integration or "auto")
        actions.update(INTEGRATION_ACTIONS[integration])
        if integration != "mantle" and settings.auth_mode != "api_key":
            actions.add(COUNT_TOKENS)
    return sorted(actions)


def guide(target):
    """What the page shows for a target ProviderSettings."""
    resolutions = mapped_resolutions(target)
    models = [(logical, resolution.model_id) for logical, resolution in resolutions]
    if target.kind != "bedrock":
        return {"kind": target.kind, "models": models, "policy": "", "access": [], "auth_modes": [],
                "env": ["ANTHROPIC_API_KEY (or the variable the provider names)", "unset CLAUDE_CODE_USE_BEDROCK"]}
    region = target.aws_region or "us-east-1"
    policy = provider_policy(policy_actions(target, [r for _, r in resolutions]), [m for _, m in models],
                             dataclasses.replace(target, aws_region=region), uses_api_key=target.auth_mode == "api_key")
    catalog = load_catalog()
    access = sorted({m.display_name for _, mid in models if (m := catalog.model(mid)) is not None})
    return {"kind": target.kind, "models": models, "policy": json.dumps(policy, indent=2), "access": access,
            "auth_modes": AUTH_MODES, "region": region,
            "env": ["CLAUDE_CODE_USE_BEDROCK=1", f"AWS_REGION={region}",
                    "AWS_PROFILE or the role/keys of the chosen auth mode"]}
