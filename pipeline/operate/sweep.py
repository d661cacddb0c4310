"""Find and delete what the pipeline created and no live run uses any more.

Candidates carry the pipeline's ``bedrock-customization:run-id`` tag:

- Provisioned Throughput without a commitment (a commitment is billed for its term whatever
  happens and Bedrock refuses to delete it early), for either purpose: ``evaluation`` (``-eval``,
  bought to evaluate a model that cannot be deployed on demand; a leftover if it outlived its run)
  or ``serving`` (``-pt``);
- custom model deployments (``-od``): the evaluation vehicle of a run (a leftover once the run
  ended) or its on-demand serving (no hourly charge; deleting it stops the model answering);
- custom models (storage billed monthly), once nothing that is kept still serves them.

Each candidate shows its purpose (the ``bedrock-customization:purpose`` tag, else the name the
pipeline gave it), so a leftover evaluation vehicle is told apart from what serves a finished run.

By default only *evaluation leftovers* go: throughput and deployments whose purpose is
``evaluation`` (bought or created to evaluate a model, and released by the workflow as soon as the
comparison is over, so one still there is a leftover). What serves (purpose ``serving``, or unknown),
and custom models, are kept unless ``--include-serving``: deleting them stops a finished run's model
answering (issue 20: a notice must never point at a sweep that deletes what serves).

Never deleted, whatever the options: a serving slot's endpoint (named by its slot document, or
carrying :data:`pipeline.slots.SLOT_TAG`), its champion and the earlier champions it keeps for
rollback (:func:`keep_serving_slots`, from the slot documents under
``/bedrock-customization/<env>/slots/``), their storage cost shown with the reason they are kept. A
slot document that cannot be read stops the sweep (it could name what a sweep would delete).
Something is also kept when its run is still RUNNING, when it is younger than
``--older-than``, when the run is protected with ``--keep-run``, or when its run is not an execution
of this environment's workflow (another environment's resource, unless ``--include-foreign``).
Deletion goes deployments and throughput first, custom models last, because Bedrock refuses to
delete a model still served.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from pipeline import costs, money, slots
from pipeline.catalog import UnknownModelError, get_model
from pipeline.operate import deployments, output, throughput
from pipeline.operate.aws import Clients
from pipeline.operate.discovery import Deployment
from pipeline.operate.errors import InvalidInputError, error_code
from pipeline.operate.run_lookup import describe_execution
from pipeline.plan import RUN_ID_TAG

THROUGHPUT: Final = "throughput"
DEPLOYMENT: Final = "deployment"
CUSTOM_MODEL: Final = "custom-model"
_ORDER: Final = {DEPLOYMENT: 0, THROUGHPUT: 1, CUSTOM_MODEL: 2}
_AGE_RE: Final = re.compile(r"(\d+)\s*([mhdw])")
_UNITS: Final = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> dt.timedelta:
    """``90m``, ``24h``, ``7d``, ``2w`` (combinable: ``1d12h``)."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _AGE_RE.sub("", compact):
        raise ValueError(f"{text!r} is not an age like 30m, 24h, 7d or 2w")
    seconds = sum(int(n) * _UNITS[unit] for n, unit in _AGE_RE.findall(compact))
    return dt.timedelta(seconds=seconds)


@dataclass
class Candidate:
    kind: str
    arn: str
    name: str
    run_id: str | None
    created: dt.datetime | None
    status: str
    per_day_usd: float | None
    cost_note: str
    model_arn: str | None = None
    purpose: str | None = None
    slot: str | None = None  # the serving slot whose endpoint this is (its slot tag)
    action: str = "delete"
    reason: str = ""
    outcome: str | None = None

    def age_seconds(self, now: dt.datetime) -> float | None:
        return (now - self.created).total_seconds() if self.created else None

    def keep(self, reason: str) -> None:
        if self.action == "delete":
            self.action, self.reason = "keep", reason

    def to_dict(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "arn": self.arn,
            "name": self.name,
            "runId": self.run_id,
            "purpose": self.purpose,
            "slot": self.slot,
            "status": self.status,
            "createdAt": output.iso(self.created),
            "ageSeconds": self.age_seconds(now),
            "perDayUsd": round(self.per_day_usd, 4) if self.per_day_usd is not None else None,
            "costNote": self.cost_note,
            "modelArn": self.model_arn,
            "action": self.action,
            "reason": self.reason,
            "outcome": self.outcome,
        }


