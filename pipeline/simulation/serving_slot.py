"""A serving slot in the simulation: the one a scenario says exists before the run, and the
invariants every run into a slot keeps.

:func:`declare_slot` makes what an earlier run left behind (``scenario.slot``): the champion custom
model (and the earlier champions its history keeps), the endpoint of the spec's serving kind that
serves it, tagged as the slot's, and the slot's SSM document (pipeline.slots) under the deployment's
prefix, exactly as ``lambdas/slots`` writes it. :func:`slot_checks` reads what the run did to it:

- the slot keeps its ARN (a first promotion makes the run's own endpoint the slot's, tagged);
- at every moment it is the slot, the endpoint serves a model that passed its bar: the champions
  before the run, or the run's model only once its verdict passed (from the endpoint's model
  changes, and from every Converse answer through it);
- a run that does not succeed leaves the slot as it found it (champion and model served);
- the slot's lock (one writer) is given back when the run ends, however it ends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipeline import naming, slots
from pipeline.runspec import RunSpec
from pipeline.simulation.fake_bedrock import FakeBedrock
from pipeline.simulation.invariants import passing_verdict_at
from pipeline.simulation.result import Check, SimulationError, SimulationResult
from pipeline.simulation.scenarios import Scenario
from pipeline.simulation.template import Provisioned
from pipeline.workflow_names import RECORD_NEW_SLOT_ON_DEPLOYMENT, RECORD_NEW_SLOT_ON_THROUGHPUT

_RECORD_NEW = (RECORD_NEW_SLOT_ON_DEPLOYMENT, RECORD_NEW_SLOT_ON_THROUGHPUT)


def slot_parameter(spec: RunSpec, provisioned: Provisioned) -> str | None:
    """The SSM parameter of the spec's serving slot in the simulated deployment (None: no slot)."""
    if spec.serving.slot is None:
        return None
    environments = {
        f.environment[naming.DEPLOYMENT_ENVIRONMENT_VARIABLE]
        for f, _ in provisioned.functions.values()
        if f.environment.get(naming.DEPLOYMENT_ENVIRONMENT_VARIABLE)
    }
    if len(environments) != 1:
        raise SimulationError(f"the template's functions name {len(environments)} deployment environments")
    return slots.parameter_name(environments.pop(), spec.serving.slot)


def declare_slot(
    fake: FakeBedrock, spec: RunSpec, scenario: Scenario, ssm: Any, parameter: str | None
) -> None:
    """What an earlier run left in the slot, when the scenario says the slot exists."""
    existing = scenario.slot
    if existing is None:
        return
    name = spec.serving.slot
    if name is None or parameter is None:
        raise SimulationError(
            f"scenario {scenario.name} declares a serving slot, but the run spec names none"
        )
    base = spec.model.model_id
    champion_arn = fake.declare_custom_model(f"{name}-champion", base, quality=existing.champion_quality)
    earlier = []
    for index in range(existing.earlier_champions):
        quality = max(0.0, existing.champion_quality - 0.05 * (index + 1))
        arn = fake.declare_custom_model(f"{name}-earlier-{index + 1}", base, quality=quality)
        earlier.append(
            slots.Champion(arn, f"{name}-earlier-{index + 1}", f"2026-10-0{index + 1}T09:00:00Z", "passed")
        )
    tags = {slots.SLOT_TAG: name}
    if spec.serving.on_demand:
        kind, endpoint = slots.DEPLOYMENT, fake.declare_deployment(f"{name}-slot", champion_arn, tags)
    else:
        units = spec.serving.model_units or 1
        kind, endpoint = slots.THROUGHPUT, fake.declare_throughput(f"{name}-slot", champion_arn, units, tags)
    champion = slots.Champion(
        champion_arn, existing.champion_run_id, existing.promoted_at, "declared by the simulation scenario"
    )
    document = slots.Slot(name, kind, endpoint, base, champion, tuple(earlier))
    ssm.put_parameter(Name=parameter, Value=json.dumps(document.to_dict()), Type="String", Overwrite=True)


def lock_holder(dynamodb: Any, provisioned: Provisioned, name: str | None) -> str | None:
    """The run id holding the slot's lock (pipeline.slot_lock) now, or None."""
    tables = {
        f.environment["SLOT_LOCK_TABLE"]
        for f, _ in provisioned.functions.values()
        if f.environment.get("SLOT_LOCK_TABLE")
    }
    if name is None or not tables:
        return None
    item = dynamodb.get_item(TableName=tables.pop(), Key={"slot": {"S": name}}).get("Item")
    return str(item["runId"]["S"]) if item else None


def read_slot(ssm: Any, parameter: str | None) -> dict[str, Any] | None:
    if parameter is None:
        return None
    try:
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return None
    document: dict[str, Any] = json.loads(value)
    return document


