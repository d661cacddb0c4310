"""``bedrock-customize rollback NAME [--to RUN]``: a serving slot back to an earlier champion, with the
same rules as a promotion: one writer (the slot's lock), the model changed in place on the same
endpoint, waited on, smoke-checked *through the slot's ARN*, and recorded; if the change fails, does
not end in time, or the slot does not answer, the slot is changed back to the champion it had and
the command fails with the reason.

The change is made with the operator's credentials (a person's decision; the workflow's roles make
promotions). The earlier champion passed its bars when it was promoted; its custom model is still
there because ``sweep`` never deletes what a slot keeps for rollback.

Calls: ssm:GetParameter/PutParameter (the slot's document), dynamodb:PutItem/GetItem/DeleteItem (its
lock), bedrock:UpdateCustomModelDeployment / UpdateProvisionedModelThroughput and their Get, and
bedrock-runtime:Converse (the smoke check).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pipeline import evaluation, slot_lock, slots
from pipeline.operate.errors import InvalidInputError, OperationalError, error_code

# How often the change is checked; how long it may take before it is treated as failed (the
# workflow's own limit for a slot's change, pipeline.plan.SLOT_UPDATE_WAIT_LIMIT_S).
POLL_SECONDS: Final = 30
SLEEP: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Rollback:
    slot: slots.Slot  # the slot after the rollback
    replaced: slots.Champion
    smoke: str


def describe(bedrock: Any, slot: slots.Slot) -> dict[str, Any]:
    if slot.kind == slots.DEPLOYMENT:
        return dict(bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=slot.endpoint_arn))
    return dict(bedrock.get_provisioned_model_throughput(provisionedModelId=slot.endpoint_arn))


def change(bedrock: Any, slot: slots.Slot, model_arn: str) -> None:
    if slot.kind == slots.DEPLOYMENT:
        bedrock.update_custom_model_deployment(
            customModelDeploymentIdentifier=slot.endpoint_arn, modelArn=model_arn
        )
    else:
        bedrock.update_provisioned_model_throughput(
            provisionedModelId=slot.endpoint_arn, desiredModelId=model_arn
        )


def wait(bedrock: Any, slot: slots.Slot, model_arn: str, *, timeout_s: float) -> str | None:
    """None once the endpoint serves ``model_arn``; else why not (failed, or not done in time)."""
    waited = 0.0
    while True:
        status, failure = slots.update_progress(slot.kind, describe(bedrock, slot), model_arn)
        if status == slots.UPDATE_DONE:
            return None
        if status == slots.UPDATE_FAILED:
            return f"the change to {model_arn} failed: {failure}"
        if waited >= timeout_s:
            return f"the change to {model_arn} was not done after {int(waited)} s"
        SLEEP(POLL_SECONDS)
        waited += POLL_SECONDS


def roll_back(
    clients: Any,
    environment: str,
    lock_table: str,
    slot: slots.Slot,
    target: slots.Champion,
    *,
    timeout_s: float,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Rollback:
    """Change ``slot`` back to ``target`` (one of its earlier champions), as a promotion would."""
    holder_id = f"rollback-{slot.name}-{int(now().timestamp())}"
    lock = slot_lock.SlotLock(clients("dynamodb"), lock_table, error_code=error_code, now=now)
    held = lock.take(slot.name, holder_id, "")
    if held is not None:
        raise InvalidInputError(
            f"slot {slot.name} is held by run {held.run_id} (a promotion in progress)",
            hint="try again once it ended; `slots` shows the pending promotion",
        )
    ssm, bedrock = clients("ssm"), clients("bedrock")
    parameter = slots.parameter_name(environment, slot.name)
    try:
        current = slots.Slot.from_dict(json.loads(ssm.get_parameter(Name=parameter)["Parameter"]["Value"]))
        if current.champion != slot.champion:
            raise InvalidInputError(
                f"slot {slot.name} changed meanwhile (champion now {current.champion.run_id})",
                hint="look again with `slots show` and choose again",
            )
        change(bedrock, slot, target.model_arn)
        problem = wait(bedrock, slot, target.model_arn, timeout_s=timeout_s)
        smoke = None
        if problem is None:
            smoke = evaluation.smoke_check(
                evaluation.PromptSet(uri=None, kind="smoke"),
                model_id=slot.endpoint_arn,
                converse=clients("bedrock-runtime").converse,
                count=1,
                sleep=SLEEP,
            )
            if not smoke.passed:
                problem = smoke.summary
        if problem is not None:
            back = _change_back(bedrock, slot, timeout_s=timeout_s)
            raise OperationalError(
                f"rollback of slot {slot.name} failed: {problem}; {back}",
                hint="the slot's document was not changed; check the endpoint with `slots show`",
            )
        assert smoke is not None
        after = slots.rolled_back(current, target)
        ssm.put_parameter(
            Name=parameter,
            Value=json.dumps(after.to_dict()),
            Type="String",
            Overwrite=True,
            Description=f"Bedrock customization serving slot {slot.name}",
        )
        return Rollback(after, current.champion, smoke.summary)
    finally:
        lock.release(slot.name, holder_id)


def _change_back(bedrock: Any, slot: slots.Slot, *, timeout_s: float) -> str:
    try:
        change(bedrock, slot, slot.champion.model_arn)
    except Exception as exc:
        if not error_code(exc):
            raise
        return f"and changing it back to {slot.champion.run_id}'s model was refused ({error_code(exc)})"
    problem = wait(bedrock, slot, slot.champion.model_arn, timeout_s=timeout_s)
    if problem is None:
        return f"it serves {slot.champion.run_id}'s model again"
    return f"and changing it back did not complete either ({problem})"
