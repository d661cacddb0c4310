"""Answer a pending approval, as a caller IAM has authenticated: ``bedrock-customize approve|reject``.

Invoked through a Lambda function URL with ``AuthType: AWS_IAM``: Lambda checks the SigV4
signature and the caller's permission (``lambda:InvokeFunctionUrl`` and ``lambda:InvokeFunction``,
granted to the stack's approver role) before this runs, and hands over the verified identity in
``requestContext.authorizer.iam``. That ARN, not a name someone typed, is recorded as the approver.

Request body ``{"runId", "decision": "approve"|"reject", "reason"}`` → HTTP 200
``{"runId", "stage", "approved", "approver", "reason", "answeredAt"}``; 400 for a malformed
request (with what is wrong), 403 without a verified caller, 404 when nothing waits for an answer,
409 when the run no longer waits (answered, timed out, stopped).

The task token is read from approvals/<runId>.json (written by lambdas/approval_request, readable
by this function only) and deleted once used; the decision is kept for the audit trail at
runs/<runId>/approval-decision-<stage>.json.

Calls: s3:GetObject and s3:DeleteObject under approvals/, s3:PutObject under runs/,
states:SendTaskSuccess.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Final

from lambdas.common import runtime

LOG = runtime.get_logger(__name__)
APPROVALS_PREFIX: Final = "approvals/"
DECISIONS: Final = ("approve", "reject")
MAX_REASON: Final = 1000
_RUN_ID: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
# The task no longer waits: answered already, timed out, or the execution ended.
_NOT_WAITING: Final = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
_MISSING: Final = frozenset({"NoSuchKey", "404", "NotFound", "403", "AccessDenied"})


class AnswerError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def verified_caller(event: dict[str, Any]) -> str:
    """The caller's ARN as Lambda verified it (never taken from the request body)."""
    iam = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
    arn = iam.get("userArn")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise AnswerError(
            403, "no verified caller: call through the function URL with IAM (SigV4) credentials"
        )
    return arn


def parse_body(event: dict[str, Any]) -> tuple[str, bool, str]:
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "POST")
    if method != "POST":
        raise AnswerError(400, f"use POST, not {method}")
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise AnswerError(400, f"the body is not JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(body, dict):
        raise AnswerError(400, 'the body must be a JSON object {"runId", "decision", "reason"}')
    unknown = sorted(set(body) - {"runId", "decision", "reason"})
    if unknown:
        raise AnswerError(400, f"unknown field(s) {', '.join(unknown)}; allowed: runId, decision, reason")
    run_id, decision, reason = body.get("runId"), body.get("decision"), body.get("reason", "")
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise AnswerError(400, f"runId={run_id!r} is not a run id (lowercase letters, digits and '-')")
    if decision not in DECISIONS:
        raise AnswerError(400, f"decision={decision!r} must be one of {', '.join(DECISIONS)}")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise AnswerError(400, f"reason must be a string of at most {MAX_REASON} characters")
    if decision == "reject" and not reason.strip():
        raise AnswerError(400, "a rejection needs a reason")
    return run_id, decision == "approve", reason.strip()


def answer(event: dict[str, Any], bucket: str) -> dict[str, Any]:
    approver = verified_caller(event)
    run_id, approved, reason = parse_body(event)
    key = f"{APPROVALS_PREFIX}{run_id}.json"
    try:
        pending = runtime.get_json(bucket, key)
    except Exception as error:
        if runtime.error_code(error) in _MISSING:
            raise AnswerError(404, f"no approval is pending for run {run_id}") from None
        raise
    stage = str(pending.get("stage") or "serving")
    answered_at = runtime.utc_now()
    output = {
        "approved": approved,
        "approver": approver,
        "reason": reason or ("approved" if approved else ""),
        "stage": stage,
        "verified": True,
        "answeredAt": answered_at,
    }
    try:
        runtime.client("stepfunctions").send_task_success(
            taskToken=pending["taskToken"], output=json.dumps(output)
        )
    except Exception as error:
        code = runtime.error_code(error)
        if code not in _NOT_WAITING:
            raise
        runtime.client("s3").delete_object(Bucket=bucket, Key=key)
        raise AnswerError(409, f"run {run_id} no longer waits for this answer ({code})") from None
    runtime.client("s3").delete_object(Bucket=bucket, Key=key)
    decision_uri = runtime.put_json(
        bucket, f"runs/{run_id}/approval-decision-{stage}.json", {"runId": run_id, **output}
    )
    return {"runId": run_id, **output, "decisionUri": decision_uri}


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = runtime.require_env("TRAINING_BUCKET")
    try:
        result = answer(event, bucket)
    except AnswerError as error:
        LOG.info("approval answer refused", extra={"status": error.status, "reason": str(error)})
        return response(error.status, {"error": str(error)})
    LOG.info("approval answered", extra=result)
    return response(200, result)
