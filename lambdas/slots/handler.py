"""A serving slot's one writer: take it, change its model in place, check, record, roll back, release.

Event ``{"mode", "runId", "executionArn", "plan", ...}``; ``plan.slot`` says which slot
(pipeline.plan): its name, SSM parameter, and what the preflight saw there (whether it exists, its
endpoint and champion). Modes:

- ``take`` → ``{"taken", "changed", "holder", "reason"}``: the slot's lock (a DynamoDB item written
  only if absent, expired or already this run's: one writer at a time), then a re-read of the slot:
  ``changed`` when another run promoted since this one was compared with the champion (the lock is
  given back: the comparison is stale).
- ``promote`` (+ ``modelArn``) / ``rollback`` → ``{"kind", "endpointArn", "targetModelArn"}``: the
  endpoint's model changed in place (UpdateCustomModelDeployment / UpdateProvisionedModelThroughput);
  a rollback goes back to the champion the run replaced.
- ``check`` (+ ``targetModelArn``, ``previous``, ``schedule``) → the poll's verdict on the change.
- ``record`` (+ ``modelArn``, ``endpointArn``, ``summary``) → ``{"slot", "parameter"}``: the slot
  document written (created by a first promotion, whose endpoint is tagged as the slot's), the lock
  given back.
- ``release`` → ``{"released"}``: the lock given back (a failed run's cleanup gives it back too;
  an expired lock is taken over by the next run anyway).

The lock's rules are :mod:`pipeline.slot_lock` (shared with the cleanup handlers).

Calls: dynamodb:PutItem/GetItem/DeleteItem (lock table), ssm:GetParameter/PutParameter (slot documents),
bedrock:UpdateCustomModelDeployment, bedrock:UpdateProvisionedModelThroughput,
bedrock:GetCustomModelDeployment, bedrock:GetProvisionedModelThroughput, bedrock:TagResource.
"""

from __future__ import annotations

import json
from typing import Any

from lambdas.common import runtime
from pipeline import poll, slot_lock, slots

LOG = runtime.get_logger(__name__)


def _slot_plan(event: dict[str, Any]) -> dict[str, Any]:
    slot = (event.get("plan") or {}).get("slot")
    if not isinstance(slot, dict) or not slot.get("name"):
        raise ValueError("the plan names no serving slot")
    return slot


def _lock() -> slot_lock.SlotLock:
    return slot_lock.SlotLock(
        runtime.client("dynamodb"), runtime.require_env("SLOT_LOCK_TABLE"), error_code=runtime.error_code
    )


def read_slot(parameter: str) -> slots.Slot | None:
    try:
        value = runtime.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]
    except Exception as error:
        if runtime.error_code(error) == "ParameterNotFound":
            return None
        raise
    return slots.Slot.from_dict(json.loads(value))


def take(event: dict[str, Any]) -> dict[str, Any]:
    slot_plan = _slot_plan(event)
    name, run_id = str(slot_plan["name"]), str(event["runId"])
    attempt = int((event.get("previous") or {}).get("attempt") or 0) + 1
    lock = _lock()
    holder = lock.take(name, run_id, str(event.get("executionArn") or ""))
    if holder is not None:
        LOG.info("slot busy", extra={"runId": run_id, "slot": name, "holder": holder.run_id})
        return {
            "taken": False,
            "changed": False,
            "holder": holder.run_id,
            "attempt": attempt,
            "reason": f"run {holder.run_id} is promoting into slot {name}",
        }
    current = read_slot(str(slot_plan["parameter"]))
    seen = slot_plan.get("championModelArn") if slot_plan.get("exists") else None
    now_serving = current.champion.model_arn if current is not None else None
    if now_serving != seen:
        # The comparison with the champion is stale: give the slot back and stop.
        lock.release(name, run_id)
        reason = (
            f"slot {name} changed since this run was compared with it (champion then: "
            f"{seen or 'none'}, now: {now_serving or 'none'}); start the run again to compare with the "
            "champion serving now"
        )
        return {"taken": False, "changed": True, "holder": None, "attempt": attempt, "reason": reason}
    return {"taken": True, "changed": False, "holder": run_id, "attempt": attempt, "reason": "taken"}


def release(event: dict[str, Any]) -> dict[str, Any]:
    return {"released": _lock().release(str(_slot_plan(event)["name"]), str(event["runId"]))}


def change(kind: str, endpoint: str, model_arn: str) -> dict[str, Any]:
    bedrock = runtime.client("bedrock")
    if kind == slots.DEPLOYMENT:
        bedrock.update_custom_model_deployment(customModelDeploymentIdentifier=endpoint, modelArn=model_arn)
    else:
        bedrock.update_provisioned_model_throughput(provisionedModelId=endpoint, desiredModelId=model_arn)
    return {"kind": kind, "endpointArn": endpoint, "targetModelArn": model_arn}


def check(event: dict[str, Any]) -> dict[str, Any]:
    slot_plan = _slot_plan(event)
    bedrock = runtime.client("bedrock")
    endpoint = str(slot_plan["endpointArn"])
    if slot_plan["kind"] == slots.DEPLOYMENT:
        described = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=endpoint)
    else:
        described = bedrock.get_provisioned_model_throughput(provisionedModelId=endpoint)
    status, failure = slots.update_progress(str(slot_plan["kind"]), described, str(event["targetModelArn"]))
    result = poll.next_check(status, event.get("previous"), list(event.get("schedule") or []))
    result["failureMessage"] = failure if result["failed"] else None
    return result


def record(event: dict[str, Any]) -> dict[str, Any]:
    slot_plan = _slot_plan(event)
    plan = event["plan"]
    champion = slots.Champion(
        model_arn=str(event["modelArn"]),
        run_id=str(event["runId"]),
        promoted_at=runtime.utc_now(),
        verdict=str(event.get("summary") or ""),
    )
    current = read_slot(str(slot_plan["parameter"]))
    if current is None:
        kind = (
            slots.DEPLOYMENT if (plan.get("serving") or {}).get("mode") == "on-demand" else slots.THROUGHPUT
        )
        endpoint = str(event["endpointArn"])
        document = slots.first_promotion(slot_plan["name"], kind, endpoint, str(plan["baseModel"]), champion)
        # Only endpoints that carry the slot tag may be changed in place (the workflow's grant).
        runtime.client("bedrock").tag_resource(
            resourceARN=endpoint, tags=[{"key": slots.SLOT_TAG, "value": slot_plan["name"]}]
        )
    else:
        document = slots.promoted(current, champion)
    runtime.client("ssm").put_parameter(
        Name=str(slot_plan["parameter"]),
        Value=json.dumps(document.to_dict()),
        Type="String",
        Overwrite=True,
        Description=f"Bedrock customization serving slot {slot_plan['name']}",
    )
    release(event)
    LOG.info("slot recorded", extra={"runId": event["runId"], "slot": document.to_dict()})
    return {"slot": document.to_dict(), "parameter": slot_plan["parameter"]}


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    mode = str(event.get("mode"))
    if mode == "take":
        return take(event)
    if mode == "release":
        return release(event)
    if mode == "check":
        return check(event)
    if mode == "record":
        return record(event)
    slot_plan = _slot_plan(event)
    if mode == "promote":
        return change(str(slot_plan["kind"]), str(slot_plan["endpointArn"]), str(event["modelArn"]))
    if mode == "rollback":
        return change(
            str(slot_plan["kind"]), str(slot_plan["endpointArn"]), str(slot_plan["championModelArn"])
        )
    raise ValueError(f"unknown mode {mode!r}; expected take, promote, check, record, rollback or release")
