"""A provider call as bytes on the wire, for callers that bring their own HTTP client (the gateway).

    prepared = wire_request(client, request, stream=False)

`client` is the pooled provider client (providers.client_pool). The request goes through that
client's own preparation (check, model resolution, adaptation, caps, beta filtering: `_prepare`),
then becomes what its SDK would send: the URL, the headers with the provider's auth (an API key,
a Bedrock API key, or a botocore SigV4 signature) and the JSON body. Integrations this does not
cover raise Unsupported, and the caller uses the SDK path instead: Bedrock mantle, Claude Platform
on AWS, and any provider with a guardrail (its headers, stream mode and ApplyGuardrail checks stay
in one place, the SDK path).
"""
import json
import urllib.parse
from dataclasses import dataclass

from providers.clients.aws_sigv4 import AwsCredentialSource, signature_headers
from providers.clients.bedrock_messages import runtime_messages_url, runtime_url

ANTHROPIC_VERSION = "2023-06-01"
ANTHROPIC_URL = "https://api.anthropic.com"
SIGNING_SERVICE = "bedrock"


class Unsupported(Exception):
    """This provider or model is served through the SDK path only."""


@dataclass(frozen=True)
class WireRequest:
    url: str
    headers: dict
    body: bytes
    event_stream: bool  # the answer is AWS event-stream framing (InvokeModelWithResponseStream), not SSE
    model_id: str
    resolution: object  # providers.clients.base resolution of the requested model
    region: str | None


def wire_request(client, request, *, stream):
    target = client.for_model(request.get("model")) if hasattr(client, "for_model") else client
    settings = target.settings
    if settings.guardrail_identifier or settings.guardrail_apply:
        raise Unsupported("guardrails")
    integration = getattr(target, "integration", None)
    if target.kind == "anthropic":
        url = (settings.base_url or ANTHROPIC_URL).rstrip("/") + "/v1/messages"
    elif target.kind == "bedrock" and integration == "messages":
        url = runtime_messages_url(settings) + "/v1/messages"
    elif target.kind == "bedrock" and integration == "invoke":
        url = None  # built below, from the resolved model ID
    else:
        raise Unsupported(f"{target.kind} {integration or ''}".strip())

    body, options, resolution = target._prepare(request)
    body.update(options.get("extra_body", {}))
    headers = {"content-type": "application/json", **options.get("extra_headers", {})}
    if url is None:  # InvokeModel: the model is in the path, the betas and version in the body
        model = urllib.parse.quote(body.pop("model"), safe=":;")
        url = runtime_url(settings) + f"/model/{model}/" + ("invoke-with-response-stream" if stream else "invoke")
        flags = headers.pop("anthropic-beta", "")
        if flags:
            body.setdefault("anthropic_beta", flags.split(","))
        headers["accept"] = "application/vnd.amazon.eventstream" if stream else "application/json"
    else:
        headers["anthropic-version"] = ANTHROPIC_VERSION
        headers["accept"] = "text/event-stream" if stream else "application/json"
        if stream:
            body["stream"] = True
    payload = json.dumps(body, separators=(",", ":")).encode()
    if target.kind == "anthropic":
        headers["x-api-key"] = settings.api_key
    else:
        _authorize_aws(target, url, headers, payload)
    return WireRequest(url, headers, payload, stream and url.endswith("-with-response-stream"),
                       resolution.model_id, resolution, getattr(target, "region", None))


def _authorize_aws(target, url, headers, payload):
    """A Bedrock API key as a bearer token, or botocore's SigV4 over exactly these bytes."""
    if target.credentials.uses_bearer_token:
        headers["authorization"] = "Bearer " + target.credentials.sdk_kwargs()["api_key"]
        return
    source = target.__dict__.get("_wire_credentials")
    if source is None:  # one per pooled client: a profile's or role's credentials refresh inside it
        source = target.__dict__["_wire_credentials"] = AwsCredentialSource(target.credentials, target.kind)
    headers.update(signature_headers(source(), SIGNING_SERVICE, target.region, "POST", url, headers.items(), payload))
