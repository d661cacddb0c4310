"""The simulation's money invariants for the verdict rules, shown to fail when a run breaks them:
nothing bought or kept to serve without a passing verdict; the evaluation throughput released
before any wait for a person or a judge that it does not serve."""

from __future__ import annotations

from typing import Any

from pipeline.simulation.invariants import money_checks
from pipeline.simulation.result import SimulationResult, Visit
from pipeline.simulation.scenarios import load_scenarios

VERDICT = "nothing bought or kept to serve without a passing verdict"
RELEASED = "the evaluation throughput is released before any wait for a person or a judge"
COMPARE = "Compare the custom model with its base model"
BUY = "Buy provisioned throughput (no commitment)"


def _result(visits: list[Visit], throughputs: list[dict[str, Any]], plan: dict[str, Any]) -> SimulationResult:
    ledger: dict[str, Any] = {
        "jobs": [],
        "throughputs": throughputs,
        "deployments": [],
        "invocations": [],
        "evaluationJobs": [],
    }
    return SimulationResult(
        scenario=load_scenarios()["happy"], spec_path="", template_path="", run_id="run",
        execution_arn="", status="SUCCEEDED", error=None, cause=None, output=None, visits=visits,
        notifications=[], ledger=ledger, bedrock_calls=[], lambda_invocations=[], faults_injected={},
        approval={}, duplicate_starts=[], ended=None, artifacts={}, report={}, notes=[],
        simulated_seconds=0.0, real_seconds=0.0, plan=plan,
    )  # fmt: skip


def _throughput(name: str, created: float, deleted: float | None) -> dict[str, Any]:
    return {
        "name": name,
        "arn": f"arn:aws:bedrock:us-west-2:123456789012:provisioned-model/{name}",
        "commitment": "none",
        "createdAt": created,
        "deletedAt": deleted,
        "createRequests": 1,
        "alive": deleted is None,
        "status": "Deleted" if deleted is not None else "InService",
    }


def ok(result: SimulationResult, name: str) -> bool:
    return next(c for c in money_checks(result) if c.name == name).ok


# -- nothing bought or kept to serve without a passing verdict -------------------------------------

SERVING_PLAN: dict[str, Any] = {
    "vehicle": {"kind": "deployment", "ModelDeploymentName": "run-od"},
    "serving": {"mode": "provisioned", "ProvisionedModelName": "run-pt"},
    "approval": {"required": False},
    "judge": None,
}


def _bought_after(evaluation: dict[str, Any]) -> SimulationResult:
    visits = [
        Visit(COMPARE, "Task", 100.0, 110.0, {"evaluation": evaluation}),
        Visit(BUY, "Task", 200.0, 201.0),
    ]
    return _result(visits, [_throughput("run-pt", 200.0, None)], SERVING_PLAN)


def test_a_purchase_after_a_bar_that_was_set_and_met_keeps_the_invariant() -> None:
    assert ok(_bought_after({"passed": True, "verdict": "passed"}), VERDICT)


def test_a_purchase_after_an_evaluation_without_a_bar_breaks_it() -> None:
    # "passed" with no bar set is no verdict: nothing may be bought on it
    assert not ok(_bought_after({"passed": True, "verdict": "no-bar"}), VERDICT)


def test_a_purchase_with_no_comparison_at_all_breaks_it() -> None:
    result = _result([Visit(BUY, "Task", 200.0, 201.0)], [_throughput("run-pt", 200.0, None)], SERVING_PLAN)
    assert not ok(result, VERDICT)


def test_keeping_the_deployment_needs_a_passing_evaluation() -> None:
    keep = "Serve on the on-demand deployment"
    for evaluation, kept in (({"passed": True, "verdict": "no-bar"}, True), ({"passed": False}, False)):
        visits = [
            Visit(COMPARE, "Task", 100.0, 110.0, {"evaluation": evaluation}),
            Visit(keep, "Pass", 120.0),
        ]
        assert ok(_result(visits, [], SERVING_PLAN), VERDICT) is kept


# -- the evaluation throughput is gone before any wait it does not serve -------------------------

EVALUATION_PLAN: dict[str, Any] = {
    "vehicle": {"kind": "throughput", "servesAfterwards": False, "ProvisionedModelName": "run-eval"},
    "serving": {"mode": "provisioned", "ProvisionedModelName": "run-pt"},
    "approval": {"required": True},
}


def _waiting(deleted_at: float | None, plan: dict[str, Any] = EVALUATION_PLAN) -> SimulationResult:
    visits = [Visit("Ask for approval to serve", "Task", 500.0, 2300.0)]
    return _result(visits, [_throughput("run-eval", 100.0, deleted_at)], plan)


def test_an_evaluation_throughput_released_before_the_approval_keeps_the_invariant() -> None:
    assert ok(_waiting(deleted_at=400.0), RELEASED)


def test_an_evaluation_throughput_billing_through_the_approval_breaks_it() -> None:
    assert not ok(_waiting(deleted_at=2400.0), RELEASED)
    assert not ok(_waiting(deleted_at=None), RELEASED)


def test_an_evaluation_throughput_that_serves_may_be_alive_while_waiting() -> None:
    serves = {**EVALUATION_PLAN, "vehicle": {**EVALUATION_PLAN["vehicle"], "servesAfterwards": True}}
    assert not [c for c in money_checks(_waiting(None, serves)) if c.name == RELEASED]
