"""SigV4 for an SDK client that has none of its own: an httpx2 ``Auth`` that signs with botocore.

The anthropic SDK's ``Anthropic`` client speaks the Messages API but knows nothing of AWS; Bedrock's
``/anthropic`` path on bedrock-runtime wants SigV4. botocore's ``SigV4Auth`` signs each request as
the SDK finally sends it (httpx runs auth last, after every header is set), so nothing here
re-implements the algorithm and no SDK hook is touched.
"""
import ssl

import anthropic
import httpx2
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from providers.clients.errors import ErrorKind, ProviderError

# Never signed: hop-by-hop, or replaced by the signature itself.
UNSIGNED_HEADERS = frozenset({"connection", "authorization", "x-api-key", "x-amz-date", "x-amz-security-token"})
SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


class AwsCredentialSource:
    """botocore credentials for one provider, resolved per request so assumed roles and SSO refresh."""

    def __init__(self, aws_credentials, provider="bedrock"):
        self._aws = aws_credentials
        self._provider = provider
        self._session_credentials = None

    def __call__(self):
        kwargs = self._aws.sdk_kwargs()
        if kwargs.get("aws_access_key"):
            return Credentials(kwargs["aws_access_key"], kwargs["aws_secret_key"], kwargs.get("aws_session_token"))
        if self._session_credentials is None:
            # Profile or default chain: botocore's own (refreshing) credentials, looked up once.
            found = self._aws.boto3_session().get_credentials()
            if found is None:
                raise ProviderError(ErrorKind.AUTHENTICATION, "No AWS credentials were found.",
                                    provider=self._provider,
                                    hint="Configure the default credential chain or choose another auth mode.")
            self._session_credentials = found
        return self._session_credentials.get_frozen_credentials()


class BotocoreSigV4Auth(httpx2.Auth):
    requires_request_body = True  # the payload hash is part of the signature

    def __init__(self, credential_source, service, region):
        self.credential_source = credential_source
        self.service = service
        self.region = region

    def auth_flow(self, request):
        signature = signature_headers(self.credential_source(), self.service, self.region, request.method,
                                      str(request.url), request.headers.items(), request.content)
        for name in ("x-api-key", *SIGNATURE_HEADERS):
            request.headers.pop(name, None)
        request.headers.update(signature)
        yield request


def signature_headers(credentials, service, region, method, url, headers, body):
    """botocore's SigV4 over a request as it will be sent: the headers that carry the signature."""
    signed = {name: value for name, value in headers if name.lower() not in UNSIGNED_HEADERS}
    aws_request = AWSRequest(method=method, url=url, headers=signed, data=body)
    SigV4Auth(credentials, service, region).add_auth(aws_request)
    return {name: aws_request.headers[name] for name in SIGNATURE_HEADERS if aws_request.headers.get(name)}


def signing_auth(aws_credentials, service, region, provider):
    """SigV4 for ``service`` with the provider's own credentials, resolved once now so a missing
    credential is a clear error at client creation rather than a connection failure mid-request."""
    source = AwsCredentialSource(aws_credentials, provider)
    source()
    return BotocoreSigV4Auth(source, service, region)


def sdk_http_client(settings, auth=None):
    """The SDK's default HTTP client with the provider's TLS setting (a CA bundle path becomes a context)."""
    verify = settings.verify
    if isinstance(verify, str):
        verify = ssl.create_default_context(cafile=verify)
    return anthropic.DefaultHttpxClient(verify=verify, auth=auth)
