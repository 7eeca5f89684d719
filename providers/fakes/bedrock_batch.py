"""Bedrock batch inference on FakeBedrock: CreateModelInvocationJob, GetModelInvocationJob,
ListModelInvocationJobs and StopModelInvocationJob, reading input from and writing output to S3.

S3 is a real local S3 (moto's server mode) that the fake reaches through boto3 at `fake.s3_endpoint_url`.
Jobs progress on demand: `fake.jobs.advance(n)` moves Submitted jobs to InProgress and processes the next
n records of each (all without n); a job with nothing left writes `{output}{jobId}/input.jsonl.out` and
`manifest.json.out` and ends Completed (PartiallyCompleted when a record failed). A Stopping job ends
Stopped at its next advance, with the output of the records processed so far. A job with fewer records
than `min_records` (100, Bedrock's default quota) ends Failed. Records are answered as InvokeModel would.
"""

from __future__ import annotations

import datetime
import json
import re
import secrets
import threading
from typing import TYPE_CHECKING

from .aws_errors import AwsError, validation_error
from .bedrock_catalog import CatalogError
from .replies import build_reply, message_json, new_id

if TYPE_CHECKING:
    from .bedrock_call import Call
    from .bedrock_fake import FakeBedrock
    from .exchange import Exchange

ROLE_ARN = re.compile(r"^arn:aws(-[^:]+)?:iam::\d{12}:role/.+$")
JOB_NAME = re.compile(r"^[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9+\-.]){0,63}$")
ENDED = ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired")


def _now():
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


