"""Serving slots in the workflow: take the slot, swap the champion in place, check, roll back.

A run that names ``serving.slot`` takes the slot's lock before it serves (one writer: a second
promotion waits in line, bounded), and gives up when the slot changed since the run was compared
with its champion (``SlotChanged``: the comparison is stale). Into a slot that already has an
endpoint, nothing is bought: the endpoint's model is changed in place (behind a guard that re-reads
the verdicts), waited on, smoke-checked *through the slot's ARN*, and recorded; if the change fails
or the slot does not answer, the slot is changed back to the champion it had, and the run fails
with the reason (``SlotPromotionFailed``; ``SlotRollbackFailed`` if even that fails). A first
promotion serves as any run does (keep the deployment, or buy throughput) and then records the slot.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn

from infra.constructs.workflow_states import EXECUTION_NAME, PLAN, StateKit
from pipeline.workflow_names import (
    PROMOTE,
    ROLL_BACK,
    SLOT_ANSWERS,
    SLOT_BUSY,
    SLOT_CHANGED,
    SLOT_PROMOTION_FAILED,
    SLOT_ROLLBACK_FAILED,
    SLOT_TAKEN,
    TAKE_SLOT,
    WAIT_FOR_SLOT,
)

SLOT_PLAN = f"{PLAN}.slot"
# A busy slot is tried again every 5 minutes, at most 36 times (3 h): another promotion holds it
# for its change, wait and smoke check, which the plan bounds at about 1 h each way.
SLOT_RETRY_SECONDS = 300
SLOT_TRIES = 36


def _slots_task(
    kit: StateKit, name: str, mode: str, result_path: str, **payload: object
) -> sfn.TaskStateBase:
    return kit.lambda_task(
        name,
        "slots",
        {
            "mode": mode,
            "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
            "executionArn": sfn.JsonPath.string_at("$$.Execution.Id"),
            "plan": sfn.JsonPath.object_at(PLAN),
            **payload,
        },
        result_path=result_path,
    )


def take_slot(kit: StateKit, *, then: sfn.IChainable) -> sfn.TaskStateBase:
    """The slot's lock, then back to ``then`` (the serving Choice); busy: wait in line; changed: fail."""
    scope = kit.scope
    take = _slots_task(kit, TAKE_SLOT, "take", "$.slotLock", previous=sfn.JsonPath.object_at("$.slotLock"))
    wait = sfn.Wait(scope, WAIT_FOR_SLOT, time=sfn.WaitTime.duration(Duration.seconds(SLOT_RETRY_SECONDS)))
    wait.next(take)
    changed = kit.gate_failure(
        "Serving slot changed", SLOT_CHANGED, None, cause=sfn.JsonPath.string_at("$.slotLock.reason")
    )
    busy = kit.gate_failure(
        "Serving slot busy",
        SLOT_BUSY,
        None,
        cause=sfn.JsonPath.format(
            "The serving slot was still held by another promotion after {} tries: {}",
            sfn.JsonPath.string_at("$.slotLock.attempt"),
            sfn.JsonPath.string_at("$.slotLock.reason"),
        ),
    )
    take.next(
        sfn.Choice(scope, SLOT_TAKEN)
        .when(sfn.Condition.boolean_equals("$.slotLock.taken", True), then)
        .when(sfn.Condition.boolean_equals("$.slotLock.changed", True), changed)
        .when(sfn.Condition.number_greater_than_equals("$.slotLock.attempt", SLOT_TRIES), busy)
        .otherwise(wait)
    )
    return take


def record_slot(kit: StateKit, name: str, *, endpoint: str | None, then: sfn.IChainable) -> sfn.TaskStateBase:
    """Write the slot's document and give the lock back. ``endpoint``: the path of what the run
    serves from, for a first promotion (the slot is created on it and it is tagged as the slot's);
    None after a promotion into an existing slot (its endpoint is in the plan)."""
    payload: dict[str, object] = {
        "modelArn": sfn.JsonPath.string_at("$.loss.outputModelArn"),
        "summary": sfn.JsonPath.string_at("$.evaluation.summary"),
    }
    if endpoint is not None:
        payload["endpointArn"] = sfn.JsonPath.string_at(endpoint)
    record = _slots_task(kit, name, "record", "$.slotRecord", **payload)
    record.next(then)
    return record


