"""Check an approval answer against the decision of record, after the workflow's wait ends.

Whoever holds an approval's task token (it is in the execution history's TaskScheduled event) can
call SendTaskSuccess with any answer. So the workflow does not act on the answer: this step reads
the decision the approval-answer function wrote under ``decisions/`` (a prefix no other principal
may write) for the request the workflow itself asked (its id derives from the execution and the
stage: pipeline.approval_records.request_id) and returns that decision. No matching record, or one
that names another run, request, stage or execution, is ``verified: false``, which the workflow
treats as a rejection (``ApprovalNotVerified``); an approval by the run's starter is refused again
here unless ``ALLOW_SELF_APPROVAL`` is set.

Event ``{"runId", "executionArn", "executionStart", "stage", "answer"}`` -> ``{"verified", "approved",
"approver", "reason", "stage", "requestId", "answeredAt", "decisionUri", "starter"}``; ``reason`` says
why when ``verified`` is false (``approved`` is then false too).

Calls: s3:GetObject of decisions/<runId>/<requestId>.json and starters/<runId>.json.
"""

from __future__ import annotations

import os
from typing import Any, Final

from lambdas.common import runtime
from pipeline import approval_records

LOG = runtime.get_logger(__name__)
_MISSING: Final = approval_records.ABSENT


def read(bucket: str, key: str) -> Any:
    try:
        return runtime.get_json(bucket, key)
    except Exception as error:
        if runtime.error_code(error) in _MISSING:
            return None
        raise


def verify(event: dict[str, Any], bucket: str, *, allow_self_approval: bool) -> dict[str, Any]:
    run_id, stage = str(event["runId"]), str(event["stage"])
    execution_arn, execution_start = str(event["executionArn"]), str(event["executionStart"])
    request = approval_records.request_id(execution_arn, execution_start, stage)
    key = approval_records.decision_key(run_id, request)
    answer = event.get("answer")
    base = {"stage": stage, "requestId": request, "decisionUri": runtime.s3_uri(bucket, key)}

    def refused(why: str) -> dict[str, Any]:
        LOG.warning(
            "approval answer not verified", extra={"requestId": request, "why": why, "answer": answer}
        )
        return {**base, "verified": False, "approved": False, "approver": "", "reason": why, "starter": None}

    record = read(bucket, key)
    if record is None:
        return refused(
            f"no decision of record for request {request} (the answer did not come through the "
            "pipeline's approval-answer function: a SendTaskSuccess sent by hand decides nothing)"
        )
    mismatch = approval_records.check_decision(
        record, run_id=run_id, request=request, stage=stage, execution_arn=execution_arn
    )
    if mismatch is not None:
        return refused(mismatch)
    starter = approval_records.starter_of(
        read(bucket, approval_records.starter_key(run_id)),
        execution_arn=execution_arn,
        execution_start=execution_start,
    )
    if record["approved"]:
        refusal = approval_records.self_approval_refusal(
            starter, str(record["approver"]), allowed=allow_self_approval
        )
        if refusal is not None:
            return refused(refusal)
    if isinstance(answer, dict) and (
        answer.get("approved") is not record["approved"] or answer.get("requestId") != request
    ):
        # The record decides; an answer that says otherwise was not sent by the answer function.
        LOG.warning(
            "the task's answer differs from the decision of record; the record decides",
            extra={"requestId": request, "answer": answer},
        )
    return {
        **base,
        "verified": True,
        "approved": bool(record["approved"]),
        "approver": str(record["approver"]),
        "reason": str(record.get("reason") or ""),
        "answeredAt": record.get("answeredAt"),
        "starter": starter.name if starter is not None else None,
    }


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = runtime.require_env("TRAINING_BUCKET")
    allowed = os.environ.get("ALLOW_SELF_APPROVAL", "").strip().lower() == "true"
    result = verify(event, bucket, allow_self_approval=allowed)
    LOG.info("approval verified" if result["verified"] else "approval not verified", extra=result)
    return result
