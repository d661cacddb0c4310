"""Release what a run no longer needs: its evaluation vehicle, and on failure everything it bought.

Event ``{"runId", "plan", "vehicle": {"Kind", "Arn"}|null, "throughput": {...}|null,
"failure": {...}|null, "mode": "failure"|"release-evaluation"}`` → ``{"deleted": [arn],
"deletedDeployments": [arn], "kept": [{"arn", "reason"}], "jobStopped": bool, "summary": str,
"job": {...}|null}``.

- ``failure`` (the failure path): delete the run's on-demand deployment, its no-commitment
  throughput (evaluation and serving), and stop its job if it still runs.
- ``failure`` with a serving slot in the plan: the slot's lock is given back (if this run holds it).
- ``release-evaluation`` (after a successful purchase, or when the model is not served): delete
  only the evaluation vehicle, unless the plan says it also serves (``vehicle.servesAfterwards``).

A commitment is never deleted (it is reported); a refused deletion is retried for a bounded time,
then reported with the command that deletes it. Running the handler twice is harmless.

The releasing itself is :mod:`pipeline.release` (shared with ``run_ended``).

Calls: what pipeline.release calls.
"""

from __future__ import annotations

from typing import Any

from lambdas.common import runtime
from lambdas.common.release import emit_metrics, releaser, slot_lock
from pipeline.release import FAILURE, RELEASE_EVALUATION, Released, summarize

LOG = runtime.get_logger(__name__)
__all__ = ["FAILURE", "RELEASE_EVALUATION", "emit_metrics", "lambda_handler"]


def _release_slot(run_id: str, plan: dict[str, Any]) -> str | None:
    """A failed run's serving-slot lock, given back (the slot itself is never changed here: a
    failed promotion was rolled back by the workflow before it got here)."""
    name = (plan.get("slot") or {}).get("name")
    lock = slot_lock()
    if not name or lock is None:
        return None
    return str(name) if lock.release(str(name), run_id) else None


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run_id = str(event.get("runId"))
    plan: dict[str, Any] = event.get("plan") or {}
    mode = str(event.get("mode") or FAILURE)
    released = Released()
    job_stopped, job = False, None
    if plan:
        bedrock = releaser()
        serves = bool((plan.get("vehicle") or {}).get("servesAfterwards"))
        if mode == FAILURE or not serves:
            bedrock.release_vehicle(plan, event.get("vehicle"), released)
        if mode == FAILURE:
            arn = bedrock.find_throughput(plan, event.get("throughput"))
            if (
                arn is not None
                and arn not in released.deleted
                and all(k["arn"] != arn for k in released.kept)
            ):
                bedrock.release_throughput(arn, released)
            job_stopped, job = bedrock.stop_job(plan)
            if plan.get("judge") and plan.get("runId"):
                released.stopped_evaluations = bedrock.stop_judge_jobs(str(plan["runId"]))
    slot_released = _release_slot(run_id, plan) if mode == FAILURE else None
    result = {
        "mode": mode,
        "deleted": released.deleted,
        "deletedDeployments": released.deleted_deployments,
        "kept": released.kept,
        "jobStopped": job_stopped,
        "stoppedEvaluationJobs": released.stopped_evaluations,
        "summary": summarize(released, job_stopped, job, mode)
        + (f" Gave back serving slot {slot_released}." if slot_released else ""),
        "job": job,
        "slotReleased": slot_released,
    }
    LOG.info("cleanup", extra={"runId": run_id, "failure": event.get("failure"), **result})
    emit_metrics(released)
    return result