def _split(uri: str) -> tuple[str, str]:
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise validation_error(f"Invalid S3 URI: {uri}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class Jobs:
    def __init__(self, fake: FakeBedrock, min_records: int = 100) -> None:
        self.fake = fake
        self.min_records = min_records
        self.jobs: dict[str, dict] = {}
        self._records: dict[str, list[dict]] = {}
        self._outputs: dict[str, list[dict]] = {}
        self._lock = threading.Lock()

    def s3(self):
        import boto3

        if not self.fake.s3_endpoint_url:
            raise AwsError(500, "InternalServerException", "FakeBedrock has no s3_endpoint_url")
        return boto3.client("s3", endpoint_url=self.fake.s3_endpoint_url, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    # -- progress, on demand ----------------------------------------------------
    def advance(self, n: int | None = None) -> None:
        with self._lock:
            for arn, job in self.jobs.items():
                if job["status"] in ENDED:
                    continue
                records, outputs = self._records[arn], self._outputs[arn]
                if job["status"] == "Stopping":
                    self._finish(job, "Stopped")
                    continue
                if len(records) < self.min_records:
                    job["message"] = (f"The number of records in the input ({len(records)}) is below the minimum "
                                      f"number of records per batch inference job ({self.min_records}).")
                    self._finish(job, "Failed")
                    continue
                job["status"] = "InProgress"
                for record in records[len(outputs):][:n]:
                    outputs.append(self._answer(job, record))
                job["processedRecordCount"] = len(outputs)
                job["successRecordCount"] = sum(1 for o in outputs if "modelOutput" in o)
                job["errorRecordCount"] = len(outputs) - job["successRecordCount"]
                if len(outputs) == len(records):
                    self._finish(job, "PartiallyCompleted" if job["errorRecordCount"] else "Completed")

    def _answer(self, job: dict, record: dict) -> dict:
        from .bedrock_runtime import validate_bedrock_body

        out = {"recordId": record.get("recordId"), "modelInput": record.get("modelInput")}
        try:
            target = self.fake.catalog.parse(job["modelId"], job["region"])
            body = validate_bedrock_body(self.fake, record.get("modelInput"), target.model_id)
        except (AwsError, CatalogError, KeyError) as err:
            out["error"] = {"errorCode": 400, "errorMessage": getattr(err, "message", str(err))}
            return out
        spec = self.fake.anthropic_spec(target.model_id)
        usage = self.fake.cache.account(target.model_id, body)
        out["modelOutput"] = message_json(new_id("msg"), spec.id, build_reply(body, spec.id, "fake Bedrock batch"), usage)
        return out

    def _finish(self, job: dict, status: str) -> None:
        job["status"], job["endTime"] = status, _now()
        outputs = self._outputs[job["jobArn"]]
        bucket, prefix = _split(job["outputDataConfig"]["s3OutputDataConfig"]["s3Uri"])
        if not prefix.endswith("/") and prefix:
            prefix += "/"
        job_id = job["jobArn"].rsplit("/", 1)[-1]
        input_name = job["inputDataConfig"]["s3InputDataConfig"]["s3Uri"].rsplit("/", 1)[-1]
        s3 = self.s3()
        if outputs:
            body = "\n".join(json.dumps(o) for o in outputs) + "\n"
            s3.put_object(Bucket=bucket, Key=f"{prefix}{job_id}/{input_name}.out", Body=body.encode())
        manifest = {"totalRecordCount": len(self._records[job["jobArn"]]), "processedRecordCount": len(outputs),
                    "successRecordCount": job["successRecordCount"], "errorRecordCount": job["errorRecordCount"]}
        s3.put_object(Bucket=bucket, Key=f"{prefix}{job_id}/manifest.json.out", Body=json.dumps(manifest).encode())

    # -- HTTP ---------------------------------------------------------------------
    def create(self, fake: FakeBedrock, ex: Exchange, call: Call) -> None:
        body = ex.json if isinstance(ex.json, dict) else {}
        for key in ("jobName", "roleArn", "modelId", "inputDataConfig", "outputDataConfig"):
            if key not in body:
                raise validation_error(f"1 validation error detected: Value null at '{key}' failed to satisfy "
                                       "constraint: Member must not be null")
        if not ROLE_ARN.match(str(body["roleArn"])):
            raise validation_error(f"The provided role ARN is invalid: {body['roleArn']}")
        if fake.identities.is_denied(call.identity, "iam:PassRole"):
            call.resource = body["roleArn"]
            raise fake.access_denied(call, "iam:PassRole")
        if not JOB_NAME.match(str(body["jobName"])):
            raise validation_error("1 validation error detected: Value at 'jobName' failed to satisfy constraint")
        try:
            target = fake.catalog.parse(body["modelId"], call.region)
        except CatalogError as err:
            raise validation_error(str(err)) from None
        if not fake.catalog.available(target.model_id, call.region):
            raise validation_error("The provided model identifier is invalid.")
        input_uri = (body["inputDataConfig"].get("s3InputDataConfig") or {}).get("s3Uri")
        bucket, key = _split(input_uri)
        _split((body["outputDataConfig"].get("s3OutputDataConfig") or {}).get("s3Uri"))
        try:
            text = self.s3().get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        except Exception:
            raise validation_error(f"Unable to read the input data at {input_uri}. Check that the object "
                                   "exists and that the service role can read it.") from None
        try:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            raise validation_error("The input file is not valid JSONL.") from None
        arn = f"arn:aws:bedrock:{call.region}:{fake.account_id}:model-invocation-job/{secrets.token_hex(6)}"
        job = {"jobArn": arn, "jobName": body["jobName"], "modelId": body["modelId"], "roleArn": body["roleArn"],
               "status": "Submitted", "submitTime": _now(), "lastModifiedTime": _now(),
               "inputDataConfig": body["inputDataConfig"], "outputDataConfig": body["outputDataConfig"],
               "totalRecordCount": len(records), "processedRecordCount": 0, "successRecordCount": 0,
               "errorRecordCount": 0, "region": call.region}
        with self._lock:
            self.jobs[arn], self._records[arn], self._outputs[arn] = job, records, []
        ex.send_json(200, {"jobArn": arn}, {"x-amzn-RequestId": ex.request_id})

    def find(self, identifier: str) -> dict:
        for arn, job in self.jobs.items():
            if identifier in (arn, arn.rsplit("/", 1)[-1]):
                return job
        raise AwsError(404, "ResourceNotFoundException", f"The specified job {identifier} does not exist.")

    @staticmethod
    def view(job: dict) -> dict:
        return {k: v for k, v in job.items() if k != "region"}

    def get(self, fake: FakeBedrock, ex: Exchange, call: Call) -> None:
        ex.send_json(200, self.view(self.find(call.resource_id)), {"x-amzn-RequestId": ex.request_id})

    def list(self, fake: FakeBedrock, ex: Exchange, call: Call) -> None:
        status = ex.query_one("statusEquals")
        jobs = [self.view(j) for j in self.jobs.values() if not status or j["status"] == status]
        ex.send_json(200, {"invocationJobSummaries": jobs}, {"x-amzn-RequestId": ex.request_id})

    def stop(self, fake: FakeBedrock, ex: Exchange, call: Call) -> None:
        with self._lock:
            job = self.find(call.resource_id)
            if job["status"] in ENDED or job["status"] == "Stopping":
                raise validation_error(f"The job is already {job['status']} and cannot be stopped.")
            job["status"] = "Stopping"
        ex.send_json(200, {}, {"x-amzn-RequestId": ex.request_id})