def slot_checks(result: SimulationResult) -> list[Check]:
    """The serving slot's invariants (none when the run names no slot)."""
    state = result.slot
    if not state.get("parameter"):
        return []
    before, after = state.get("before"), state.get("after")
    ledger = result.ledger
    endpoints = {
        e["arn"]: e
        for group in (ledger["throughputs"], ledger["deployments"], *ledger["existing"].values())
        for e in group
    }
    own = {e["arn"] for e in (*ledger["throughputs"], *ledger["deployments"])}
    holder = state.get("lockAtEnd")
    checks = [
        _keeps_its_arn(before, after, endpoints, own),
        Check(
            "the serving slot's lock is given back when the run ends",
            holder is None,
            "no lock held" if holder is None else f"still held by run {holder}",
        ),
    ]
    document = after or before
    if document is not None:
        checks.append(_serves_what_passed(result, before, document, endpoints))
    if result.status != "SUCCEEDED":
        checks.append(_untouched_by_a_failed_run(before, after, endpoints))
    return checks


def _keeps_its_arn(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    endpoints: Mapping[str, Mapping[str, Any]],
    own: set[str],
) -> Check:
    name = "the serving slot keeps its ARN"
    if before is not None:
        same = after is not None and after["endpointArn"] == before["endpointArn"]
        alive = bool(endpoints.get(before["endpointArn"], {}).get("alive"))
        return Check(
            name,
            same and alive,
            f"{before['endpointArn']} before and after, still alive"
            if same and alive
            else f"before {before['endpointArn']}, after {after and after['endpointArn']}, alive: {alive}",
        )
    if after is None:
        return Check(name, True, "no slot before or after the run")
    endpoint = endpoints.get(after["endpointArn"], {})
    tagged = endpoint.get("addedTags", {}).get(slots.SLOT_TAG) == after["name"]
    ok = after["endpointArn"] in own and bool(endpoint.get("alive")) and tagged
    return Check(
        name,
        ok,
        f"created on the run's own endpoint {after['endpointArn']}, alive and tagged as the slot's"
        if ok
        else f"{after['endpointArn']}: the run's own: {after['endpointArn'] in own}, "
        f"alive: {endpoint.get('alive')}, tagged: {tagged}",
    )


def _serves_what_passed(
    result: SimulationResult,
    before: Mapping[str, Any] | None,
    document: Mapping[str, Any],
    endpoints: Mapping[str, Mapping[str, Any]],
) -> Check:
    """From the moment the endpoint is the slot's, every model it serves passed its bar."""
    arn = document["endpointArn"]
    endpoint = endpoints.get(arn)
    if endpoint is None:
        return Check("the serving slot serves only models that passed their bar", False, f"{arn} unknown")
    since = 0.0
    if before is None:
        since = next((v.entered for v in result.visits if v.name in _RECORD_NEW), result.simulated_seconds)
    champions = set(slots.Slot.from_dict(before).kept_models) if before is not None else set()
    passed_at = passing_verdict_at(result)
    run_models = {j["outputModelArn"] for j in result.ledger["jobs"] if j.get("outputModelArn")}
    # A promotion trains nothing: its model is the earlier run's, evaluated (and passed) by this run.
    promoted = ((result.plan or {}).get("promotion") or {}).get("modelArn")
    if promoted:
        run_models.add(promoted)

    def allowed(model: str, at: float) -> bool:
        if model in champions:
            return True
        return model in run_models and passed_at is not None and passed_at <= at

    served = [(since, endpoint["firstModelArn"])]
    for change in endpoint["changes"]:
        if change["status"] == "UpdateCompleted":
            served.append((max(since, change["doneAt"]), change["targetModelArn"]))
    # What it served at `since` is the last model whose change completed by then.
    timeline = [(at, m) for at, m in served if at >= since]
    bad = [f"{m} from {at:.0f} s" for at, m in timeline if not allowed(m, at)]
    answers = [
        i
        for i in result.ledger["invocations"]
        if i["modelId"] == arn and i["outcome"] == "ok" and i["at"] >= since
    ]
    bad += [
        f"an answer at {i['at']:.0f} s by {i['customModelArn']}"
        for i in answers
        if not allowed(i["customModelArn"], i["at"])
    ]
    return Check(
        "at every moment the serving slot serves a model that passed its bar",
        not bad,
        f"not passed: {bad}"
        if bad
        else f"{len({m for _, m in timeline})} model(s) served from {since:.0f} s, {len(answers)} answer(s) "
        "through the slot, each by a model that passed",
    )


def _untouched_by_a_failed_run(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    endpoints: Mapping[str, Mapping[str, Any]],
) -> Check:
    name = "a run that does not succeed leaves the serving slot as it found it"
    if before is None:
        return Check(
            name, after is None, "no slot created" if after is None else f"a slot was created: {after}"
        )
    champion = before["champion"]["modelArn"]
    serving = endpoints.get(before["endpointArn"], {}).get("modelArn")
    same = after is not None and after["champion"] == before["champion"] and serving == champion
    return Check(
        name,
        same,
        f"champion {champion} recorded and serving"
        if same
        else f"recorded: {after and after['champion']['modelArn']}, serving: {serving}, was {champion}",
    )
