"""Named simulation scenarios, defined as data in ``scenarios.json`` next to this module.

A scenario says what the world does and what the workflow must do about it; adding one needs no
code. Keys (camelCase; unknown keys are errors)::

    {
      "name": "pt-failed",                        # [a-z0-9-], unique
      "description": "one line for people",
      "spec": "examples/runs/fine-tuning.yaml",   # the run spec the test suite and the demo use
      "overrides": {...},                         # deep-merged into the run spec before it is
                                                  #   parsed (objects merge, other values replace,
                                                  #   null removes the key)
      "datasets": {"training": {"appendLines": ["not json"]}},
                                                  # lines appended to a dataset before upload
                                                  #   (training | validation | prompts)
      "bedrock": {                                # the simulated Bedrock's behaviour
        "job": {"durationSeconds", "outcome": "Completed|Failed|Stopped", "failureMessage",
                "trainingLoss": [first, final], "validationLoss": [first, final], "steps",
                "reward": [first, final]},         # RFT: share of right sampled answers per step
        "throughput": {"creatingSeconds", "outcome": "InService|Failed|Creating",
                       "failureMessage", "deleteWhileCreating", "updateSeconds"},
        "deployment": {"creatingSeconds", "outcome": "Active|Failed|Creating", "failureMessage",
                       "updateSeconds"},          # custom model deployments (on-demand serving)
                                                  # updateSeconds: how long an in-place model change
                                                  #   takes (a failed one: a fault with effect
                                                  #   "eventually", pipeline.simulation.faults)
        "models": {"customQuality", "baseQuality", "teacherQuality", "customLatencyMs", "baseLatencyMs",
                   "msPerOutputToken", "baseError": "AccessDeniedException" | null,
                   "baseErrorEvery": 20 | null,
                   "liveLifecycle": "ACTIVE" | "LEGACY" | "GONE"},
        "judge": {"seconds", "outcome": "Completed|Failed", "customScore", "baseScore",
                  "championScore", "failureMessage"}
                                                  # LLM-judge evaluation jobs: how long, how they end,
                                                  #   the judge's mean score (0..1) for each model
                                                  #   (championScore: the slot's champion, judged
                                                  #   where the scenario declares a slot)
                                                  # liveLifecycle: what GetFoundationModel says of the
                                                  #   base model (GONE: ResourceNotFoundException)
                                                  # baseError: every Converse call on the base
                                                  #   model fails with it (a Converse error code)
                                                  # baseErrorEvery: every Nth base-model call fails
                                                  #   (ModelErrorException: that prompt only)
      },
      "approval": {"decision": "approve|reject|none|malformed|forged", "afterSeconds": 1800,
                   "approver": "...", "reason": "..."},
                                                  # what the human does when asked ("none": never
                                                  #   answers, so the approval times out; "forged" /
                                                  #   "malformed": someone with the task token from the
                                                  #   execution history sends SendTaskSuccess by hand,
                                                  #   claiming an approval / with no answer at all).
                                                  #   The run is started by the IAM user
                                                  #   "simulated-starter"; an approver of that name is
                                                  #   the starter approving their own run
      "faults": [{"call", "error", "times", "skip", "per", "effect", "message"}],
                                                  # see pipeline.simulation.faults
      "abort": {"onCall": "bedrock:GetProvisionedModelThroughput", "skip": 0},
                                                  # someone stops the execution from outside (console,
                                                  #   API) when that Bedrock call is made (after
                                                  #   skipping the first ``skip`` of them)
      "reusedRunId": true,                        # an earlier, successful execution of the same run
                                                  # id still serves (name reuse): its job, model and
                                                  # throughput exist under the run's names
      "promotion": true,                          # the run is `promote`'s: an earlier, successful run
                                                  #   of the same spec trained the model (its job,
                                                  #   metrics and passing evaluation are there); the
                                                  #   run promotes it into the spec's serving.slot
                                                  #   (pipeline.promotion), trains nothing
      "duplicateStart": true,                     # start the same run again while it runs and
                                                  #   after it ended
      "slot": {"championQuality": 0.7, "championRunId": "...", "promotedAt": "...",
               "earlierChampions": 1},            # the run spec's serving.slot exists already: its
                                                  #   SSM document, and the endpoint (of the spec's
                                                  #   serving kind) it points at, serving a champion
                                                  #   of the spec's base model that answers with
                                                  #   championQuality (ROUGE-L 0-1); earlierChampions
                                                  #   kept in its history for rollback
      "expect": {                                 # what the test suite asserts
        "status": "SUCCEEDED|FAILED", "error": "LossAboveBar" | null,
        "causeContains": ["..."], "transitions": 38,
        "path": ["state", ..., {"repeat": ["state", ...], "times": 4}, ...],
        "notifications": ["subject substring", ...],
        "jobs": 1, "jobStatus": "Completed", "purchases": 1, "aliveAtEnd": 1,
        "deployments": 1, "deploymentsAliveAtEnd": 0,
        "approval": "approved|rejected|timed-out|not-asked"
      }
    }
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final

from pipeline.simulation.fake_bedrock import (
    BedrockBehaviour,
    DeploymentBehaviour,
    JobBehaviour,
    JudgeBehaviour,
    ModelBehaviour,
    ThroughputBehaviour,
    converse_error_codes,
)
from pipeline.simulation.faults import FaultConfigError, FaultRule

SCENARIOS_FILE: Final = "scenarios.json"
_NAME: Final = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_KEYS: Final = (
    "name",
    "description",
    "spec",
    "overrides",
    "datasets",
    "bedrock",
    "approval",
    "faults",
    "duplicateStart",
    "reusedRunId",
    "promotion",
    "abort",
    "slot",
    "expect",
)
_SLOT_KEYS: Final = ("championQuality", "championRunId", "promotedAt", "earlierChampions")
_JOB_KEYS: Final = {
    "durationSeconds": "duration_seconds",
    "outcome": "outcome",
    "failureMessage": "failure_message",
    "trainingLoss": "training_loss",
    "validationLoss": "validation_loss",
    "steps": "steps",
    "reward": "reward",
}
_THROUGHPUT_KEYS: Final = {
    "creatingSeconds": "creating_seconds",
    "outcome": "outcome",
    "failureMessage": "failure_message",
    "deleteWhileCreating": "delete_while_creating",
    "updateSeconds": "update_seconds",
}
_DEPLOYMENT_KEYS: Final = {
    "creatingSeconds": "creating_seconds",
    "outcome": "outcome",
    "failureMessage": "failure_message",
    "updateSeconds": "update_seconds",
}
_DEPLOYMENT_OUTCOMES: Final = ("Active", "Failed", "Creating")
_MODEL_KEYS: Final = {
    "customQuality": "custom_quality",
    "baseQuality": "base_quality",
    "teacherQuality": "teacher_quality",
    "customLatencyMs": "custom_latency_ms",
    "baseLatencyMs": "base_latency_ms",
    "msPerOutputToken": "ms_per_output_token",
    "baseError": "base_error",
    "baseErrorEvery": "base_error_every",
    "liveLifecycle": "live_lifecycle",
}
_JUDGE_KEYS: Final = {
    "seconds": "seconds",
    "outcome": "outcome",
    "customScore": "custom_score",
    "baseScore": "base_score",
    "championScore": "champion_score",
    "failureMessage": "failure_message",
}
_JUDGE_OUTCOMES: Final = ("Completed", "Failed")
_APPROVAL_KEYS: Final = ("decision", "afterSeconds", "approver", "reason")
# "malformed": someone with the token answers by hand (SendTaskSuccess) without approved/approver/reason;
# "forged": the same, with a well-formed approval.
_DECISIONS: Final = ("approve", "reject", "none", "malformed", "forged")
# The IAM user who starts every simulated run (through the start function's URL).
STARTER: Final = "simulated-starter"
_DATASET_ROLES: Final = ("training", "validation", "prompts")
_EXPECT_KEYS: Final = (
    "status",
    "error",
    "causeContains",
    "transitions",
    "path",
    "notifications",
    "jobs",
    "jobStatus",
    "purchases",
    "aliveAtEnd",
    "deployments",
    "deploymentsAliveAtEnd",
    "approval",
    # the final status of each execution of the retrying release, in start order
    "releases",
)


@dataclass(frozen=True)
class ExistingSlot:
    """The serving slot the run promotes into, there before the run (its champion, its endpoint)."""

    champion_quality: float = 0.7
    champion_run_id: str = "champion-20261101-0000000000"
    promoted_at: str = "2026-11-01T09:00:00Z"
    earlier_champions: int = 0

    @classmethod
    def from_dict(cls, data: Any, where: str) -> ExistingSlot:
        _no_unknown(data, _SLOT_KEYS, f"{where}: slot")
        quality = data.get("championQuality", cls.champion_quality)
        if isinstance(quality, bool) or not isinstance(quality, int | float) or not 0 <= quality <= 1:
            raise ScenarioError(f"{where}: slot.championQuality must be a number from 0 to 1")
        earlier = data.get("earlierChampions", 0)
        if isinstance(earlier, bool) or not isinstance(earlier, int) or earlier < 0:
            raise ScenarioError(f"{where}: slot.earlierChampions must be a whole number >= 0")
        for key in ("championRunId", "promotedAt"):
            if key in data and (not isinstance(data[key], str) or not data[key]):
                raise ScenarioError(f"{where}: slot.{key} must be a non-empty string")
        return cls(
            float(quality),
            str(data.get("championRunId", cls.champion_run_id)),
            str(data.get("promotedAt", cls.promoted_at)),
            earlier,
        )


@dataclass(frozen=True)
class Abort:
    """Stop the execution from outside when a given Bedrock call is made (after ``skip`` of them)."""

    on_call: str
    skip: int = 0


class ScenarioError(ValueError):
    """A scenario definition that cannot be used."""


@dataclass(frozen=True)
class Approval:
    decision: str = "approve"
    after_seconds: int = 1800
    approver: str = "simulated-approver@example.com"
    reason: str = "approved in the simulation"

    def output(self) -> dict[str, Any]:
        """What the CLI sends back with SendTaskSuccess (docs/workflow-contract.md, ``$.approval``)."""
        return {"approved": self.decision == "approve", "approver": self.approver, "reason": self.reason}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    spec: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    datasets: Mapping[str, list[str]] = field(default_factory=dict)
    bedrock: BedrockBehaviour = field(default_factory=BedrockBehaviour)
    approval: Approval = field(default_factory=Approval)
    faults: tuple[FaultRule, ...] = ()
    duplicate_start: bool = False
    reused_run_id: bool = False
    promotion: bool = False
    abort: Abort | None = None
    slot: ExistingSlot | None = None
    expect: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, spec_data: Any) -> Any:
        """The run spec data with this scenario's overrides merged in."""
        return merge(spec_data, self.overrides)

    @classmethod
    def from_dict(cls, data: Any) -> Scenario:
        if not isinstance(data, Mapping):
            raise ScenarioError(f"a scenario is an object, got {type(data).__name__}")
        name = data.get("name")
        where = f"scenario {name!r}"
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ScenarioError(f"{where}: name must be lowercase words joined by '-'")
        _no_unknown(data, _KEYS, where)
        for key in ("description", "spec"):
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise ScenarioError(f"{where}: {key} is required (a string)")
        overrides = data.get("overrides", {})
        if not isinstance(overrides, Mapping):
            raise ScenarioError(f"{where}: overrides must be an object")
        datasets: dict[str, list[str]] = {}
        for role, change in (data.get("datasets") or {}).items():
            if role not in _DATASET_ROLES:
                raise ScenarioError(f"{where}: datasets.{role}: one of {', '.join(_DATASET_ROLES)}")
            _no_unknown(change, ("appendLines",), f"{where}: datasets.{role}")
            lines = change.get("appendLines")
            if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
                raise ScenarioError(f"{where}: datasets.{role}.appendLines must be a list of strings")
            datasets[role] = list(lines)
        try:
            faults = tuple(
                FaultRule.from_dict(rule, f"{where}: faults[{i}]")
                for i, rule in enumerate(data.get("faults") or [])
            )
        except FaultConfigError as error:
            raise ScenarioError(str(error)) from None
        expect = dict(data.get("expect") or {})
        _no_unknown(expect, _EXPECT_KEYS, f"{where}: expect")
        if expect.get("status") not in ("SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"):
            raise ScenarioError(f"{where}: expect.status must be SUCCEEDED, FAILED, ABORTED or TIMED_OUT")
        if "path" in expect:
            expect["path"] = expand_path(expect["path"], f"{where}: expect.path")
        duplicate = data.get("duplicateStart", False)
        if not isinstance(duplicate, bool):
            raise ScenarioError(f"{where}: duplicateStart must be true or false")
        reused = data.get("reusedRunId", False)
        if not isinstance(reused, bool):
            raise ScenarioError(f"{where}: reusedRunId must be true or false")
        promotion = data.get("promotion", False)
        if not isinstance(promotion, bool):
            raise ScenarioError(f"{where}: promotion must be true or false")
        abort = None
        if data.get("abort") is not None:
            section = data["abort"]
            _no_unknown(section, ("onCall", "skip"), f"{where}: abort")
            call, skip = section.get("onCall"), section.get("skip", 0)
            if not isinstance(call, str) or ":" not in call:
                raise ScenarioError(f"{where}: abort.onCall must name a call as service:Operation")
            if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
                raise ScenarioError(f"{where}: abort.skip must be a whole number >= 0")
            abort = Abort(call, skip)
        return cls(
            name=name,
            description=data["description"].strip(),
            spec=data["spec"],
            overrides=copy.deepcopy(dict(overrides)),
            datasets=datasets,
            bedrock=_behaviour(data.get("bedrock") or {}, where),
            approval=_approval(data.get("approval") or {}, where),
            faults=faults,
            duplicate_start=duplicate,
            reused_run_id=reused,
            promotion=promotion,
            abort=abort,
            slot=ExistingSlot.from_dict(data["slot"], where) if data.get("slot") is not None else None,
            expect=copy.deepcopy(dict(expect)),
        )


