"""Step 2: from an API-key world to AWS credentials and back, for this migration's target.

The IAM policy is generated for the models the target resolves (the mapped logical names) in its
region, with the same function test connection uses; model access to request is listed by name.
"""
import json

from providers.clients.catalog import iam_policy_for, load_catalog
from providers.clients.errors import ProviderError
from providers.clients.resolution import resolve

INVOKE_ACTIONS = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream", "bedrock:CountTokens",
                  "bedrock:ListFoundationModels", "bedrock:ListInferenceProfiles", "bedrock:GetInferenceProfile"]
AUTH_MODES = (
    ("Default credential chain", "Instance role, ECS task role or environment variables: nothing stored here."),
    ("AWS profile / SSO", "A named profile from ~/.aws/config; for SSO run `aws sso login --profile NAME` first."),
    ("Static access keys", "An IAM user's access key ID and secret (stored encrypted); rotate them regularly."),
    ("Bedrock API key", "A bearer token (AWS_BEARER_TOKEN_BEDROCK); no SigV4, so no CountTokens."),
    ("Assume role", "Base credentials assume a role (role ARN, optional external ID); the role's trust policy "
                    "must name the base identity."),
)


def mapped_model_ids(settings):
    """[(logical, model ID)] the target would send, for every logical name that resolves."""
    catalog = load_catalog()
    out = []
    for logical in dict.fromkeys([*catalog.logical_names(), *settings.model_mapping]):
        try:
            out.append((logical, resolve(settings, logical).model_id))
        except ProviderError:
            continue
    return out


def guide(target):
    """What the page shows for a target ProviderSettings."""
    models = mapped_model_ids(target)
    if target.kind != "bedrock":
        return {"kind": target.kind, "models": models, "policy": "", "access": [], "auth_modes": [],
                "env": ["ANTHROPIC_API_KEY (or the variable the provider names)", "unset CLAUDE_CODE_USE_BEDROCK"]}
    actions = [*INVOKE_ACTIONS]
    if target.auth_mode == "api_key":
        actions.append("bedrock:CallWithBearerToken")
    policy = iam_policy_for(actions, [model_id for _, model_id in models], target.aws_region or "us-east-1")
    catalog = load_catalog()
    access = sorted({m.display_name for _, mid in models if (m := catalog.model(mid)) is not None})
    return {"kind": target.kind, "models": models, "policy": json.dumps(policy, indent=2), "access": access,
            "auth_modes": AUTH_MODES, "region": target.aws_region,
            "env": ["CLAUDE_CODE_USE_BEDROCK=1", f"AWS_REGION={target.aws_region or 'us-east-1'}",
                    "AWS_PROFILE or the role/keys of the chosen auth mode"]}
