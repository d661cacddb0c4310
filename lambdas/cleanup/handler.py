"""Release what a run no longer needs: its evaluation vehicle, and on failure everything it bought.

Event ``{"runId", "executionArn", "executionStart", "plan", "vehicle": {"Kind", "Arn"}|null,
"throughput": {...}|null, "failure": {...}|null, "mode": "failure"|"release-evaluation"}`` →
``{"deleted": [arn], "deletedDeployments": [arn], "kept": [{"arn", "reason"}], "pending": [...],
"notOwned": [...], "handedOver": arn|null, "jobStopped": bool, "summary": str, "job": {...}|null}``.

- ``failure`` (the failure path): delete the run's on-demand deployment, its no-commitment
  throughput (evaluation and serving), and stop its job if it still runs.
- ``failure`` with a serving slot in the plan: the slot's lock is given back (if this run holds it).
- ``release-evaluation`` (after a successful purchase, or when the model is not served): delete
  only the evaluation vehicle, unless the plan says it also serves (``vehicle.servesAfterwards``).

Only what this execution created is touched (its tags name ``executionArn`` and ``executionStart``);
anything else found is left alone and reported. A commitment is never deleted (it is reported).
What Bedrock refuses to delete for now is handed to the retrying release
(pipeline.durable_release), which tries again until it is gone; if that hand-over fails, this
handler fails. Running it twice is harmless.

Calls: what pipeline.release calls; states:StartExecution on the release state machine.
"""

from __future__ import annotations

from typing import Any

from lambdas.common import runtime
from lambdas.common.release import emit_metrics, emit_still_billing, hand_over, releaser, slot_lock, summary
from pipeline.durable_release import SCOPE_RUN, SCOPE_VEHICLE
from pipeline.ownership import Execution
from pipeline.release import FAILURE, RELEASE_EVALUATION, Released

LOG = runtime.get_logger(__name__)
__all__ = ["FAILURE", "RELEASE_EVALUATION", "lambda_handler"]


def _owner(event: dict[str, Any]) -> Execution | None:
    """This execution; None for an execution started by a definition older than the execution tags
    (its resources carry none: nothing is owned, everything found is reported for a person)."""
    if not event.get("executionArn"):
        return None
    return Execution.of(event["executionArn"], event.get("executionStart"))


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
    owner = _owner(event)
    released = Released()
    job_stopped, job = False, None
    if plan:
        bedrock = releaser(owner)
        serves = bool((plan.get("vehicle") or {}).get("servesAfterwards"))
        if mode == FAILURE or not serves:
            bedrock.release_vehicle(plan, event.get("vehicle"), released)
        if mode == FAILURE:
            arn = bedrock.find_throughput(plan, event.get("throughput"))
            if arn is not None:
                bedrock.release_throughput(arn, released)
            job_stopped, job = bedrock.stop_job(plan, released)
            if plan.get("judge") and plan.get("runId"):
                released.stopped_evaluations = bedrock.stop_judge_jobs(str(plan["runId"]), released)
    handed_over = None
    if released.pending:
        # Pending items are owned, so there is an owner. A failed run is released as a whole (its
        # names are looked up again each attempt); a run that goes on only loses its vehicle.
        assert owner is not None
        handed_over, _ = hand_over(
            run_id, owner, SCOPE_RUN if mode == FAILURE else SCOPE_VEHICLE, released.pending, catch_up=False
        )
        emit_still_billing(len(released.pending))
    slot_released = _release_slot(run_id, plan) if mode == FAILURE else None
    result = {
        "mode": mode,
        **released.to_dict(),
        "handedOver": handed_over,
        "jobStopped": job_stopped,
        "summary": summary(released, job_stopped, job, mode)
        + (f" Gave back serving slot {slot_released}." if slot_released else ""),
        "job": job,
        "slotReleased": slot_released,
    }
    LOG.info("cleanup", extra={"runId": run_id, "failure": event.get("failure"), **result})
    emit_metrics(released)
    return result