def expand_path(items: Any, where: str = "path") -> list[str]:
    """State names in order; ``{"repeat": [names], "times": n}`` stands for a loop taken n times."""
    if not isinstance(items, list):
        raise ScenarioError(f"{where} must be a list")
    names: list[str] = []
    for item in items:
        if isinstance(item, str):
            names.append(item)
            continue
        _no_unknown(item, ("repeat", "times"), f"{where} item")
        loop, times = item.get("repeat"), item.get("times")
        if not isinstance(loop, list) or not all(isinstance(n, str) for n in loop) or not loop:
            raise ScenarioError(f"{where}: repeat must be a non-empty list of state names")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ScenarioError(f"{where}: times must be an integer >= 1")
        names += loop * times
    return names


def merge(base: Any, overrides: Mapping[str, Any]) -> Any:
    """Deep merge: objects merge key by key, anything else replaces, None removes the key."""
    if not isinstance(base, Mapping):
        return copy.deepcopy(dict(overrides))
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _no_unknown(data: Any, allowed: tuple[str, ...] | Mapping[str, str], where: str) -> None:
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{where} must be an object")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {unknown}; allowed: {', '.join(allowed)}")


def _section(data: Any, keys: Mapping[str, str], where: str) -> dict[str, Any]:
    _no_unknown(data, keys, where)
    values: dict[str, Any] = {}
    for key, attribute in keys.items():
        if key in data:
            value = data[key]
            values[attribute] = tuple(value) if isinstance(value, list) else value
    return values


