"""Bedrock batch inference through boto3: the input JSONL written to S3 (put_object), a model invocation job
(CreateModelInvocationJob) that Bedrock runs with the provider's service role, and its `.out` files read back.

One job runs one model: every request of a batch must resolve to the same Bedrock model ID.
"""
import json
import secrets

from providers.clients.batch import BatchJob, BatchResult, check_limits
from providers.clients.batch_anthropic import prepared_params
from providers.clients.error_mapping import credential_error, from_client_error
from providers.clients.errors import ErrorKind, ProviderError
from providers.clients.usage import Usage

# The IAM actions batch needs: the caller's, and the service role's (which Bedrock assumes).
CALLER_ACTIONS = ("bedrock:CreateModelInvocationJob", "bedrock:GetModelInvocationJob",
                  "bedrock:StopModelInvocationJob", "s3:PutObject", "s3:GetObject", "s3:ListBucket",
                  "iam:PassRole")
ROLE_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:ListBucket")
_STATES = {"Submitted": "in_progress", "Validating": "in_progress", "Scheduled": "in_progress",
           "InProgress": "in_progress", "Stopping": "canceling", "Completed": "ended",
           "PartiallyCompleted": "ended", "Failed": "ended", "Stopped": "ended", "Expired": "ended"}
# What a record that never ran became, by how the job ended.
_UNRUN = {"Stopped": "canceled", "Expired": "expired", "Failed": "errored"}


