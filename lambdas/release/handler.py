"""One attempt of the retrying release (the release state machine calls it until it says done).

Event ``{"request": <pipeline.durable_release.request>, "previous": <this handler's last answer>|null}``
→ ``{"attempt", "elapsedSeconds", "done", "expired", "waitSeconds", "pending", "deleted",
"deletedDeployments", "kept", "notOwned", "stoppedEvaluationJobs", "summary"}``.

Scope ``run`` (a failed, stopped or timed-out run): everything the execution created, found by the
run's names each attempt and by the ARNs handed over, as the stopped-run cleanup does; so a resource
whose create call was still in flight when the run ended is found once it exists. Scope ``vehicle``
(a run that goes on): only the handed-over ARNs. Only what this execution owns is touched.

Each attempt emits ``ResourcesStillBilling`` (what is still pending; 0 when all is gone), whose
alarm goes off when it stays above 0. When the deadline passes with something pending, a notice
names each resource with the command that deletes it, and the state machine fails (its alarm). When
it deletes something that outlived the run, a notice says so. Any error escapes: the state machine
retries the attempt, and the function's error alarm goes off.

Calls: what pipeline.release calls, sns:Publish to TOPIC_ARN.
"""

from __future__ import annotations

from typing import Any, Final

from lambdas.common import runtime
from lambdas.common.release import emit_metrics, emit_still_billing, releaser, summary, where
from pipeline.durable_release import SCOPE_RUN, attempt_result
from pipeline.ownership import Execution
from pipeline.release import FAILURE, Released, delete_command

LOG = runtime.get_logger(__name__)
SUBJECT_LIMIT: Final = 100


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    handed: dict[str, Any] = event["request"]
    previous: dict[str, Any] | None = event.get("previous")
    run_id = str(handed["runId"])
    owner = Execution(**handed["execution"])
    bedrock = releaser(owner)
    job_stopped = False
    if handed["scope"] == SCOPE_RUN:
        released, job_stopped, job = bedrock.release_run(run_id, handed.get("targets") or [])
    else:
        released = Released()
        for target in handed.get("targets") or []:
            bedrock.release(str(target["kind"]), str(target["arn"]), released)
        job = None
    result = attempt_result(handed, previous, pending=released.pending)
    text = summary(released, job_stopped, job, FAILURE)
    result |= {**released.to_dict(), "jobStopped": job_stopped, "summary": text}
    LOG.info("release attempt", extra={"runId": run_id, **result})
    emit_metrics(released)
    emit_still_billing(len(released.pending))
    if result["expired"]:
        _notify(
            f"Bedrock run {run_id}: STILL BILLING after {result['elapsedSeconds'] // 3600} h of retries",
            [
                f"The retrying release of run {run_id} ({owner.arn}) gave up after {result['attempt']} "
                "attempts: Bedrock still refuses to delete what the run created. It is billed until "
                "someone deletes it:",
                *(
                    f"  {item['kind']} {item['arn']} ({item['reason']}): "
                    f"{delete_command(item['kind'], item['arn'], **where())}"
                    for item in released.pending
                ),
                text,
            ],
        )
    elif released.deleted or released.deleted_deployments or job_stopped or released.stopped_evaluations:
        _notify(
            f"Bedrock run {run_id}: released what was left",
            [
                f"The retrying release of run {run_id} ({owner.arn}), attempt {result['attempt']}, "
                f"{result['elapsedSeconds']} s after the hand-over:",
                text,
            ],
        )
    return result


def _notify(subject: str, lines: list[str]) -> None:
    runtime.client("sns").publish(
        TopicArn=runtime.require_env("TOPIC_ARN"),
        Subject=subject if len(subject) <= SUBJECT_LIMIT else subject[: SUBJECT_LIMIT - 3] + "...",
        Message="\n".join(lines),
    )
