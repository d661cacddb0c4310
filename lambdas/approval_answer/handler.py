"""Answer a pending approval as the pipeline's approver role, for a verified, distinct person:
``bedrock-customize approve|reject``.

Invoked through a Lambda function URL with ``AuthType: AWS_IAM``; the approver role may invoke it
only through the URL (``lambda:InvokeFunction`` with ``lambda:InvokedViaFunctionUrl``). Who calls
is what STS says about the identity proof in the body (lambdas.common.caller_proof), and the URL's
IAM caller must be the same. Only a session of the stack's approver role is accepted (role name
and role id: ``APPROVER_ROLE_ARN``, ``APPROVER_ROLE_ID``); its session name is the approver, because
the role's trust binds it to the source identity and that to the caller's IAM user name.

Request body ``{"runId", "requestId", "decision": "approve"|"reject", "reason", "proof"}`` -> HTTP
200 ``{"runId", "requestId", "stage", "approved", "approver", "reason", "answeredAt",
"decisionUri"}``. 400 malformed, 403 caller not verified / not the approver role / self-approval
(``ALLOW_SELF_APPROVAL`` unset: the run's starter, or a run without a starter record, may not
approve; either may reject), 404 nothing pending, 409 a stale or foreign request id, an answer
already recorded with another decision, or a run that no longer waits.

The decision of record goes to ``decisions/<runId>/<requestId>.json`` first (written once: an
``If-None-Match`` put; a bucket policy lets no other principal write or delete there), then the
task token waiting in ``approvals/<runId>.json`` is answered. The workflow decides by the record,
not by the answer (lambdas/approval_verify), so a SendTaskSuccess sent by hand buys nothing.

Calls: sts:GetCallerIdentity (with the caller's signature), s3:GetObject and s3:DeleteObject under
approvals/, s3:GetObject and s3:PutObject under decisions/, s3:GetObject under starters/,
s3:PutObject under runs/, states:SendTaskSuccess.
"""

from __future__ import annotations

import json
import os
from typing import Any, Final

from lambdas.common import caller_proof, runtime
from lambdas.common.function_url import UrlError, json_body, response
from pipeline import approval_records

LOG = runtime.get_logger(__name__)
FIELDS: Final = ("runId", "requestId", "decision", "reason", "proof")
MAX_REASON: Final = 1000
# The task no longer waits: answered already, timed out, or the execution ended.
_NOT_WAITING: Final = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})
_MISSING: Final = approval_records.ABSENT
_WRITTEN_ALREADY: Final = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict"})


def allow_self_approval() -> bool:
    return os.environ.get("ALLOW_SELF_APPROVAL", "").strip().lower() == "true"


def parse(event: dict[str, Any]) -> tuple[str, str, str, str, Any]:
    body = json_body(event, FIELDS)
    run_id, request, decision = body.get("runId"), body.get("requestId"), body.get("decision")
    reason = body.get("reason", "")
    if not isinstance(run_id, str) or not approval_records.RUN_ID.fullmatch(run_id):
        raise UrlError(400, f"runId={run_id!r} is not a run id (lowercase letters, digits and '-')")
    if not isinstance(request, str) or not approval_records.REQUEST_ID.fullmatch(request):
        raise UrlError(
            400,
            f"requestId={request!r} is not an approval request id (<stage>-<20 hex>); it is in the run's "
            "approval request (runs/<runId>/approval-request.json)",
        )
    if decision not in approval_records.DECISIONS:
        raise UrlError(400, f"decision={decision!r} must be one of {', '.join(approval_records.DECISIONS)}")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        raise UrlError(400, f"reason must be a string of at most {MAX_REASON} characters")
    if decision == "reject" and not reason.strip():
        raise UrlError(400, "a rejection needs a reason")
    return run_id, request, str(decision), reason, body.get("proof")


def read(bucket: str, key: str) -> Any:
    try:
        return runtime.get_json(bucket, key)
    except Exception as error:
        if runtime.error_code(error) in _MISSING:
            return None
        raise


def approver_of(event: dict[str, Any], context: Any, proof: Any, binding: str) -> approval_records.Principal:
    """The verified person answering, who must be a session of the stack's approver role."""
    region = runtime.region() or ""
    try:
        caller = caller_proof.verified_principal(
            event, proof, region=region, binding=binding, account=caller_proof.function_account(context)
        )
    except caller_proof.ProofRefusedError as error:
        raise UrlError(403, f"caller not verified: {error}") from None
    role_arn = os.environ.get("APPROVER_ROLE_ARN", "")
    if caller.kind != "assumed-role" or not caller.bound:
        raise UrlError(
            403,
            f"{caller.arn} is not a session of this pipeline's approver role; assume {role_arn or 'it'} "
            "with your IAM user name as source identity and session name (`bedrock-customize approve` "
            "does) and answer again",
        )
    return caller