@dataclass
class SweepPlan:
    now: dt.datetime
    older_than: dt.timedelta
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def to_delete(self) -> list[Candidate]:
        return sorted((c for c in self.candidates if c.action == "delete"), key=lambda c: _ORDER[c.kind])

    @property
    def kept(self) -> list[Candidate]:
        return [c for c in self.candidates if c.action != "delete"]

    def savings_per_day(self) -> money.Money:
        return money.Money.of({c.arn: c.per_day_usd for c in self.to_delete if c.kind != DEPLOYMENT})

    def render(self, *, dry_run: bool) -> str:
        if not self.candidates:
            return "nothing found: the pipeline has no throughput, deployments or custom models here\n"
        rows = [
            [
                c.kind,
                c.purpose or "-",
                output.short_arn(c.arn),
                c.name,
                c.run_id or "-",
                output.duration(c.age_seconds(self.now)),
                money.usd_rate(c.per_day_usd, "day") if c.kind != DEPLOYMENT else "per token",
                c.outcome or (("would delete" if dry_run else "delete") if c.action == "delete" else "keep"),
                c.reason or c.cost_note,
            ]
            for c in sorted(self.candidates, key=lambda c: (c.action != "delete", _ORDER[c.kind], c.name))
        ]
        table = output.table(
            ["KIND", "PURPOSE", "ID", "NAME", "RUN", "AGE", "COST", "ACTION", "WHY / NOTE"], rows
        )
        deleting = self.to_delete
        verb = "would stop" if dry_run else "stops"
        summary = (
            f"{len(deleting)} to delete (older than {output.duration(self.older_than.total_seconds())}, "
            f"no live run), {len(self.kept)} kept. Deleting them {verb} about {self.savings_per_day()} per "
            "day."
        )
        return f"{table}\n\n{summary}\n"

    def to_dict(self, *, dry_run: bool) -> dict[str, Any]:
        return {
            "dryRun": dry_run,
            "olderThanSeconds": int(self.older_than.total_seconds()),
            "candidates": [c.to_dict(self.now) for c in self.candidates],
            "toDelete": len(self.to_delete),
            "kept": len(self.kept),
            "savingsPerDay": self.savings_per_day().to_dict(),
        }


def _storage_per_day(base_model_arn: str | None) -> float | None:
    model_id = throughput.model_id_of(base_model_arn)
    if model_id is None:
        return None
    try:
        storage = costs.storage_monthly_cost(get_model(model_id))
    except UnknownModelError:
        return None
    return storage.usd * 24 / costs.HOURS_PER_MONTH if storage is not None else None


def _note(purpose: str | None, run_id: str | None, what: str) -> str:
    if purpose == "evaluation":
        return f"{what}; evaluation vehicle: should have been released once the evaluation ended"
    if purpose == "serving":
        return f"{what}; serves run {run_id}'s custom model: deleting it stops the model answering"
    return what


def _tagged(bedrock: Any, arns: Iterable[str]) -> dict[str, dict[str, str]]:
    result = {}
    for arn in arns:
        tags = throughput.tags_of(bedrock, arn)
        if RUN_ID_TAG in tags:
            result[arn] = tags
    return result


def find(
    clients: Clients,
    deployment: Deployment,
    *,
    older_than: dt.timedelta,
    now: dt.datetime,
    keep_runs: Iterable[str] = (),
    include_foreign: bool = False,
    include_serving: bool = False,
) -> SweepPlan:
    bedrock = clients("bedrock")
    plan = SweepPlan(now, older_than)
    for pt in throughput.inventory(bedrock):
        plan.candidates.append(
            Candidate(
                THROUGHPUT,
                pt.arn,
                pt.name,
                pt.run_id,
                pt.created,
                pt.status,
                pt.per_day_usd(),
                _note(
                    pt.purpose,
                    pt.run_id,
                    f"{pt.model_units} MU, {'no commitment' if not pt.has_commitment else pt.commitment}",
                ),
                model_arn=pt.model_arn,
                purpose=pt.purpose,
                slot=pt.tags.get(slots.SLOT_TAG),
            )
        )
        refusal = pt.deletion_refusal(now)
        if refusal is not None:
            plan.candidates[-1].keep(f"{pt.commitment} commitment until {output.utc(pt.commitment_expires)}")

    for deployed in deployments.inventory(bedrock):
        plan.candidates.append(
            Candidate(
                DEPLOYMENT,
                deployed.arn,
                deployed.name,
                deployed.run_id,
                deployed.created,
                deployed.status,
                None,
                _note(deployed.purpose, deployed.run_id, "on-demand: billed per token, no idle charge"),
                model_arn=deployed.model_arn,
                purpose=deployed.purpose,
                slot=deployed.tags.get(slots.SLOT_TAG),
            )
        )

    models: dict[str, dict[str, Any]] = {}
    for page in bedrock.get_paginator("list_custom_models").paginate():
        for item in page.get("modelSummaries", []):
            models[item["modelArn"]] = item
    for arn, tags in _tagged(bedrock, models).items():
        item = models[arn]
        per_day = _storage_per_day(item.get("baseModelArn"))
        plan.candidates.append(
            Candidate(
                CUSTOM_MODEL,
                arn,
                str(item.get("modelName") or ""),
                tags[RUN_ID_TAG],
                output.parse_time(item.get("creationTime")),
                str(item.get("modelStatus") or "unknown"),
                per_day,
                "storage, billed monthly" if per_day is not None else "storage price unknown",
            )
        )

    # Before the other rules: a slot's reason is the one shown, and its endpoint keeps its model.
    keep_serving_slots(clients, deployment, plan)
    if not include_serving:
        for c in plan.candidates:
            if c.kind == CUSTOM_MODEL:
                c.keep("a run's custom model: swept only with --include-serving")
            elif c.purpose != "evaluation":
                c.keep(f"{c.purpose or 'purpose unknown'}: swept only with --include-serving")
    _apply_rules(clients, deployment, plan, set(keep_runs), include_foreign)
    return plan


