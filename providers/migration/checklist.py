"""Step 6: what must be done outside the app, each item checked automatically where possible.

An item is "auto" when the app can tell (the last test connection of the target passed its
permission and model checks on the current configuration; this server's environment; the wizard's
own earlier steps), otherwise the operator ticks it by hand.
"""
from providers.claude_code import claude_code_env
from providers.environment import EnvironmentError_, read_environment
from providers.migration.verification import unacknowledged
from providers.resolve import fingerprint


def _test_step_passed(config, step):
    if not config.last_test_fingerprint or config.last_test_fingerprint != fingerprint(config):
        return None  # never tested, or tested on another configuration: unknown
    return any(s.get("step") == step and s.get("ok") for s in config.last_test_steps or [])


def items(migration, target_config, target_resolved):
    """[{key, label, detail, auto (True/False/None), ticked}] for the target."""
    data = migration.data
    ticked = set((data.get("checklist") or {}).get("ticked") or [])
    bedrock = target_config.kind == "bedrock"
    try:
        environment = read_environment()
    except EnvironmentError_:
        environment = None
    out = []

    def add(key, label, detail, auto=None):
        out.append({"key": key, "label": label, "detail": detail, "auto": auto, "ticked": key in ticked,
                    "done": bool(auto) or key in ticked})

    if bedrock:
        add("iam_policy", "IAM policy attached to the identity the app uses",
            "Step 2 generated it for the mapped models and region.", _test_step_passed(target_config, "permissions"))
        add("model_access", "Model access granted in the Bedrock console for every mapped model",
            "Checked by the target's last test connection (models available).",
            _test_step_passed(target_config, "models"))
        add("quotas", "Service quotas (tokens and requests per minute) cover the source's peak traffic",
            f"Service Quotas console, Amazon Bedrock, region {target_config.aws_region}.")
        region = environment.aws_region if environment else None
        add("aws_region", f"AWS_REGION={target_config.aws_region} where the application and Claude Code run",
            "This server: " + (f"AWS_REGION={region}" if region else "AWS_REGION is not set (the stored region "
                               "is used)"), (region == target_config.aws_region) if region else None)
        add("use_bedrock", "CLAUDE_CODE_USE_BEDROCK=1 for Claude Code users", "Set in their shell or settings.json.")
    else:
        add("api_key", "An API key for the target is available to the application",
            "Checked by the target's last test connection (credentials).",
            _test_step_passed(target_config, "credentials"))
        add("use_bedrock", "CLAUDE_CODE_USE_BEDROCK unset for Claude Code users",
            "Otherwise Claude Code keeps calling Bedrock.",
            (not environment.use_bedrock) if environment and environment.use_bedrock is not None else None)
    add("claude_code", "The Claude Code block below distributed to developers", "Shell exports or settings.json.")
    verification = data.get("verification") or {}
    add("verified", "Verification suite passed (or its failures acknowledged)", "Step 4.",
        bool(verification.get("result")) and not _open_failures(migration))
    env_block = []
    if environment is not None:
        try:
            env_block, _notes = claude_code_env(target_resolved, environment)
        except Exception:  # a half-configured target must not break the checklist
            env_block = []
    return out, env_block


def _open_failures(migration):
    return unacknowledged((migration.data.get("verification") or {}).get("result"), migration.acknowledged)


def manual_keys(rows):
    return [row["key"] for row in rows if row["auto"] is None]