def split_s3_uri(uri):
    if not uri.startswith("s3://"):
        raise ProviderError(ErrorKind.CONFIGURATION, f"Not an S3 URI: {uri}", provider="bedrock")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class BedrockBatches:
    def __init__(self, client):
        self.client = client
        self.settings = client.settings

    def _aws(self, exc):
        from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

        if isinstance(exc, ProviderError):
            return exc
        if isinstance(exc, (ClientError, EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
            return from_client_error(exc)
        return credential_error(exc, self.settings.aws_profile)

    def _s3(self):
        return self.client.credentials.client("s3", self.settings.s3_endpoint_url)

    def _control(self):
        return self.client._control()

    def check_configured(self):
        missing = [label for label, value in (("S3 bucket for batch", self.settings.batch_s3_bucket),
                                              ("batch service role ARN", self.settings.batch_role_arn)) if not value]
        if missing:
            raise ProviderError(ErrorKind.CONFIGURATION, f"Bedrock batch inference needs the {' and the '.join(missing)} "
                                f"in the settings of provider '{self.settings.name}'.", provider="bedrock",
                                hint="Edit the provider: Batch inference (S3 bucket, prefix, service role).")
        if self.client.credentials.uses_bearer_token:
            raise ProviderError(ErrorKind.UNSUPPORTED, "Bedrock batch inference needs SigV4 credentials (S3 and the "
                                "control plane do not take Bedrock API keys).", provider="bedrock")

    def check_permissions(self):
        """Whether the identity may run batch jobs here, spending nothing: a probe object written to and read
        from the bucket (s3:PutObject, s3:GetObject), a listing (s3:ListBucket), a job lookup that cannot exist
        (bedrock:GetModelInvocationJob) and a create whose job name is invalid (Bedrock authorizes
        bedrock:CreateModelInvocationJob and iam:PassRole on the role before it validates the name)."""
        from providers.clients.base import PermissionCheck

        settings, checks = self.settings, []
        bucket = settings.batch_s3_bucket
        prefix = (settings.batch_s3_prefix or "").strip("/")
        key = f"{prefix}/.moments-permission-check" if prefix else ".moments-permission-check"
        s3 = self._s3()
        probes = (("s3:PutObject", f"arn:aws:s3:::{bucket}/{key}",
                   lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"moments-admin batch permission check")),
                  ("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", lambda: s3.get_object(Bucket=bucket, Key=key)),
                  ("s3:ListBucket", f"arn:aws:s3:::{bucket}",
                   lambda: s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)),
                  ("bedrock:GetModelInvocationJob", "*",
                   lambda: self._control().get_model_invocation_job(jobIdentifier="moments-permission-check")),
                  ("bedrock:CreateModelInvocationJob", "*", lambda: self._control().create_model_invocation_job(
                      jobName="-invalid name-", roleArn=settings.batch_role_arn, modelId="anthropic.claude",
                      inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/{key}"}},
                      outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/{prefix}/"}})))
        for action, resource, probe in probes:
            try:
                probe()
            except Exception as exc:
                error = self._aws(exc)
                if error.kind in (ErrorKind.PERMISSION, ErrorKind.AUTHENTICATION):
                    missing = error.missing_action or ("iam:PassRole" if "PassRole" in error.message else action)
                    checks.append(PermissionCheck(missing, resource, False, error.raw_message or error.message))
                    continue
                if error.kind not in (ErrorKind.INVALID_REQUEST, ErrorKind.MODEL_NOT_AVAILABLE):
                    raise error from exc
            checks.append(PermissionCheck(action, resource, True))
        return checks

    def submit(self, items, name=""):
        self.check_configured()
        records, models, adaptations = [], {}, {}
        for item in items:
            params, _headers, model_id, changes = prepared_params(self.client, item)
            params.pop("model", None)
            models.setdefault(model_id, item.custom_id)
            if changes:
                adaptations[item.custom_id] = changes
            records.append({"recordId": item.custom_id, "modelInput": params})
        if len(models) > 1:
            listed = ", ".join(f"{m} (first: {c})" for m, c in models.items())
            raise ProviderError(ErrorKind.INVALID_REQUEST, f"A Bedrock batch job runs one model; this batch uses "
                                f"{len(models)}: {listed}.", hint="Split the file by model.")
        body = "\n".join(json.dumps(record) for record in records).encode() + b"\n"
        check_limits("bedrock", len(records), len(body))
        model_id = next(iter(models))
        job_name = f"moments-{(name or 'batch')[:20]}-{secrets.token_hex(4)}".replace("_", "-")
        prefix = (self.settings.batch_s3_prefix or "").strip("/")
        base = f"{prefix}/{job_name}" if prefix else job_name
        bucket = self.settings.batch_s3_bucket
        try:
            self._s3().put_object(Bucket=bucket, Key=f"{base}/input.jsonl", Body=body,
                                  ContentType="application/jsonl")
            answer = self._control().create_model_invocation_job(
                jobName=job_name, roleArn=self.settings.batch_role_arn, modelId=model_id,
                inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/{base}/input.jsonl",
                                                       "s3InputFormat": "JSONL"}},
                outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/{base}/output/"}})
        except ProviderError:
            raise
        except Exception as exc:
            raise self._aws(exc) from exc
        return BatchJob(answer["jobArn"], "in_progress", {"processing": len(records)}, "Submitted",
                        model_id=model_id, adaptations=adaptations)

    def _get(self, job_arn):
        try:
            return self._control().get_model_invocation_job(jobIdentifier=job_arn)
        except Exception as exc:
            raise self._aws(exc) from exc

    def status(self, job_arn):
        return _job(self._get(job_arn))

    def cancel(self, job_arn):
        try:
            self._control().stop_model_invocation_job(jobIdentifier=job_arn)
        except Exception as exc:
            raise self._aws(exc) from exc
        return self.status(job_arn)

    def results(self, job_arn):
        """BatchResults for every record: those Bedrock processed from its `.out` files, the others
        (a stopped, expired or failed job) as canceled, expired or errored."""
        job = self._get(job_arn)
        input_bucket, input_key = split_s3_uri(job["inputDataConfig"]["s3InputDataConfig"]["s3Uri"])
        out_bucket, out_prefix = split_s3_uri(job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"])
        job_id = job_arn.rsplit("/", 1)[-1]
        s3 = self._s3()
        seen = set()
        try:
            listing = s3.list_objects_v2(Bucket=out_bucket, Prefix=f"{out_prefix}{job_id}/")
            for entry in listing.get("Contents", []):
                if not entry["Key"].endswith(".jsonl.out"):
                    continue
                text = s3.get_object(Bucket=out_bucket, Key=entry["Key"])["Body"].read().decode()
                for line in text.splitlines():
                    if line.strip():
                        result = _result(json.loads(line), job.get("modelId", ""))
                        seen.add(result.custom_id)
                        yield result
            unrun = _UNRUN.get(job["status"])
            if unrun is None:
                return
            text = s3.get_object(Bucket=input_bucket, Key=input_key)["Body"].read().decode()
        except ProviderError:
            raise
        except Exception as exc:
            raise self._aws(exc) from exc
        for line in text.splitlines():
            if line.strip():
                record_id = json.loads(line).get("recordId")
                if record_id not in seen:
                    error = ({"type": "api_error", "message": job.get("message") or "The job failed."}
                             if unrun == "errored" else None)
                    yield BatchResult(record_id, unrun, error=error)


def _job(answer):
    status = answer.get("status", "")
    total = answer.get("totalRecordCount") or 0
    processed = answer.get("processedRecordCount") or 0
    succeeded, errored = answer.get("successRecordCount") or 0, answer.get("errorRecordCount") or 0
    counts = {"processing": max(total - processed, 0), "succeeded": succeeded, "errored": errored,
              "canceled": 0, "expired": 0}
    unrun = _UNRUN.get(status)
    if unrun:
        counts[unrun] += counts["processing"]
        counts["processing"] = 0
    return BatchJob(answer["jobArn"], _STATES.get(status, "in_progress"), counts, status,
                    message=answer.get("message") or "", model_id=answer.get("modelId", ""))


def _result(line, model_id):
    record_id = line.get("recordId", "")
    if "modelOutput" in line and not line.get("error"):
        message = line["modelOutput"]
        return BatchResult(record_id, "succeeded", message=message, usage=Usage.from_anthropic(message.get("usage")),
                           model_id=model_id)
    error = line.get("error") or {}
    code = error.get("errorCode")
    kind = {400: "invalid_request_error", 403: "permission_error", 429: "rate_limit_error"}.get(code, "api_error")
    return BatchResult(record_id, "errored", error={"type": kind, "message": error.get("errorMessage", "")})
