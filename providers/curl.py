"""A provider request as a copyable curl command, with $PLACEHOLDERS (env var names) for every secret."""
import json
import shlex

PING = {"max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}


def _q(value):
    return shlex.quote(value)


def curl_for(step, settings, model_id=None):
    """The request a step sends, as curl, with $PLACEHOLDERS for every secret."""
    cacert = f" --cacert {_q(settings.verify)}" if isinstance(settings.verify, str) else (
        " --insecure" if settings.verify is False else "")
    body = json.dumps({"max_tokens": 1, "messages": PING["messages"]})
    if settings.kind == "anthropic":
        base = (settings.base_url or "https://api.anthropic.com").rstrip("/")
        if step in ("credentials", "permissions", "models"):
            return (f"curl -sS{cacert} {_q(base + '/v1/models')} -H \"x-api-key: $ANTHROPIC_API_KEY\" "
                    "-H 'anthropic-version: 2023-06-01'")
        payload = json.dumps({"model": model_id or "MODEL_ID", **PING} | ({"stream": True} if step == "streaming"
                                                                         else {}))
        return (f"curl -sS{cacert} {_q(base + '/v1/messages')} -H \"x-api-key: $ANTHROPIC_API_KEY\" "
                f"-H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' -d {_q(payload)}")
    region = settings.aws_region or "us-east-1"
    if settings.auth_mode == "api_key":
        auth = '-H "Authorization: Bearer $AWS_BEARER_TOKEN_BEDROCK"'
    else:
        auth = ('--aws-sigv4 "aws:amz:{region}:{service}" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"'
                + (' -H "x-amz-security-token: $AWS_SESSION_TOKEN"' if settings.aws_session_token or settings.role_arn
                   else ""))
    if step == "credentials" and settings.auth_mode != "api_key":
        url = settings.sts_endpoint_url or f"https://sts.{region}.amazonaws.com"
        return (f"curl -sS{cacert} {auth.format(region=region, service='sts')} {_q(url + '/')} "
                "-d 'Action=GetCallerIdentity&Version=2011-06-15'")
    if step == "models":
        url = (settings.control_endpoint_url or f"https://bedrock.{region}.amazonaws.com") + "/foundation-models"
        return f"curl -sS{cacert} {auth.format(region=region, service='bedrock')} {_q(url + '?byProvider=Anthropic')}"
    runtime = settings.endpoint_url or f"https://bedrock-runtime.{region}.amazonaws.com"
    operation = "invoke-with-response-stream" if step == "streaming" else "invoke"
    invoke_body = json.dumps({"anthropic_version": "bedrock-2023-05-31", **json.loads(body)})
    if step == "permissions":
        invoke_body = json.dumps({"max_tokens": 0, "messages": []})
    url = f"{runtime}/model/{model_id or 'MODEL_ID'}/{operation}"
    return (f"curl -sS{cacert} {auth.format(region=region, service='bedrock')} "
            f"-H 'content-type: application/json' {_q(url)} -d {_q(invoke_body)}")
