"""Clean up after a run whose execution ended without its own failure path: stopped, timed out, broken.

Catchers do not cover an execution stopped from the console or API (ABORTED), one that hits the
state machine's timeout (TIMED_OUT), or a ``States.Runtime`` error: Step Functions' guide says to
listen for the "Step Functions Execution Status Change" event instead. An EventBridge rule sends
those events (ABORTED, TIMED_OUT, FAILED) here, asynchronously.

Event: the EventBridge event, ``detail = {"executionArn", "stateMachineArn", "name", "status", ...}``
→ ``{"runId", "status", "deleted", "deletedDeployments", "kept", "jobStopped", "summary",
"recordUri"}``.

Everything a run creates is named from its run id (the execution name, see pipeline.naming), so
this finds what the run created without its state: the on-demand deployment, the evaluation and
serving throughput, the job; and the serving-slot lock the execution holds (found by its ARN). It
releases what has no commitment, stops the job, never touches a commitment (reported), writes
runs/<runId>/ended-<status>.json and notifies. A FAILED run that went through its failure path is
cleaned already: nothing is found, nothing is sent. Running twice is harmless.

Calls: what pipeline.release calls (shared with lambdas.cleanup), what pipeline.slot_lock's
release_execution calls (where the stack has serving slots), s3:PutObject under runs/,
sns:Publish to TOPIC_ARN.
"""

from __future__ import annotations

from typing import Any, Final

from lambdas.common import runtime
from lambdas.common.release import emit_metrics, releaser, slot_lock
from pipeline.release import summarize

LOG = runtime.get_logger(__name__)
HANDLED: Final = frozenset({"ABORTED", "TIMED_OUT", "FAILED"})
SUBJECT_LIMIT: Final = 100


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail: dict[str, Any] = event.get("detail") or {}
    status = str(detail.get("status"))
    run_id = str(detail.get("name") or "")
    if status not in HANDLED or not run_id:
        LOG.info("execution status not handled", extra={"status": status, "runId": run_id})
        return {"runId": run_id, "status": status, "summary": "nothing to do"}
    released, job_stopped, job = releaser().release_run(run_id)
    lock = slot_lock()
    execution_arn = str(detail.get("executionArn") or "")
    slots_released = lock.release_execution(execution_arn) if lock is not None and execution_arn else []
    summary = summarize(released, job_stopped, job) + (
        f" Gave back serving slot {', '.join(slots_released)}." if slots_released else ""
    )
    found = bool(
        released.deleted
        or released.deleted_deployments
        or released.kept
        or job_stopped
        or released.stopped_evaluations
        or slots_released
    )
    result: dict[str, Any] = {
        "runId": run_id,
        "status": status,
        "executionArn": detail.get("executionArn"),
        "deleted": released.deleted,
        "deletedDeployments": released.deleted_deployments,
        "kept": released.kept,
        "jobStopped": job_stopped,
        "stoppedEvaluationJobs": released.stopped_evaluations,
        "job": job,
        "slotsReleased": slots_released,
        "summary": summary,
    }
    bucket = runtime.require_env("TRAINING_BUCKET")
    result["recordUri"] = runtime.put_json(
        bucket, f"runs/{run_id}/ended-{status.lower()}.json", {"recordedAt": runtime.utc_now(), **result}
    )
    # A FAILED run that took its failure path was cleaned and notified already: say nothing twice.
    if status != "FAILED" or found:
        subject = f"Bedrock run {run_id} {status.lower().replace('_', ' ')}: cleaned up"
        message = "\n".join(
            [
                f"Run {run_id} ended {status} without reaching its own cleanup "
                "(stopped from outside, timed out, or a workflow error).",
                summary,
                *(f"STILL BILLED: {item['arn']}: {item['reason']}" for item in released.kept),
                f"Record: {result['recordUri']}",
            ]
        )
        runtime.client("sns").publish(
            TopicArn=runtime.require_env("TOPIC_ARN"),
            Subject=subject if len(subject) <= SUBJECT_LIMIT else subject[: SUBJECT_LIMIT - 3] + "...",
            Message=message,
        )
    LOG.info("run ended", extra=result)
    emit_metrics(released)
    return result
