"""Release what a failed run bought: delete its no-commitment throughput, stop its job.

Event ``{"runId", "plan", "throughput": {...}|null, "failure": {...}}`` → ``{"deleted": [arn],
"kept": [{"arn", "reason"}], "jobStopped": bool, "summary": str, "job": {...}|null}``.

A commitment is never deleted: Bedrock refuses it before the term ends and it is billed for the
whole term anyway, so it is reported instead. Running the handler twice is harmless: what is
already gone is skipped.

Calls: bedrock:GetProvisionedModelThroughput, bedrock:ListProvisionedModelThroughputs (only when
the purchase's ARN is unknown), bedrock:DeleteProvisionedModelThroughput,
bedrock:GetModelCustomizationJob, bedrock:StopModelCustomizationJob.
"""

from __future__ import annotations

from typing import Any, Final

from lambdas.common import runtime

LOG = runtime.get_logger(__name__)
_GONE: Final = frozenset({"ResourceNotFoundException", "NotFound", "404"})
_RUNNING: Final = frozenset({"InProgress"})


def find_throughput(plan: dict[str, Any], throughput: dict[str, Any] | None) -> str | None:
    """This run's purchase: by the ARN the workflow got back, else by its deterministic name.

    The name lookup covers a create call that succeeded at Bedrock but whose answer never reached
    the workflow (timeout, retries exhausted).
    """
    arn = (throughput or {}).get("ProvisionedModelArn")
    if arn:
        return str(arn)
    name = (plan.get("throughput") or {}).get("ProvisionedModelName")
    if not name:
        return None
    paginator = runtime.client("bedrock").get_paginator("list_provisioned_model_throughputs")
    for page in paginator.paginate(nameContains=name):
        for summary in page.get("provisionedModelSummaries", []):
            # nameContains is a substring match: another run's name may contain this one.
            if summary.get("provisionedModelName") == name:
                return str(summary["provisionedModelArn"])
    return None


def release_throughput(arn: str) -> tuple[list[str], list[dict[str, str]]]:
    bedrock = runtime.client("bedrock")
    try:
        described = bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
    except Exception as error:
        if runtime.error_code(error) in _GONE:
            return [], []
        raise
    commitment = described.get("commitmentDuration")
    if commitment:
        expires = runtime.iso_utc(described.get("commitmentExpirationTime")) or "the end of the term"
        return [], [
            {
                "arn": arn,
                "reason": (
                    f"{commitment} commitment: billed until {expires} whatever happens, and Bedrock refuses "
                    "to delete it before then; it was kept (release or reuse it after the term)"
                ),
            }
        ]
    try:
        bedrock.delete_provisioned_model_throughput(provisionedModelId=arn)
    except Exception as error:
        code = runtime.error_code(error)
        if code in _GONE:
            return [], []
        if code != "ConflictException":
            raise
        # Refused for a reason other than a commitment (still Creating, say): the purchase keeps
        # billing, so the report must say so loudly and say how to delete it by hand.
        return [], [
            {
                "arn": arn,
                "reason": (
                    f"no commitment, but Bedrock refused to delete it ({error}); IT IS STILL BILLED HOURLY. "
                    f"Delete it by hand: aws bedrock delete-provisioned-model-throughput "
                    f"--provisioned-model-id {arn}"
                ),
            }
        ]
    return [arn], []


def stop_job(plan: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    """Stop the run's job if it still runs; also return what Bedrock says about it, for the record."""
    name = (plan.get("job") or {}).get("JobName")
    if not name:
        return False, None
    bedrock = runtime.client("bedrock")
    try:
        described = bedrock.get_model_customization_job(jobIdentifier=name)
    except Exception as error:
        if runtime.error_code(error) in _GONE:
            return False, None
        raise
    job = {
        "jobName": name,
        "jobArn": described.get("jobArn"),
        "status": described.get("status"),
        "failureMessage": described.get("failureMessage") if described.get("status") == "Failed" else None,
        "outputModelArn": described.get("outputModelArn"),
        "createdAt": runtime.iso_utc(described.get("creationTime")),
        "endedAt": runtime.iso_utc(described.get("endTime")),
    }
    if described.get("status") not in _RUNNING:
        return False, job
    try:
        bedrock.stop_model_customization_job(jobIdentifier=name)
    except Exception as error:
        # Finished or already stopping between the two calls: nothing left to stop.
        if runtime.error_code(error) in _GONE | {"ConflictException"}:
            return False, job
        raise
    return True, job | {"status": "Stopping"}


def summarize(
    deleted: list[str], kept: list[dict[str, str]], job_stopped: bool, job: dict[str, Any] | None
) -> str:
    parts = []
    if deleted:
        parts.append(f"deleted provisioned throughput {', '.join(deleted)}")
    for item in kept:
        parts.append(f"KEPT provisioned throughput {item['arn']}: {item['reason']}")
    if job_stopped and job is not None:
        parts.append(f"stopped customization job {job['jobName']}")
    if not parts:
        parts.append("nothing to release: this run bought no throughput and has no running job")
    return "Cleanup: " + "; ".join(parts) + "."


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run_id = str(event.get("runId"))
    plan: dict[str, Any] = event.get("plan") or {}
    deleted: list[str] = []
    kept: list[dict[str, str]] = []
    arn = find_throughput(plan, event.get("throughput")) if plan else None
    if arn is not None:
        deleted, kept = release_throughput(arn)
    job_stopped, job = stop_job(plan) if plan else (False, None)
    result = {
        "deleted": deleted,
        "kept": kept,
        "jobStopped": job_stopped,
        "summary": summarize(deleted, kept, job_stopped, job),
        "job": job,
    }
    LOG.info("cleanup", extra={"runId": run_id, "failure": event.get("failure"), **result})
    return result
