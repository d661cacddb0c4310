"""Which execution created a resource, and whether a run's names are still free.

Every resource a run creates (its customization job and custom model, its on-demand deployment, its
throughput of either purpose, its LLM-judge evaluation jobs) carries the tags of the execution that
created it: ``bedrock-customization:execution-arn`` and ``...:execution-start`` (pipeline.plan). A
run's names derive from its run id, and run ids recur: Step Functions accepts an execution name
again 90 days after the last one ended, a re-created stack has no history at all, and anyone may
start an execution by hand. So a name says which run id a resource belongs to, never which
execution: cleanup deletes only what carries *its own* execution's ARN and start (the ARN alone
recurs with the name), and leaves anything else alone, reported.

The preflight refuses a run whose job, custom model, deployment or throughput names exist already:
such a run would get back, by its idempotency tokens, what an earlier execution created, and could
delete it on failure. A fresh run gets fresh names (``start --rerun``, or another run name).

Pure but for the Bedrock client passed in. Calls (``taken_names``): bedrock:GetModelCustomizationJob,
bedrock:GetCustomModel, bedrock:GetCustomModelDeployment, bedrock:GetProvisionedModelThroughput, each
by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pipeline.approval_records import START_SLACK, parse_time
from pipeline.plan import EXECUTION_ARN_TAG, EXECUTION_START_TAG, RUN_ID_TAG
from pipeline.problems import Problem

GONE: Final = frozenset({"ResourceNotFoundException", "NotFound", "404"})
CLI: Final = "bedrock-customize"


@dataclass(frozen=True)
class Execution:
    """One execution of the workflow: its ARN and when it started (ISO 8601, UTC)."""

    arn: str
    start: str

    @classmethod
    def of(cls, arn: Any, start: Any) -> Execution:
        """From the context object (``$$.Execution.Id`` and ``.StartTime``, an ISO string) or an
        execution-status event (``detail.executionArn`` and ``detail.startDate``, epoch ms)."""
        if not isinstance(arn, str) or ":execution:" not in arn:
            raise ValueError(f"not an execution ARN: {arn!r}")
        if isinstance(start, int | float) and not isinstance(start, bool):
            when = dt.datetime.fromtimestamp(start / 1000, dt.UTC)
        else:
            parsed = parse_time(start)
            if parsed is None:
                raise ValueError(f"not an execution start time: {start!r}")
            when = parsed
        return cls(arn, when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"))

    @property
    def started(self) -> dt.datetime:
        parsed = parse_time(self.start)
        assert parsed is not None, self.start
        return parsed

    def owns(self, tags: Mapping[str, str]) -> bool:
        """Whether a resource with these tags was created by this very execution."""
        if tags.get(EXECUTION_ARN_TAG) != self.arn:
            return False
        tagged = parse_time(tags.get(EXECUTION_START_TAG))
        return tagged is not None and abs(tagged - self.started) <= START_SLACK

    def to_dict(self) -> dict[str, str]:
        return {"arn": self.arn, "start": self.start}


def owner_of(tags: Mapping[str, str]) -> str:
    """Who created a resource, in words, from its tags."""
    arn = tags.get(EXECUTION_ARN_TAG)
    if not arn:
        run = tags.get(RUN_ID_TAG)
        return (
            f"run {run}, by an execution that did not tag it (created before execution tags existed)"
            if run
            else "something other than this pipeline's runs (no run or execution tag)"
        )
    return f"execution {arn} started {tags.get(EXECUTION_START_TAG) or 'at an unknown time'}"


# --------------------------------------------------------------------------------------------------
# The preflight: names a run would create that exist already
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TakenName:
    """A name of the plan that an existing resource holds."""

    what: str  # in words: "customization job", "custom model", ...
    field: str  # where the plan holds the name
    name: str
    arn: str


def planned_names(plan: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(what, plan field, name, Bedrock getter) of everything the plan would create under a name."""
    # A promotion's job and model are the earlier run's (pipeline.promotion): not created, so not
    # names it needs free.
    job = {} if plan.get("promotion") else plan.get("job") or {}
    vehicle = plan.get("vehicle") or {}
    serving = plan.get("serving") or {}
    names = [
        ("customization job", "job.JobName", job.get("JobName"), "get_model_customization_job"),
        ("custom model", "job.CustomModelName", job.get("CustomModelName"), "get_custom_model"),
        (
            "on-demand deployment",
            "vehicle.ModelDeploymentName",
            vehicle.get("ModelDeploymentName"),
            "get_custom_model_deployment",
        ),
        (
            "provisioned throughput",
            "vehicle.ProvisionedModelName",
            vehicle.get("ProvisionedModelName"),
            "get_provisioned_model_throughput",
        ),
        (
            "provisioned throughput",
            "serving.ProvisionedModelName",
            serving.get("ProvisionedModelName"),
            "get_provisioned_model_throughput",
        ),
    ]
    seen: set[tuple[str, str]] = set()
    found = []
    for what, field, name, getter in names:
        if isinstance(name, str) and name and (getter, name) not in seen:
            seen.add((getter, name))
            found.append((what, field, name, getter))
    return found


_REQUEST: Final = {
    "get_model_customization_job": ("jobIdentifier", "jobArn"),
    "get_custom_model": ("modelIdentifier", "modelArn"),
    "get_custom_model_deployment": ("customModelDeploymentIdentifier", "customModelDeploymentArn"),
    "get_provisioned_model_throughput": ("provisionedModelId", "provisionedModelArn"),
}


def taken_names(
    bedrock: Any, plan: Mapping[str, Any], error_code: Callable[[Exception], str]
) -> list[TakenName]:
    """The plan's names that exist in the account and region already (each looked up by name).

    Any error but "not found" escapes: an unchecked name never passes silently.
    """
    taken = []
    for what, field, name, getter in planned_names(plan):
        member, arn_key = _REQUEST[getter]
        try:
            described = getattr(bedrock, getter)(**{member: name})
        except Exception as error:
            if error_code(error) in GONE:
                continue
            raise
        taken.append(TakenName(what, field, name, str(described.get(arn_key) or name)))
    return taken


def rerun_command(env: str | None, region: str | None) -> str:
    """The start of a fresh run of the same spec (``start --rerun``: a new run id, new names)."""
    parts = [CLI, "start", "RUN_SPEC", "--rerun"]
    if env:
        parts += ["--env", env]
    if region:
        parts += ["--region", region]
    return " ".join(parts)


def name_problems(
    taken: list[TakenName], run_id: str, *, env: str | None, region: str | None
) -> list[Problem]:
    """One preflight problem per taken name: what holds it, and how to start a fresh run instead."""
    if not taken:
        return []
    rerun = rerun_command(env, region)
    return [
        Problem(
            f"plan.{t.field}",
            t.name,
            "a name no resource of the account holds yet",
            f"the {t.what} {t.name} exists already ({t.arn}): run id {run_id} was used before (an "
            "execution name recurs after 90 days, in a re-created stack, or when started by hand), "
            "and this run could take over, or on failure delete, what that run created. Nothing "
            f"was started. Start the spec as a fresh run: `{rerun}` (or give the run spec another "
            "name)",
        )
        for t in taken
    ]