def _behaviour(data: Any, where: str) -> BedrockBehaviour:
    _no_unknown(data, ("job", "throughput", "deployment", "models", "judge"), f"{where}: bedrock")
    judge = _section(data.get("judge") or {}, _JUDGE_KEYS, f"{where}: bedrock.judge")
    if judge.get("outcome", "Completed") not in _JUDGE_OUTCOMES:
        raise ScenarioError(f"{where}: bedrock.judge.outcome must be one of {', '.join(_JUDGE_OUTCOMES)}")
    deployment = _section(data.get("deployment") or {}, _DEPLOYMENT_KEYS, f"{where}: bedrock.deployment")
    if deployment.get("outcome", "Active") not in _DEPLOYMENT_OUTCOMES:
        raise ScenarioError(
            f"{where}: bedrock.deployment.outcome must be one of {', '.join(_DEPLOYMENT_OUTCOMES)}"
        )
    models = _section(data.get("models") or {}, _MODEL_KEYS, f"{where}: bedrock.models")
    base_error = models.get("base_error")
    if base_error is not None and (
        not isinstance(base_error, str) or base_error not in converse_error_codes()
    ):
        raise ScenarioError(
            f"{where}: bedrock.models.baseError must be null or an error code Converse answers: "
            f"{', '.join(sorted(converse_error_codes()))}"
        )
    every = models.get("base_error_every")
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every < 1):
        raise ScenarioError(f"{where}: bedrock.models.baseErrorEvery must be null or a positive integer")
    if models.get("live_lifecycle", "ACTIVE") not in ("ACTIVE", "LEGACY", "GONE"):
        raise ScenarioError(f"{where}: bedrock.models.liveLifecycle must be ACTIVE, LEGACY or GONE")
    try:
        return BedrockBehaviour(
            job=JobBehaviour(**_section(data.get("job") or {}, _JOB_KEYS, f"{where}: bedrock.job")),
            throughput=ThroughputBehaviour(
                **_section(data.get("throughput") or {}, _THROUGHPUT_KEYS, f"{where}: bedrock.throughput")
            ),
            deployment=DeploymentBehaviour(**deployment),
            models=ModelBehaviour(**models),
            judge=JudgeBehaviour(**judge),
        )
    except TypeError as error:
        raise ScenarioError(f"{where}: bedrock: {error}") from None