def keep_serving_slots(clients: Clients, deployment: Deployment, plan: SweepPlan) -> None:
    """Keep what a serving slot serves with or keeps for rollback: its endpoint and custom models."""
    from pipeline.operate import slot_docs

    read = slot_docs.read_all(clients("ssm"), deployment.environment)
    if read.unreadable:
        parameter, why = read.unreadable[0]
        raise InvalidInputError(
            f"cannot read serving slot document {parameter} ({why}): refusing to sweep, since it may name "
            "what a sweep would delete",
            hint="fix or delete that parameter, then sweep again",
        )
    endpoints = {s.endpoint_arn: s.name for s in read.slots}
    champions = {s.champion.model_arn: s.name for s in read.slots}
    kept = slots.kept_models(read.slots)
    for c in plan.candidates:
        if c.kind != CUSTOM_MODEL and c.slot is not None and c.arn not in endpoints:
            # Tagged as a slot's endpoint though no document names it (yet, or any more): kept all
            # the same; the IAM deny on the tag would refuse the delete anyway.
            c.keep(f"endpoint of serving slot {c.slot} (its tag)")
        elif c.kind != CUSTOM_MODEL and c.arn in endpoints:
            c.keep(f"endpoint of serving slot {endpoints[c.arn]}")
        elif c.kind == CUSTOM_MODEL and c.arn in champions:
            c.keep(f"champion of serving slot {champions[c.arn]}")
        elif c.kind == CUSTOM_MODEL and c.arn in kept:
            c.keep(f"kept for rollback by serving slot {kept[c.arn]}")


def _apply_rules(
    clients: Clients, deployment: Deployment, plan: SweepPlan, keep_runs: set[str], include_foreign: bool
) -> None:
    sfn = clients("stepfunctions")
    run_status: dict[str, str | None] = {}

    def status_of(run_id: str) -> str | None:
        if run_id not in run_status:
            described = describe_execution(sfn, deployment, run_id)
            run_status[run_id] = str(described["status"]) if described else None
        return run_status[run_id]

    for c in plan.candidates:
        if c.action != "delete":
            continue
        if c.run_id in keep_runs:
            c.keep("protected by --keep-run")
            continue
        if c.run_id is None:
            c.keep("no run-id tag")
            continue
        status = status_of(c.run_id)
        if status is None and not include_foreign:
            c.keep(
                f"run {c.run_id} is not a run of {deployment.stack_name} "
                "(another environment? see --include-foreign)"
            )
        elif status in ("RUNNING", "PENDING_REDRIVE"):
            c.keep(f"run {c.run_id} is still {status}")
        else:
            age = c.age_seconds(plan.now)
            if age is None or age < plan.older_than.total_seconds():
                c.keep(f"younger than {output.duration(plan.older_than.total_seconds())}")
    # A custom model stays while anything kept still serves it (Bedrock would refuse anyway).
    serving = {
        c.model_arn: c
        for c in plan.candidates
        if c.kind != CUSTOM_MODEL and c.action != "delete" and c.model_arn
    }
    for c in plan.candidates:
        if c.kind == CUSTOM_MODEL and c.arn in serving:
            kept = serving[c.arn]
            c.keep(f"still served by kept {kept.kind} {output.short_arn(kept.arn)}")


def execute(clients: Clients, plan: SweepPlan) -> None:
    """Delete what the plan marks, recording each outcome; one failure does not stop the rest."""
    bedrock = clients("bedrock")
    released: set[str] = set()
    for c in plan.to_delete:
        try:
            if c.kind == DEPLOYMENT:
                bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=c.arn)
            elif c.kind == THROUGHPUT:
                bedrock.delete_provisioned_model_throughput(provisionedModelId=c.arn)
            else:
                bedrock.delete_custom_model(modelIdentifier=c.arn)
        except Exception as exc:
            code = error_code(exc)
            if code in throughput.GONE:
                c.outcome = "already gone"
            elif code == "ConflictException" and c.kind == CUSTOM_MODEL and c.arn in released:
                # Its throughput or deployment was deleted moments ago; Bedrock may still hold it.
                c.outcome = "deferred"
                c.reason = "still being released by what served it; the next sweep deletes it"
            elif code:
                c.outcome = f"FAILED: {code}"
                c.reason = str(exc)
            else:
                raise
        else:
            c.outcome = "deleted"
            if c.model_arn:
                released.add(c.model_arn)


def failures(plan: SweepPlan) -> list[Candidate]:
    return [c for c in plan.candidates if c.outcome and c.outcome.startswith("FAILED")]


def check_age(text: str) -> dt.timedelta:
    try:
        return parse_age(text)
    except ValueError as exc:
        raise InvalidInputError(str(exc), hint="use e.g. --older-than 24h, 90m, 7d") from exc