def promotion(kit: StateKit, *, smoke: sfn.TaskStateBase, record: sfn.IChainable) -> sfn.TaskStateBase:
    """Change the slot's model in place, wait, smoke-check through the slot's ARN, record; roll back
    to the champion on any failure of the change or the smoke check. Returns the change itself."""
    scope = kit.scope
    promote = _slots_task(
        kit, PROMOTE, "promote", "$.slotChange", modelArn=sfn.JsonPath.string_at("$.loss.outputModelArn")
    )
    rollback = _slots_task(kit, ROLL_BACK, "rollback", "$.slotChange")

    def failed_as(name: str, error: str, cause: str) -> sfn.Pass:
        # What went wrong, kept for the failure once the champion serves again.
        state = sfn.Pass(
            scope,
            name,
            parameters={"Error": error, "Cause": sfn.JsonPath.string_at(cause)},
            result_path="$.slotFailure",
        )
        state.next(rollback)
        return state

    update_failed = failed_as("Slot change failed", "SlotUpdateFailed", "$.slotStatus.failureMessage")
    update_late = sfn.Pass(
        scope,
        "Slot change not done in time",
        parameters={
            "Error": "SlotUpdateTimeout",
            "Cause": sfn.JsonPath.format(
                "The model change of the slot was not done after {} status checks",
                sfn.JsonPath.string_at("$.slotStatus.attempt"),
            ),
        },
        result_path="$.slotFailure",
    ).next(rollback)
    wait = kit.wait_loop(
        "the serving slot",
        kind="slot",
        arn="",
        plan_path=SLOT_PLAN,
        status_path="$.slotStatus",
        handler="slots",
        payload={
            "mode": "check",
            "plan": sfn.JsonPath.object_at(PLAN),
            "targetModelArn": sfn.JsonPath.string_at("$.loss.outputModelArn"),
        },
        ready=smoke,
        failed=update_failed,
        timed_out=update_late,
    )
    promote.next(wait)
    smoke_failed = failed_as("Slot smoke check failed", "SlotSmokeCheckFailed", "$.smoke.summary")
    smoke.next(
        sfn.Choice(scope, SLOT_ANSWERS)
        .when(sfn.Condition.boolean_equals("$.smoke.passed", True), record)
        .otherwise(smoke_failed)
    )

    rolled_back = kit.gate_failure(
        "Serving slot rolled back",
        SLOT_PROMOTION_FAILED,
        None,
        cause=sfn.JsonPath.format(
            "{}: {}. The slot serves its champion again; nothing else changed.",
            sfn.JsonPath.string_at("$.slotFailure.Error"),
            sfn.JsonPath.string_at("$.slotFailure.Cause"),
        ),
    )
    rollback_failed = kit.gate_failure(
        "Serving slot not rolled back",
        SLOT_ROLLBACK_FAILED,
        None,
        cause=sfn.JsonPath.format(
            "{}: {}; and changing the slot back to its champion did not complete either ({}). Check the "
            "endpoint of the slot now.",
            sfn.JsonPath.string_at("$.slotFailure.Error"),
            sfn.JsonPath.string_at("$.slotFailure.Cause"),
            sfn.JsonPath.string_at("$.slotRollback.status"),
        ),
    )
    rollback.next(
        kit.wait_loop(
            "the rollback",
            kind="slot",
            arn="",
            plan_path=SLOT_PLAN,
            status_path="$.slotRollback",
            handler="slots",
            payload={
                "mode": "check",
                "plan": sfn.JsonPath.object_at(PLAN),
                "targetModelArn": sfn.JsonPath.string_at(f"{SLOT_PLAN}.championModelArn"),
            },
            ready=rolled_back,
            failed=rollback_failed,
            timed_out=rollback_failed,
        )
    )
    return promote
