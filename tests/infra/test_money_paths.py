"""The money rules, proven on every path of the synthesized definition of every environment.

Scenario tests show what a run does on the paths someone thought of; this walks all of them
(tests/infra/asl_paths.py) on the state machine as CloudFormation would create it, and checks:

- ``verdict-before-serving``: each serving purchase (throughput bought to serve, the evaluation
  throughput kept to serve, the on-demand deployment kept to serve, a promotion into a serving
  slot in place) comes after a passing quality
  verdict: a gate's branch proving ``$.evaluation.passed`` after the comparison wrote it;
- ``judge-before-serving``: ... and after the judge's passing verdict, unless the path proved the
  plan has no judge;
- ``approval-before-commitment``: a commitment only after a verified, approved answer to the
  serving approval (the decision of record that replaced what the wait for a person wrote);
- ``only-evaluation-before-verdict``: the only purchases are the ones named here, and the one
  allowed before the verdict (the evaluation throughput) carries no commitment;
- ``released-before-failing``: every path that bought or created something and ends in Fail passes
  through the failure path's release after it;
- ``no-wait-while-evaluation-billing``: no path waits for a person or a judge while an evaluation
  throughput that does not serve is alive;
- ``vehicle-released-before-success``: no path succeeds with an evaluation vehicle alive that does
  not serve;
- ``guard-before-serving-purchase``: each serving purchase is entered only from a runtime guard
  (a Choice re-reading the verdicts) whose other branch fails the run before anything is bought.

The guards' own branches do not count as verdicts for the first three rules: they are the check
that runs, these rules prove the gates before them. Every rule is shown to fail when the real
definition is rewired the way a careless change would (the mutation tests at the end).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, Final

import pytest

from pipeline.evaluation import VERDICT_PASSED
from pipeline.workflow_names import (
    ASK_TO_SERVE,
    BUY_COMMITMENT,
    BUY_EVALUATION,
    BUY_SERVING,
    DEPLOY_EVALUATION,
    EVALUATE,
    GUARD_BUY_SERVING,
    JUDGE_START,
    JUDGE_VERDICT,
    PROMOTE,
    QUALITY_GATE,
    RELEASE_ALL,
    RELEASE_VEHICLE,
    SERVE_ON_DEPLOYMENT,
    SERVE_ON_EVALUATION_THROUGHPUT,
    VEHICLE_SERVES,
)
from tests.infra.asl_paths import Edge, Situation, Walk, Walker, edges, predecessors, reachable
from tests.infra.conftest import Synthesized
from tests.infra.test_contracts import render_definitions

PLAN: Final = "$.preflight.plan"
# Promoting into a serving slot buys nothing new, but it replaces what serves in production: it
# needs the same verdicts (the champion's bar included) and its own guard.
SERVING_PURCHASES: Final = frozenset({BUY_SERVING, BUY_COMMITMENT, SERVE_ON_EVALUATION_THROUGHPUT, PROMOTE})
SERVING_KEEPS: Final = frozenset({SERVE_ON_DEPLOYMENT})
SERVES: Final = SERVING_PURCHASES | SERVING_KEEPS
CREATES: Final = frozenset({BUY_EVALUATION, DEPLOY_EVALUATION, BUY_SERVING, BUY_COMMITMENT})
RULES: Final = (
    "verdict-before-serving",
    "judge-before-serving",
    "approval-before-commitment",
    "only-evaluation-before-verdict",
    "released-before-failing",
    "no-wait-while-evaluation-billing",
    "vehicle-released-before-success",
    "guard-before-serving-purchase",
)


def _payload_mode(state: Mapping[str, Any]) -> str | None:
    # A Lambda task whose Resource is the function ARN takes its payload as Parameters; the
    # lambda:invoke integration (waitForTaskToken) takes it under Payload.
    parameters = state.get("Parameters") or {}
    mode = (parameters.get("Payload") or parameters).get("mode")
    return str(mode) if mode is not None else None


class MoneyRules(Walker):
    """The rules above, checked as each path enters each state."""

    tracked = frozenset({"$.evaluation", "$.judge", "$.approval"})
    queried = frozenset(
        {
            "$.evaluation.passed",
            f"{PLAN}.judge",
            "$.judge.passed",
            "$.approval.approved",
            "$.approval.verified",
            f"{PLAN}.vehicle.servesAfterwards",
        }
    )

    def __init__(self, definition: Mapping[str, Any]) -> None:
        super().__init__(definition)
        self.guards = frozenset(
            name
            for name, state in self.states.items()
            if state.get("Type") == "Choice" and any(e.target in SERVES for e in edges(name, state))
        )
        self.releases_vehicle = frozenset(
            n for n, s in self.states.items() if _payload_mode(s) == "release-evaluation"
        )
        self.releases_all = frozenset(n for n, s in self.states.items() if _payload_mode(s) == "failure")
        self.human_waits = frozenset(
            n for n, s in self.states.items() if str(s.get("Resource", "")).endswith(".waitForTaskToken")
        )
        # What follows each wait: the answer replaced by its decision of record (approval_verify).
        self.verifications = frozenset(
            n for n, s in self.states.items() if "answer.$" in (s.get("Parameters") or {})
        )
        # The judge's wait: from its start to its verdict, not the failure gates it may end in.
        failure_gates = frozenset(n for n, s in self.states.items() if s.get("ResultPath") == "$.failure")
        stop = failure_gates | {JUDGE_VERDICT}
        self.judge_states = frozenset(reachable(self.states, JUDGE_START, stop=stop)) - stop
        self.entered: set[str] = set()
        self._structure()

    # -- structure: what buys, and the guards in front of what serves ------------------------------

    def _structure(self) -> None:
        purchases = {
            name: state
            for name, state in self.states.items()
            if str(state.get("Resource", "")).endswith(":createProvisionedModelThroughput")
        }
        unknown = sorted(set(purchases) - {BUY_EVALUATION, BUY_SERVING, BUY_COMMITMENT})
        if unknown:
            self.violation(
                "only-evaluation-before-verdict", unknown[0], "a purchase this proof does not know", ()
            )
        for name in (BUY_EVALUATION, BUY_SERVING, BUY_COMMITMENT, *SERVING_KEEPS, EVALUATE, JUDGE_VERDICT):
            if name not in self.states:
                self.violation(
                    "only-evaluation-before-verdict", name, "a state this proof relies on is gone", ()
                )
        evaluation = purchases.get(BUY_EVALUATION, {})
        if any(key.startswith("CommitmentDuration") for key in evaluation.get("Parameters", {})):
            self.violation(
                "only-evaluation-before-verdict",
                BUY_EVALUATION,
                "the purchase made before the verdict carries a commitment",
                (),
            )
        keeps = {
            n
            for n, s in self.states.items()
            if s.get("Type") == "Pass" and s.get("ResultPath") == "$.throughput"
        }
        if keeps - SERVING_PURCHASES:
            self.violation(
                "only-evaluation-before-verdict",
                sorted(keeps - SERVING_PURCHASES)[0],
                "a state that makes something serve that this proof does not know",
                (),
            )
        into = predecessors(self.states)
        for target in sorted(SERVES & set(self.states)):
            for source, edge in into.get(target, []):
                problem = self._guard_problem(source, edge, target)
                if problem:
                    self.violation(
                        "guard-before-serving-purchase", target, f"entered from {source!r}: {problem}", ()
                    )

    def _guard_problem(self, source: str, edge: Edge, target: str) -> str | None:
        state = self.states[source]
        if state.get("Type") != "Choice" or edge.kind != "choice":
            return "not from a guard Choice"
        (rule,) = [r for r in state["Choices"] if r["Next"] == target]
        text = repr(rule)
        if target in SERVING_PURCHASES:
            needed = [("$.evaluation.verdict", "StringEquals", VERDICT_PASSED)]
        else:
            needed = [("$.evaluation.passed", "BooleanEquals", True)]
        if target == BUY_COMMITMENT:
            needed.append(("$.approval.approved", "BooleanEquals", True))
        proven = {(f.variable, f.operator, f.value) for f in edge.facts if f.holds}
        missing = [n for n in needed if n not in proven]
        if missing:
            return f"its rule does not check {missing}"
        if f"'{PLAN}.judge'" not in text or "'$.judge.passed'" not in text:
            return "its rule does not check the judge's verdict"
        default = state.get("Default")
        if default is None or not self._fails_before_buying(default):
            return "its other branch does not fail the run before anything is bought"
        return None

    def _fails_before_buying(self, start: str) -> bool:
        """A Pass chain into the failure path's release, buying nothing on the way."""
        name = start
        for _ in range(5):
            if name in self.releases_all:
                return True
            state = self.states[name]
            if state.get("Type") != "Pass" or name in CREATES | SERVES:
                return False
            name = state.get("Next", "")
        return False

    # -- the rules, on every path ----------------------------------------------------------------

    def enter(self, situation: Situation, path: tuple[str, ...]) -> Situation:
        name = situation.state
        self.entered.add(name)
        gates = frozenset(self.states) - self.guards
        if name in SERVES:
            if not (
                situation.knows("$.evaluation.passed", "BooleanEquals", True, by_any_of=gates)
                and situation.writer("$.evaluation") == EVALUATE
            ):
                self.violation(
                    "verdict-before-serving",
                    name,
                    "reached without a gate proving the comparison's verdict passed",
                    path,
                )
            judge_ok = situation.knows(f"{PLAN}.judge", "IsNull", True, by_any_of=gates) or (
                situation.knows("$.judge.passed", "BooleanEquals", True, by_any_of=gates)
                and situation.writer("$.judge") == JUDGE_VERDICT
            )
            if not judge_ok:
                self.violation(
                    "judge-before-serving",
                    name,
                    "reached without the judge's passing verdict on a path where the plan may have a judge",
                    path,
                )
        if name == BUY_COMMITMENT and not (
            situation.knows("$.approval.verified", "BooleanEquals", True, by_any_of=gates)
            and situation.knows("$.approval.approved", "BooleanEquals", True, by_any_of=gates)
            and situation.writer("$.approval") in self.verifications
        ):
            self.violation(
                "approval-before-commitment", name, "a commitment without an approved answer", path
            )
        waits = name in self.human_waits or name in self.judge_states
        if (
            waits
            and situation.flag("evaluationThroughput")
            and not situation.knows(f"{PLAN}.vehicle.servesAfterwards", "BooleanEquals", True)
        ):
            self.violation(
                "no-wait-while-evaluation-billing",
                name,
                "waits for a person or a judge while the evaluation throughput, which does not serve, bills",
                path,
            )
        if name == BUY_EVALUATION:
            situation = situation.with_flags(evaluationThroughput=True, vehicle=True)
        if name == DEPLOY_EVALUATION:
            situation = situation.with_flags(vehicle=True)
        if name in CREATES:
            situation = situation.with_flags(bought=True)
        if name in self.releases_vehicle | self.releases_all:
            situation = situation.with_flags(evaluationThroughput=None, vehicle=None)
        if name in self.releases_all:
            situation = situation.with_flags(bought=None)
        return situation

    def leave(self, situation: Situation, path: tuple[str, ...]) -> None:
        kind = self.states[situation.state]["Type"]
        if kind == "Fail" and situation.flag("bought"):
            self.violation(
                "released-before-failing",
                situation.state,
                "fails after buying or creating something without the failure path's release",
                path,
            )
        if (
            kind == "Succeed"
            and situation.flag("vehicle")
            and not situation.knows(f"{PLAN}.vehicle.servesAfterwards", "BooleanEquals", True)
        ):
            self.violation(
                "vehicle-released-before-success",
                situation.state,
                "succeeds with an evaluation vehicle alive that does not serve",
                path,
            )


