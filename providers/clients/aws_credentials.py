"""AWS credentials for each Bedrock auth mode, resolved in one place.

Produces the keyword arguments for anthropic.AnthropicBedrock and a boto3
Session for the control plane and STS. Assumed-role credentials are cached per
process and refreshed five minutes before they expire.
"""
import datetime as dt
import hashlib
import os
import threading

from providers.clients.error_mapping import credential_error
from providers.clients.errors import ErrorKind, ProviderError

REFRESH_MARGIN = dt.timedelta(minutes=5)
_assumed = {}
_assumed_lock = threading.Lock()


class AwsCredentials:
    def __init__(self, settings):
        self.settings = settings
        self.mode = settings.auth_mode
        self.expires_at = None

    @property
    def uses_bearer_token(self):
        return self.mode == "api_key"

    def sdk_kwargs(self):
        """Credentials for anthropic.AnthropicBedrock."""
        if self.mode == "api_key":
            if not self.settings.bedrock_api_key:
                raise ProviderError(ErrorKind.CONFIGURATION, "No Bedrock API key is configured.", provider="bedrock")
            return {"api_key": self.settings.bedrock_api_key}
        if self.settings.role_arn:
            return self._assumed_role_keys()
        return self._base_kwargs()

    def _base_kwargs(self):
        s = self.settings
        if self.mode == "static_keys":
            if not (s.aws_access_key_id and s.aws_secret_access_key):
                raise ProviderError(ErrorKind.CONFIGURATION, "Static keys need an access key ID and a secret.",
                                    provider="bedrock")
            return {"aws_access_key": s.aws_access_key_id, "aws_secret_key": s.aws_secret_access_key,
                    "aws_session_token": s.aws_session_token or None}
        if self.mode == "env":
            key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
            if not (key and secret):
                raise ProviderError(ErrorKind.CONFIGURATION,
                                    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set.",
                                    provider="bedrock")
            return {"aws_access_key": key, "aws_secret_key": secret,
                    "aws_session_token": os.environ.get("AWS_SESSION_TOKEN") or None}
        if self.mode == "profile":
            if not s.aws_profile:
                raise ProviderError(ErrorKind.CONFIGURATION, "Choose an AWS profile.", provider="bedrock")
            return {"aws_profile": s.aws_profile}
        return {}  # default_chain: botocore's own order (env, profile, SSO, container, instance)

    def _ambient_keys(self):
        return tuple(os.environ.get(n) for n in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")) \
            if self.mode == "env" else ()

    def boto3_session(self):
        """A boto3 Session with these credentials, for the control plane and STS."""
        import boto3

        if self.mode == "api_key":
            raise ProviderError(ErrorKind.UNSUPPORTED,
                                "AWS API calls other than model invocation need SigV4 credentials, not an API key.",
                                provider="bedrock")
        kwargs = self._assumed_role_keys() if self.settings.role_arn else self._base_kwargs()
        try:
            return boto3.Session(
                aws_access_key_id=kwargs.get("aws_access_key"),
                aws_secret_access_key=kwargs.get("aws_secret_key"),
                aws_session_token=kwargs.get("aws_session_token"),
                profile_name=kwargs.get("aws_profile"),
                region_name=self.settings.aws_region,
            )
        except Exception as exc:
            raise credential_error(exc, self.settings.aws_profile) from exc

    def client(self, service, endpoint_url=None):
        from botocore.config import Config

        # SigV4 said in code: botocore otherwise prefers an ambient AWS_BEARER_TOKEN_BEDROCK.
        config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=10,
                        read_timeout=self.settings.timeout, signature_version="v4")
        session = self.boto3_session()
        try:  # boto3 resolves credentials (profile, SSO, credential_process) while building the client
            return session.client(service, endpoint_url=endpoint_url, verify=self.settings.verify, config=config)
        except Exception as exc:
            raise credential_error(exc, self.settings.aws_profile) from exc

    def _assumed_role_keys(self):
        s = self.settings
        # Keyed by everything that changes the answer (a mistyped base secret must not reuse a role
        # assumed with the right one); the digest keeps secrets out of the key.
        cache_key = hashlib.sha256(repr((
            s.role_arn, s.external_id, s.role_session_name, s.role_duration_seconds, s.auth_mode, s.aws_profile,
            s.aws_access_key_id, s.aws_secret_access_key, s.aws_session_token, s.sts_endpoint_url, s.aws_region,
            s.verify, self._ambient_keys())).encode()).hexdigest()
        with _assumed_lock:
            cached = _assumed.get(cache_key)
            if cached and cached["expires_at"] - REFRESH_MARGIN > dt.datetime.now(dt.UTC):
                self.expires_at = cached["expires_at"]
                return cached["kwargs"]
        base = AwsCredentials(_without_role(s))
        params = {"RoleArn": s.role_arn, "RoleSessionName": s.role_session_name or "moments-admin",
                  "DurationSeconds": s.role_duration_seconds}
        if s.external_id:
            params["ExternalId"] = s.external_id
        try:
            answer = base.client("sts", s.sts_endpoint_url).assume_role(**params)
        except ProviderError:
            raise
        except Exception as exc:
            raise credential_error(exc, s.aws_profile) from exc
        creds = answer["Credentials"]
        kwargs = {"aws_access_key": creds["AccessKeyId"], "aws_secret_key": creds["SecretAccessKey"],
                  "aws_session_token": creds["SessionToken"]}
        with _assumed_lock:
            _assumed[cache_key] = {"kwargs": kwargs, "expires_at": creds["Expiration"]}
        self.expires_at = creds["Expiration"]
        return kwargs


def _without_role(settings):
    from dataclasses import replace

    return replace(settings, role_arn=None)