def answer(event: dict[str, Any], context: Any, bucket: str) -> dict[str, Any]:
    run_id, request, decision, reason, proof = parse(event)
    reason = reason.strip()
    binding = approval_records.answer_binding(bucket, run_id, request, decision, reason)
    approver = approver_of(event, context, proof, binding)
    pending = read(bucket, approval_records.pending_key(run_id))
    if not isinstance(pending, dict):
        raise UrlError(404, f"no approval is pending for run {run_id}")
    if pending.get("requestId") != request:
        raise UrlError(
            409,
            f"request {request} is not the one run {run_id} waits for ({pending.get('requestId')}): "
            "a stale or foreign answer; read the run's current request and answer that",
        )
    stage = str(pending.get("stage") or "serving")
    execution_arn = str(pending.get("executionArn") or "")
    starter = approval_records.starter_of(
        read(bucket, approval_records.starter_key(run_id)),
        execution_arn=execution_arn,
        execution_start=str(pending.get("executionStart") or ""),
    )
    approved = decision == "approve"
    if approved:
        refusal = approval_records.self_approval_refusal(
            starter, approver.name, allowed=allow_self_approval()
        )
        if refusal is not None:
            raise UrlError(403, f"approval refused: {refusal}")
    answered_at = runtime.utc_now()
    key = approval_records.decision_key(run_id, request)
    record = {
        "runId": run_id,
        "requestId": request,
        "stage": stage,
        "executionArn": execution_arn,
        "executionStart": pending.get("executionStart"),
        "decision": decision,
        "approved": approved,
        "approver": approver.name,
        "approverIdentity": approver.to_dict(),
        "reason": reason or ("approved" if approved else ""),
        "starter": starter.to_dict() if starter is not None else None,
        "selfApprovalAllowed": allow_self_approval(),
        "answeredAt": answered_at,
    }
    record = write_once(bucket, key, record)
    output = {
        "approved": record["approved"],
        "approver": record["approver"],
        "reason": record["reason"],
        "stage": stage,
        "requestId": request,
        "decisionKey": key,
        "answeredAt": record["answeredAt"],
    }
    try:
        runtime.client("stepfunctions").send_task_success(
            taskToken=pending["taskToken"], output=json.dumps(output)
        )
    except Exception as error:
        code = runtime.error_code(error)
        if code not in _NOT_WAITING:
            raise
        runtime.client("s3").delete_object(Bucket=bucket, Key=approval_records.pending_key(run_id))
        raise UrlError(409, f"run {run_id} no longer waits for this answer ({code})") from None
    runtime.client("s3").delete_object(Bucket=bucket, Key=approval_records.pending_key(run_id))
    # The people-facing copy next to the run's other documents (the record above is the one that counts).
    runtime.put_json(
        bucket, f"runs/{run_id}/approval-decision-{stage}.json", {"runId": run_id, **output, "verified": True}
    )
    return {"runId": run_id, **output, "decisionUri": runtime.s3_uri(bucket, key)}


def write_once(bucket: str, key: str, record: dict[str, Any]) -> dict[str, Any]:
    """Put the decision unless one is there; the same decision again (a retried answer) is fine."""
    body = json.dumps(record, indent=2, ensure_ascii=False).encode("utf-8")
    try:
        runtime.client("s3").put_object(
            Bucket=bucket, Key=key, Body=body, ContentType="application/json", IfNoneMatch="*"
        )
        return record
    except Exception as error:
        if runtime.error_code(error) not in _WRITTEN_ALREADY:
            raise
    existing = read(bucket, key)
    if (
        isinstance(existing, dict)
        and existing.get("decision") == record["decision"]
        and approval_records.same_person(str(existing.get("approver", "")), record["approver"])
    ):
        return existing
    who = existing.get("approver") if isinstance(existing, dict) else "someone"
    what = existing.get("decision") if isinstance(existing, dict) else "a decision"
    raise UrlError(409, f"request {record['requestId']} was already answered: {what} by {who}")


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = runtime.require_env("TRAINING_BUCKET")
    try:
        result = answer(event, context, bucket)
    except UrlError as error:
        LOG.info("approval answer refused", extra={"status": error.status, "reason": str(error)})
        return response(error.status, {"error": str(error)})
    LOG.info("approval answered", extra=result)
    return response(200, result)