def check(definition: Mapping[str, Any]) -> tuple[MoneyRules, Walk]:
    rules = MoneyRules(definition)
    return rules, rules.run()


def broken_rules(definition: Mapping[str, Any]) -> set[str]:
    _rules, walk = check(definition)
    return {v.rule for v in walk.violations}


# --------------------------------------------------------------------------------------------------
# The shipped definitions
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def definitions(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    found = {}
    for stack, template in synthesized.templates.items():
        for logical_id, definition in render_definitions(template).items():
            # The workflow buys; the retrying release (ReleaseStateMachine) only deletes, by handler.
            if logical_id.startswith("WorkflowStateMachine"):
                found[f"{stack}/{logical_id}"] = definition
    assert found, "no state machine in the synthesized templates"
    return found


def test_every_money_rule_holds_on_every_path_of_every_environment(
    definitions: dict[str, dict[str, Any]],
) -> None:
    for where, definition in definitions.items():
        rules, walk = check(definition)
        assert not walk.violations, f"{where}:\n" + "\n".join(str(v) for v in walk.violations)
        # The walk entered every state: no part of the definition escaped the proof.
        assert rules.entered == set(definition["States"]), sorted(set(definition["States"]) - rules.entered)
        assert walk.terminals > 0 and walk.situations > len(definition["States"])


def test_the_proof_knows_the_states_it_relies_on(definitions: dict[str, dict[str, Any]]) -> None:
    for definition in definitions.values():
        rules, _walk = check(definition)
        assert rules.guards == {
            "Is the no-commitment purchase backed by a verdict?",
            "Is the commitment backed by a verdict and an approval?",
            "Is serving on the evaluation throughput backed by a verdict?",
            "Is keeping the deployment backed by a verdict?",
            "Is the promotion backed by a verdict?",
        }
        assert rules.releases_vehicle == {RELEASE_VEHICLE}
        assert rules.releases_all == {RELEASE_ALL}
        assert rules.human_waits == {"Ask for approval to evaluate", ASK_TO_SERVE}
        assert rules.verifications == {
            "Ask for approval to evaluate: verify the answer",
            f"{ASK_TO_SERVE}: verify the answer",
        }
        assert {JUDGE_START, "Wait for the judge", "Check the judge"} <= rules.judge_states


# --------------------------------------------------------------------------------------------------
# Mutations: each rule fails when the real definition is rewired
# --------------------------------------------------------------------------------------------------


def _retarget(definition: dict[str, Any], old: str, new: str, *, only_from: str | None = None) -> int:
    """Point every edge into ``old`` (from ``only_from``, if given) at ``new``; returns how many."""
    changed = 0
    for name, state in definition["States"].items():
        if only_from is not None and name != only_from:
            continue
        if state.get("Next") == old:
            state["Next"] = new
            changed += 1
        if state.get("Default") == old:
            state["Default"] = new
            changed += 1
        for rule in state.get("Choices", []):
            if rule["Next"] == old:
                rule["Next"] = new
                changed += 1
    return changed


def _passing_branch(definition: dict[str, Any], choice: str, variable: str) -> str:
    (rule,) = [
        r
        for r in definition["States"][choice]["Choices"]
        if r.get("Variable") == variable and r.get("BooleanEquals")
    ]
    return str(rule["Next"])


def skip_the_quality_gate(definition: dict[str, Any]) -> None:
    target = _passing_branch(definition, QUALITY_GATE, "$.evaluation.passed")
    assert _retarget(definition, QUALITY_GATE, target) >= 1


def skip_the_judge(definition: dict[str, Any]) -> None:
    judged = "Is the custom model judged by an LLM?"
    served = definition["States"][judged]["Choices"][0]["Next"]
    assert _retarget(definition, judged, served) >= 1


def point_a_catch_past_the_release(definition: dict[str, Any]) -> None:
    (catch,) = definition["States"][BUY_SERVING]["Catch"]
    catch["Next"] = "Record the failed run"


def drop_the_guard(definition: dict[str, Any]) -> None:
    assert _retarget(definition, GUARD_BUY_SERVING, BUY_SERVING) >= 1


def keep_the_vehicle_until_the_end(definition: dict[str, Any]) -> None:
    assert _retarget(definition, RELEASE_VEHICLE, QUALITY_GATE, only_from=VEHICLE_SERVES) == 1


def buy_a_commitment_without_asking(definition: dict[str, Any]) -> None:
    # The guard alone would still refuse (it re-reads the approval), so this change drops its
    # approval check too: what is left is a path to the commitment that no person approved.
    guard_name = "Is the commitment backed by a verdict and an approval?"
    served = definition["States"]["How is the custom model served?"]
    (ask,) = [r for r in served["Choices"] if r["Next"] == ASK_TO_SERVE]
    ask["Next"] = guard_name
    (rule,) = definition["States"][guard_name]["Choices"]
    rule["And"] = [part for part in rule["And"] if "'$.approval" not in repr(part)]


def buy_the_evaluation_with_a_commitment(definition: dict[str, Any]) -> None:
    definition["States"][BUY_EVALUATION]["Parameters"]["CommitmentDuration"] = "SixMonths"


MUTATIONS: Final[dict[str, tuple[Callable[[dict[str, Any]], None], str]]] = {
    "skip-the-quality-gate": (skip_the_quality_gate, "verdict-before-serving"),
    "skip-the-judge": (skip_the_judge, "judge-before-serving"),
    "point-a-catch-past-the-release": (point_a_catch_past_the_release, "released-before-failing"),
    "drop-the-guard": (drop_the_guard, "guard-before-serving-purchase"),
    "keep-the-vehicle-until-the-end": (keep_the_vehicle_until_the_end, "no-wait-while-evaluation-billing"),
    "buy-a-commitment-without-asking": (buy_a_commitment_without_asking, "approval-before-commitment"),
    "buy-the-evaluation-with-a-commitment": (
        buy_the_evaluation_with_a_commitment,
        "only-evaluation-before-verdict",
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_proof_reports_the_rule_a_rewired_definition_breaks(
    mutation: str, definitions: dict[str, dict[str, Any]]
) -> None:
    rewire, rule = MUTATIONS[mutation]
    for where, original in definitions.items():
        # Given the shipped definition, rewired one way
        definition = copy.deepcopy(original)
        rewire(definition)
        # When the proof walks it / Then it names the rule that broke
        broken = broken_rules(definition)
        assert rule in broken, f"{where}: {mutation} broke {sorted(broken)}, not {rule}"


def test_keeping_the_vehicle_to_the_end_also_fails_the_success_rule(
    definitions: dict[str, dict[str, Any]],
) -> None:
    definition = copy.deepcopy(next(iter(definitions.values())))
    keep_the_vehicle_until_the_end(definition)
    assert {"no-wait-while-evaluation-billing", "vehicle-released-before-success"} <= broken_rules(definition)


def test_every_rule_has_a_mutation_that_breaks_it() -> None:
    assert {rule for _rewire, rule in MUTATIONS.values()} | {"vehicle-released-before-success"} == set(RULES)
