"""``bedrock-customize promote RUN --slot NAME``: an earlier run's model into a serving slot.

The promotion is a run of the deployed workflow (pipeline.promotion): the CLI only prepares it.
It reads the earlier run (it must have succeeded), its spec (the execution's input) and the slot,
checks the earlier run's model with the same rules the workflow's preflight applies
(:func:`pipeline.promotion.check_source`), and starts ``<run id>-p<n>`` with the earlier spec,
``serving.slot`` set, and ``promoteFrom``. The workflow then evaluates the model against the base
and the slot's current champion, asks for the approval the policy or the stack asks for, changes the
slot in place, smoke-checks it through its ARN and records it, or changes it back.

Calls: states:DescribeExecution, bedrock:GetCustomModel and bedrock:ListTagsForResource (the
earlier model), s3:GetObject (its evaluation.json), ssm:GetParameter (the slot), and the start
function URL (or states:StartExecution).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from pipeline import promotion, slots
from pipeline.operate import hints
from pipeline.operate.errors import InvalidInputError, error_code
from pipeline.runspec import RunSpec, RunSpecError
from pipeline.runspec.model import NOT_SERVED, ON_DEMAND, PROVISIONED

# Promotions of one earlier run looked up before giving up (each attempt that ended is a new run id).
MAX_ATTEMPTS: Final = 20
_SERVING_MODE_OF: Final = {slots.DEPLOYMENT: ON_DEMAND, slots.THROUGHPUT: PROVISIONED}


def resolve_source(
    describe: Callable[[str], Mapping[str, Any] | None], run_id: str
) -> tuple[str, Mapping[str, Any] | None, list[str]]:
    """The run that trained the model ``run_id`` serves: a promotion's model is its earlier run's
    (followed back through promotions of promotions). Returns (run id, its execution, the chain)."""
    chain: list[str] = []
    current, described = run_id, describe(run_id)
    while described is not None and len(chain) < MAX_ATTEMPTS:
        earlier = _input(described).get(promotion.PROMOTE_FROM)
        if not isinstance(earlier, str):
            break
        chain.append(current)
        current, described = earlier, describe(earlier)
    return current, described, chain


def _input(described: Mapping[str, Any]) -> dict[str, Any]:
    try:
        document = json.loads(str(described.get("input") or ""))
    except json.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def source_spec(described: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """The earlier run's spec, from its execution's input. A run still going is not promoted; one
    that ended is, however it ended, if its model passed its bars (a run can pass them and still
    fail later, e.g. its own slot change: pipeline.promotion.check_source reads its evaluation)."""
    status = described.get("status")
    if status == "RUNNING":
        raise InvalidInputError(
            f"run {run_id} is still going: a model is promoted once its run has ended",
            hint=f"follow it: `{hints.command('watch', run_id)}`",
        )
    spec = _input(described).get("runSpec")
    if not isinstance(spec, dict):
        raise InvalidInputError(f"run {run_id}'s execution input holds no run spec: it cannot be promoted")
    return spec


def spec_into_slot(spec: Mapping[str, Any], slot_name: str, slot: slots.Slot | None) -> RunSpec:
    """The earlier spec, serving from ``slot_name``: into an existing slot the way the slot serves
    (a run that served nothing or on another kind serves the slot's kind: nothing is bought in place);
    a first promotion creates the slot's endpoint as the spec serves."""
    data = copy.deepcopy(dict(spec))
    serving = dict(data.get("serving") or {"mode": NOT_SERVED})
    mode = serving.get("mode")
    if slot is not None and _SERVING_MODE_OF[slot.kind] != mode:
        wanted = _SERVING_MODE_OF[slot.kind]
        if wanted == PROVISIONED:
            raise InvalidInputError(
                f"slot {slot_name} serves on provisioned throughput and run's spec serves {mode}: the "
                "promotion would need the throughput's model units in its spec",
                hint="start a run of a spec with serving.mode=provisioned and this serving.slot instead",
            )
        serving = {"mode": wanted}
    if slot is None and mode == NOT_SERVED:
        raise InvalidInputError(
            f"slot {slot_name} does not exist yet, and the run's spec serves nothing (serving.mode=none): a "
            "first promotion creates the slot's endpoint as the spec serves",
            hint="start a run of the spec with serving.mode=on-demand (or provisioned) and serving.slot",
        )
    serving["slot"] = slot_name
    data["serving"] = serving
    evaluation = data.get("evaluation")
    if slot is None and isinstance(evaluation, dict):
        # Only a slot with a champion has a champion bar.
        evaluation.pop("minImprovementOverChampion", None)
    try:
        return RunSpec.from_dict(data)
    except RunSpecError as error:
        raise InvalidInputError(
            f"the run's spec does not promote into slot {slot_name}: "
            + "; ".join(str(p) for p in error.problems)
        ) from error


def next_run_id(describe: Callable[[str], Mapping[str, Any] | None], source_run_id: str) -> str:
    """The first promotion id of the earlier run that no execution holds; refused while one runs."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        candidate = promotion.promotion_id(source_run_id, attempt)
        described = describe(candidate)
        if described is None:
            return candidate
        if described.get("status") == "RUNNING":
            raise InvalidInputError(
                f"promotion {candidate} of run {source_run_id} is still going: one at a time",
                hint=f"follow it: `{hints.command('watch', candidate)}`",
            )
    raise InvalidInputError(f"run {source_run_id} was promoted {MAX_ATTEMPTS} times already; nothing started")


def check_source(
    bedrock: Any,
    read_document: Callable[[str], Mapping[str, Any] | None],
    source_run_id: str,
    spec: RunSpec,
    slot: slots.Slot | None,
) -> promotion.Source:
    """The earlier run's model, checked as the workflow's preflight will check it."""
    source, problems = promotion.read_source(
        bedrock,
        read_document,
        error_code,
        source_run_id,
        judged=spec.judge is not None,
        base_model=spec.base_model,
        champion_model_arn=slot.champion.model_arn if slot is not None else None,
    )
    if source is None:
        raise InvalidInputError("; ".join(p.message for p in problems))
    return source
