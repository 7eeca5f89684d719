"""Amazon Bedrock, Django side: AWS auth modes, regions, inference profiles."""
import json

from providers.curl import PING, cacert_option, quoted
from providers.environment import env_secret
from providers.kinds.base import ClaudeCodeBlock, KindPlugin, access_key_shown, resolve_secret, secret_shown

AWS_ENV_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
RECOMMENDED_MAX_OUTPUT_TOKENS = 4096  # Bedrock throttling counts at least this per request
RECOMMENDED_MAX_THINKING_TOKENS = 1024


class BedrockKind(KindPlugin):
    name = "bedrock"
    label = "Amazon Bedrock"
    export_keys = ("aws_region", "auth_mode", "aws_profile", "bedrock_api_key_env", "aws_access_key_id", "role_arn",
                   "external_id", "role_session_name", "role_duration_seconds", "inference_profile",
                   "geo_preference", "endpoint_url", "control_endpoint_url", "sts_endpoint_url")
    export_always = ("aws_region", "auth_mode", "inference_profile")

    def settings_values(self, config, env, sources, problems):
        # AWS_REGION only fills in a region the configuration leaves blank: on Lambda, ECS and
        # Fargate it is always set, and must not move traffic (and prices) silently.
        region = config.aws_region or env.aws_region or None
        sources["aws_region"] = "stored configuration" if config.aws_region else (
            "env AWS_REGION (the configuration names none)" if region else "not set")
        values = dict(
            aws_region=region, auth_mode=config.auth_mode, aws_profile=config.aws_profile or None,
            endpoint_url=config.endpoint_url or None, control_endpoint_url=config.control_endpoint_url or None,
            sts_endpoint_url=config.sts_endpoint_url or None, role_arn=config.role_arn or None,
            external_id=config.external_id or None, role_session_name=config.role_session_name or "moments-admin",
            role_duration_seconds=config.role_duration_seconds or 3600,
            geo_preference=config.geo_preference or None, inference_profile=config.inference_profile or None,
        )
        mode = config.auth_mode
        if mode == "static_keys":
            values["aws_access_key_id"] = config.aws_access_key_id or None
            values["aws_secret_access_key"] = resolve_secret(config, None, "aws_secret_access_key_encrypted",
                                                             "aws_secret_access_key", sources, problems)
            values["aws_session_token"] = resolve_secret(config, None, "aws_session_token_encrypted",
                                                         "aws_session_token", sources, problems) or None
            if not values["aws_secret_access_key"]:
                problems.append(("aws_secret_access_key", "No secret access key is stored."))
        elif mode == "env":
            access, secret, token = (env_secret(name) for name in AWS_ENV_KEYS)
            values.update(aws_access_key_id=access, aws_secret_access_key=secret, aws_session_token=token)
            sources["aws_access_key_id"] = "env AWS_ACCESS_KEY_ID" if access else "env AWS_ACCESS_KEY_ID is not set"
            if not (access and secret):
                problems.append(("auth_mode", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set "
                                              "in this process's environment."))
        elif mode == "api_key":
            values["bedrock_api_key"] = resolve_secret(config, "bedrock_api_key_env", "bedrock_api_key_encrypted",
                                                       "bedrock_api_key", sources, problems)
            if not values["bedrock_api_key"] and not any(f == "bedrock_api_key_env" for f, _ in problems):
                problems.append(("bedrock_api_key", "No Bedrock API key: set an env var name or store a key."))
        elif mode == "profile":
            sources["aws_profile"] = "stored configuration"
        return values

    def connection_fields(self, step, settings):
        if step == "credentials" and settings.auth_mode != "api_key":
            return ["sts_endpoint_url", "aws_region"]
        return ["endpoint_url", "aws_region"]

    def credential_fields(self, error, resolved):
        settings, config = resolved.settings, resolved.config
        text = f"{error.message} {error.raw_message or ''}"
        if "region" in text.lower() and "Bedrock needs" in text:
            return ["aws_region"]
        if settings.role_arn and ("AssumeRole" in text or "role" in text.lower()):
            return ["role_arn"]
        mode = settings.auth_mode
        if mode == "static_keys":
            if "InvalidClientTokenId" in text or "security token included" in text.lower():
                return ["aws_access_key_id"]
            return ["aws_secret_access_key"]
        if mode == "api_key":
            return ["bedrock_api_key_env" if config.bedrock_api_key_env else "bedrock_api_key"]
        if mode == "profile":
            return ["aws_profile"]
        return ["auth_mode"]

    def model_fields(self, mapping_field):
        return [mapping_field, "aws_region"]

    def curl(self, step, settings, model_id=None):
        cacert = cacert_option(settings)
        region = settings.aws_region or "us-east-1"
        if settings.auth_mode == "api_key":
            auth = '-H "Authorization: Bearer $AWS_BEARER_TOKEN_BEDROCK"'
        else:
            auth = ('--aws-sigv4 "aws:amz:{region}:{service}" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"'
                    + (' -H "x-amz-security-token: $AWS_SESSION_TOKEN"'
                       if settings.aws_session_token or settings.role_arn else ""))
        if step == "credentials" and settings.auth_mode != "api_key":
            url = settings.sts_endpoint_url or f"https://sts.{region}.amazonaws.com"
            return (f"curl -sS{cacert} {auth.format(region=region, service='sts')} {quoted(url + '/')} "
                    "-d 'Action=GetCallerIdentity&Version=2011-06-15'")
        if step == "models":
            url = (settings.control_endpoint_url or f"https://bedrock.{region}.amazonaws.com") + "/foundation-models"
            return (f"curl -sS{cacert} {auth.format(region=region, service='bedrock')} "
                    f"{quoted(url + '?byProvider=Anthropic')}")
        runtime = settings.endpoint_url or f"https://bedrock-runtime.{region}.amazonaws.com"
        operation = "invoke-with-response-stream" if step == "streaming" else "invoke"
        invoke_body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 1,
                                  "messages": PING["messages"]})
        if step == "permissions":
            invoke_body = json.dumps({"max_tokens": 0, "messages": []})
        url = f"{runtime}/model/{model_id or 'MODEL_ID'}/{operation}"
        return (f"curl -sS{cacert} {auth.format(region=region, service='bedrock')} "
                f"-H 'content-type: application/json' {quoted(url)} -d {quoted(invoke_body)}")

    def claude_code(self, resolved, environment):
        config, settings = resolved.config, resolved.settings
        block = ClaudeCodeBlock(max_output_tokens=RECOMMENDED_MAX_OUTPUT_TOKENS,
                                max_thinking_tokens=RECOMMENDED_MAX_THINKING_TOKENS)
        env, notes = block.env, block.notes
        env.append(("CLAUDE_CODE_USE_BEDROCK", "1", "use Amazon Bedrock"))
        env.append(("AWS_REGION", settings.aws_region, "required: Claude Code does not read it from ~/.aws/config"))
        if settings.auth_mode == "profile":
            env.append(("AWS_PROFILE", settings.aws_profile, "the named profile"))
            if config.role_arn:
                notes.append("Claude Code does not assume roles itself: add role_arn to that profile in "
                             "~/.aws/config (source_profile) to get the same role.")
        elif settings.auth_mode == "api_key":
            env.append(("AWS_BEARER_TOKEN_BEDROCK", "<your Bedrock API key>", "a secret: paste it yourself"))
        elif settings.auth_mode in ("static_keys", "env"):
            env.append(("AWS_ACCESS_KEY_ID", "<your access key ID>", "a credential: paste it yourself"))
            env.append(("AWS_SECRET_ACCESS_KEY", "<your secret access key>", "a secret: paste it yourself"))
        if config.role_arn and settings.auth_mode != "profile":
            notes.append(f"This provider assumes {config.role_arn}; give Claude Code a profile that assumes it.")
        if settings.endpoint_url:
            env.append(("ANTHROPIC_BEDROCK_BASE_URL", settings.endpoint_url, "the runtime endpoint override"))
        return block

    def effective_rows(self, resolved, *, staff=False):
        s, sources = resolved.settings, resolved.sources
        rows = [("aws_region", s.aws_region, sources.get("aws_region", "stored configuration")),
                ("auth_mode", s.auth_mode + (" + assume role" if s.role_arn else ""), "stored configuration")]
        if s.auth_mode == "profile":
            rows.append(("aws_profile", s.aws_profile, "stored configuration"))
        if s.auth_mode in ("static_keys", "env"):
            rows.append(("aws_access_key_id", access_key_shown(s.aws_access_key_id, staff=staff),
                         sources.get("aws_access_key_id", "stored configuration")))
            source = sources.get("aws_secret_access_key", "env AWS_SECRET_ACCESS_KEY")
            rows.append(("aws_secret_access_key", secret_shown(s.aws_secret_access_key, source, staff), source))
        if s.auth_mode == "api_key":
            source = sources.get("bedrock_api_key", "")
            rows.append(("bedrock_api_key", secret_shown(s.bedrock_api_key, source, staff), source))
        if s.role_arn:
            rows.append(("role_arn", s.role_arn, "stored configuration"))
        for name in ("endpoint_url", "control_endpoint_url", "sts_endpoint_url", "inference_profile",
                     "geo_preference"):
            if getattr(s, name):
                rows.append((name, getattr(s, name), "stored configuration"))
        return rows

    def exported(self, config):
        out = {"use_bedrock_api_key": config.auth_mode == "api_key"}
        if config.auth_mode == "profile":
            out["aws_profile"] = config.aws_profile
        return out

    def skip_export(self, key, config):
        return key == "bedrock_api_key_env" and config.auth_mode != "api_key"


PLUGIN = BedrockKind()