def _approval(data: Any, where: str) -> Approval:
    _no_unknown(data, _APPROVAL_KEYS, f"{where}: approval")
    decision = data.get("decision", "approve")
    if decision not in _DECISIONS:
        raise ScenarioError(f"{where}: approval.decision must be one of {', '.join(_DECISIONS)}")
    after = data.get("afterSeconds", 1800)
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ScenarioError(f"{where}: approval.afterSeconds must be an integer >= 0")
    defaults = Approval()
    reason = data.get("reason") or ("no decision" if decision == "none" else defaults.reason)
    return Approval(decision, after, str(data.get("approver") or defaults.approver), str(reason))


def load_scenarios(text: str | None = None) -> dict[str, Scenario]:
    """Every scenario by name, from ``scenarios.json`` (or the given JSON text)."""
    if text is None:
        text = resources.files("pipeline.simulation").joinpath(SCENARIOS_FILE).read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ScenarioError(f"{SCENARIOS_FILE} is not JSON: {error}") from None
    items = document.get("scenarios") if isinstance(document, Mapping) else None
    if not isinstance(items, list) or not items:
        raise ScenarioError(f'{SCENARIOS_FILE} must hold {{"scenarios": [...]}}')
    scenarios: dict[str, Scenario] = {}
    for item in items:
        scenario = Scenario.from_dict(item)
        if scenario.name in scenarios:
            raise ScenarioError(f"scenario {scenario.name!r} is defined twice")
        scenarios[scenario.name] = scenario
    return scenarios


def get_scenario(name: str) -> Scenario:
    scenarios = load_scenarios()
    if name not in scenarios:
        raise ScenarioError(f"unknown scenario {name!r}; known: {', '.join(scenarios)}")
    return scenarios[name]
