"""The complete IAM policy a Bedrock provider needs: every action its mapped models' integrations use,
the control-plane reads, the guardrail, and batch inference when batch settings are set.

Test connection shows this policy whenever a permission is denied (naming the denied actions beside it),
so granting it once makes every later call work, not just the one that failed.
"""
from providers.clients.batch_bedrock import CALLER_ACTIONS
from providers.clients.catalog import iam_policy_for

# Read by the models step (availability) and by application-inference-profile resolution.
CONTROL_PLANE_ACTIONS = ("bedrock:GetInferenceProfile", "bedrock:ListFoundationModels",
                         "bedrock:ListInferenceProfiles")
MODEL_ACTION_PREFIXES = ("bedrock:InvokeModel", "bedrock:CountTokens", "bedrock-mantle:", "bedrock:CallWithBearerToken")


def guardrail_arn(identifier, region, account="*"):
    return identifier if identifier.startswith("arn:") else f"arn:aws:bedrock:{region}:{account}:guardrail/{identifier}"


def batch_statements(settings):
    """Statements for Bedrock batch inference: job actions, the bucket and prefix, passing the service role."""
    bucket = settings.batch_s3_bucket
    prefix = (settings.batch_s3_prefix or "").strip("/")
    objects = f"arn:aws:s3:::{bucket}/{prefix}/*" if prefix else f"arn:aws:s3:::{bucket}/*"
    job_actions = sorted(a for a in CALLER_ACTIONS if a.startswith("bedrock:"))
    statements = [
        {"Sid": "BatchJobs", "Effect": "Allow", "Action": job_actions, "Resource": "*"},
        {"Sid": "BatchObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": objects},
        {"Sid": "BatchBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": f"arn:aws:s3:::{bucket}"},
    ]
    if settings.batch_role_arn:
        statements.append({"Sid": "PassBatchRole", "Effect": "Allow", "Action": ["iam:PassRole"],
                           "Resource": settings.batch_role_arn,
                           "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}})
    return statements


def provider_policy(actions, model_ids, settings, *, uses_api_key=False):
    """One policy for everything the provider uses. `actions` are the model actions its checks named
    (allowed or denied); `model_ids` the model or profile IDs it serves."""
    region = settings.aws_region
    model_actions = {a for a in actions if a.startswith(MODEL_ACTION_PREFIXES)}
    if uses_api_key:
        model_actions.add("bedrock:CallWithBearerToken")
    policy = iam_policy_for(model_actions, [m for m in model_ids if not m.startswith("arn:aws:s3")], region)
    statements = policy["Statement"]
    statements.append({"Sid": "ReadModelCatalog", "Effect": "Allow", "Action": list(CONTROL_PLANE_ACTIONS),
                       "Resource": "*"})
    if getattr(settings, "guardrail_identifier", None):
        statements.append({"Sid": "ApplyGuardrail", "Effect": "Allow", "Action": ["bedrock:ApplyGuardrail"],
                           "Resource": guardrail_arn(settings.guardrail_identifier, region)})
    if getattr(settings, "batch_s3_bucket", None) and not uses_api_key:
        statements.extend(batch_statements(settings))
    return policy
