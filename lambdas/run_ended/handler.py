"""Clean up after a run whose execution ended without its own failure path: stopped, timed out, broken.

Catchers do not cover an execution stopped from the console or API (ABORTED), one that hits the
state machine's timeout (TIMED_OUT), or a ``States.Runtime`` error: Step Functions' guide says to
listen for the "Step Functions Execution Status Change" event instead. An EventBridge rule sends
those events (ABORTED, TIMED_OUT, FAILED) here, asynchronously.

Event: the EventBridge event, ``detail = {"executionArn", "stateMachineArn", "name", "status",
"startDate", ...}`` → ``{"runId", "status", "deleted", "deletedDeployments", "kept", "pending",
"notOwned", "handedOver", "jobStopped", "summary", "recordUri"}``.

Everything a run creates is named from its run id (the execution name, see pipeline.naming) and
tagged with its execution (ARN and start, pipeline.ownership), so this finds what the run created
without its state and touches only what this very execution created: the on-demand deployment, the
evaluation and serving throughput, the job, the judge jobs; and the serving-slot lock the execution
holds (found by its ARN). Whatever of that name another execution created is left alone and
reported, and so is a serving slot's endpoint. It releases what has no commitment, stops the job,
never touches a commitment (reported), writes runs/<runId>/ended-<status>.json and notifies.

What cannot be deleted yet is handed to the retrying release; after an abort or a timeout the run is
always handed over, so that what a create call still in flight brings into being is caught up with
(pipeline.durable_release.CATCH_UP). If the hand-over fails, this handler fails: EventBridge's and
Lambda's retries, then the dead-letter queue and its alarm, take over. A FAILED run that went through
its failure path is cleaned already: nothing is found, nothing is sent (nor when its cleanup handed
something to the retrying release, which covers it). Running twice is harmless.

Calls: what pipeline.release calls (shared with lambdas.cleanup), what pipeline.slot_lock's
release_execution calls (where the stack has serving slots), states:StartExecution on the release
state machine, s3:PutObject under runs/, sns:Publish to TOPIC_ARN.
"""

from __future__ import annotations

from typing import Any, Final

from lambdas.common import runtime
from lambdas.common.release import emit_metrics, emit_still_billing, hand_over, releaser, slot_lock, summary
from pipeline.durable_release import SCOPE_RUN
from pipeline.ownership import Execution
from pipeline.release import FAILURE

LOG = runtime.get_logger(__name__)
HANDLED: Final = frozenset({"ABORTED", "TIMED_OUT", "FAILED"})
# A create call may have been in flight when the execution stopped: look again for a while.
CAUGHT_UP: Final = frozenset({"ABORTED", "TIMED_OUT"})
SUBJECT_LIMIT: Final = 100


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    detail: dict[str, Any] = event.get("detail") or {}
    status = str(detail.get("status"))
    run_id = str(detail.get("name") or "")
    if status not in HANDLED or not run_id:
        LOG.info("execution status not handled", extra={"status": status, "runId": run_id})
        return {"runId": run_id, "status": status, "summary": "nothing to do"}
    # The event names the execution and its start (epoch ms): a malformed one fails loudly.
    owner = Execution.of(detail.get("executionArn"), detail.get("startDate"))
    released, job_stopped, job = releaser(owner).release_run(run_id)
    lock = slot_lock()
    slots_released = lock.release_execution(owner.arn) if lock is not None else []
    found = bool(
        released.deleted
        or released.deleted_deployments
        or released.kept
        or released.pending
        # (what it left alone, another execution's or a slot's, is in the record, not news)
        or job_stopped
        or released.stopped_evaluations
        or slots_released
    )
    handed_over, started_now = None, False
    # A FAILED run that found something: whether its failure path handed the run over already
    # (then that release covers it, and this one is joined, not started).
    if released.pending or status in CAUGHT_UP or (status == "FAILED" and found):
        handed_over, started_now = hand_over(
            run_id, owner, SCOPE_RUN, released.pending, catch_up=status in CAUGHT_UP
        )
        emit_still_billing(len(released.pending))
    text = summary(released, job_stopped, job, FAILURE) + (
        f" Gave back serving slot {', '.join(slots_released)}." if slots_released else ""
    )
    result: dict[str, Any] = {
        "runId": run_id,
        "status": status,
        "executionArn": owner.arn,
        **released.to_dict(),
        "handedOver": handed_over,
        "jobStopped": job_stopped,
        "job": job,
        "slotsReleased": slots_released,
        "summary": text,
    }
    bucket = runtime.require_env("TRAINING_BUCKET")
    result["recordUri"] = runtime.put_json(
        bucket, f"runs/{run_id}/ended-{status.lower()}.json", {"recordedAt": runtime.utc_now(), **result}
    )
    # A FAILED run that took its failure path was cleaned and notified already: say nothing twice.
    # So too when its cleanup handed something over: that release covers the rest and says what it
    # deletes (this handler may race it to a deletion; the workflow's notice named the hand-over).
    covered = handed_over is not None and not started_now
    if status != "FAILED" or (found and not covered):
        subject = f"Bedrock run {run_id} {status.lower().replace('_', ' ')}: cleaned up"
        message = "\n".join(
            [
                f"Run {run_id} ended {status} without reaching its own cleanup "
                "(stopped from outside, timed out, or a workflow error).",
                text,
                *(f"COMMITMENT, STILL BILLED: {item['arn']}: {item['reason']}" for item in released.kept),
                *(
                    [f"Retrying release: {handed_over} (looks again until everything of this run is gone)"]
                    if handed_over
                    else []
                ),
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
