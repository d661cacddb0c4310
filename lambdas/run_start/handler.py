"""Start a run as a caller AWS has verified, and record who started it: ``bedrock-customize start``.

Invoked through a Lambda function URL with ``AuthType: AWS_IAM``. The caller is the one STS names
for the identity proof in the body (lambdas.common.caller_proof), and it must be the caller the URL
authenticated. This function then starts the execution itself (``states:StartExecution``: the run
id is the execution name, the input is passed unchanged) and writes the starter record
``starters/<runId>.json``, under a prefix that a bucket policy lets no other principal write or
delete. The approval functions read it to refuse self-approval (pipeline.approval_records).

Request body ``{"runId", "input", "proof"}`` (``input``: the execution input as JSON text, an object
with ``runSpec``; ``proof``: a signed GetCallerIdentity bound to the run id and the input's
SHA-256) -> HTTP 200 ``{"runId", "executionArn", "startDate", "started", "starter"}``. ``started``
is false when the same execution was already running (StartExecution with the same name and input
is idempotent): the first starter stays on record. 400 malformed, 403 caller not verified, 409 a
run of that id exists with another input or has ended (ExecutionAlreadyExists).

Calls: sts:GetCallerIdentity (with the caller's signature), states:StartExecution,
s3:GetObject and s3:PutObject of starters/<runId>.json.
"""

from __future__ import annotations

import json
from typing import Any, Final

from lambdas.common import caller_proof, runtime
from lambdas.common.function_url import UrlError, json_body, response
from pipeline import approval_records

LOG = runtime.get_logger(__name__)
FIELDS: Final = ("runId", "input", "proof")
_MISSING: Final = approval_records.ABSENT


def parse(event: dict[str, Any]) -> tuple[str, str, Any]:
    body = json_body(event, FIELDS)
    run_id, text = body.get("runId"), body.get("input")
    if not isinstance(run_id, str) or not approval_records.RUN_ID.fullmatch(run_id):
        raise UrlError(400, f"runId={run_id!r} is not a run id (lowercase letters, digits and '-', 1-80)")
    if not isinstance(text, str):
        raise UrlError(400, 'input must be the execution input as JSON text: {"runSpec": {...}}')
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise UrlError(400, f"input is not JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(document, dict) or not isinstance(document.get("runSpec"), dict):
        raise UrlError(400, 'input must be a JSON object with a "runSpec" object')
    return run_id, text, body.get("proof")


def existing_record(bucket: str, run_id: str) -> Any:
    try:
        return runtime.get_json(bucket, approval_records.starter_key(run_id))
    except Exception as error:
        if runtime.error_code(error) in _MISSING:
            return None
        raise


def start(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = runtime.require_env("TRAINING_BUCKET")
    machine = runtime.require_env("STATE_MACHINE_ARN")
    region = runtime.region() or machine.split(":")[3]
    run_id, text, proof = parse(event)
    try:
        starter = caller_proof.verified_principal(
            event,
            proof,
            region=region,
            binding=approval_records.start_binding(bucket, run_id, text),
            account=caller_proof.function_account(context),
        )
    except caller_proof.ProofRefusedError as error:
        raise UrlError(403, f"caller not verified: {error}") from None
    try:
        started = runtime.client("stepfunctions").start_execution(
            stateMachineArn=machine, name=run_id, input=text
        )
    except Exception as error:
        if runtime.error_code(error) == "ExecutionAlreadyExists":
            raise UrlError(
                409,
                f"run {run_id} already exists with another input or has ended (ExecutionAlreadyExists)",
            ) from None
        raise
    execution_arn = str(started["executionArn"])
    start_date = runtime.iso_utc(started["startDate"]) or runtime.utc_now()
    exact = started["startDate"]
    execution_start = exact.isoformat() if hasattr(exact, "isoformat") else str(exact)
    recorded = approval_records.starter_of(
        existing_record(bucket, run_id), execution_arn=execution_arn, execution_start=execution_start
    )
    if recorded is not None:
        # The same execution, started again with the same input: its first starter stays on record.
        return {
            "runId": run_id,
            "executionArn": execution_arn,
            "startDate": start_date,
            "started": False,
            "starter": recorded.to_dict(),
        }
    runtime.put_json(
        bucket,
        approval_records.starter_key(run_id),
        {
            "runId": run_id,
            "executionArn": execution_arn,
            "executionStart": execution_start,
            "starter": starter.to_dict(),
            "recordedAt": runtime.utc_now(),
            "via": "the pipeline's start function (identity verified by STS)",
        },
    )
    return {
        "runId": run_id,
        "executionArn": execution_arn,
        "startDate": start_date,
        "started": True,
        "starter": starter.to_dict(),
    }


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        result = start(event, context)
    except UrlError as error:
        LOG.info("start refused", extra={"status": error.status, "reason": str(error)})
        return response(error.status, {"error": str(error)})
    LOG.info(
        "run started",
        extra={k: v for k, v in result.items() if k != "starter"} | {"starter": result["starter"]["arn"]},
    )
    return response(200, result)
