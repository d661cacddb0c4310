"""The judge's money invariant: nothing bought to serve before the judge's verdict passed."""

from __future__ import annotations

from typing import Any

from pipeline.simulation.invariants import money_checks
from pipeline.simulation.result import SimulationResult, Visit
from pipeline.simulation.scenarios import load_scenarios

PLAN = {
    "judge": {"model": "amazon.nova-pro-v1:0"},
    "vehicle": {"kind": "deployment"},
    "serving": {"ProvisionedModelName": "run-pt"},
    "approval": {"required": False},
}


def result(bought_at: float, verdict_passed: bool) -> SimulationResult:
    throughput = {
        "name": "run-pt",
        "arn": "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/x",
        "commitment": "none",
        "createdAt": bought_at,
        "createRequests": 1,
        "alive": True,
        "status": "InService",
    }
    visits = [
        Visit(
            "Compare the custom model with its base model",
            "Task",
            100.0,
            110.0,
            {"evaluation": {"passed": True}},
        ),
        Visit("Read the judge's scores", "Task", 200.0, 210.0, {"judge": {"passed": verdict_passed}}),
        Visit("Buy provisioned throughput (no commitment)", "Task", bought_at, bought_at + 1),
    ]
    jobs = [{"name": f"run-judge-{w}", "createRequests": 1} for w in ("custom", "base")]
    ledger: dict[str, Any] = {
        "jobs": [],
        "throughputs": [throughput],
        "deployments": [],
        "invocations": [{"at": 50.0, "target": "deployment", "outcome": "ok"}],
        "evaluationJobs": jobs,
    }
    scenario = load_scenarios()["judge-pass"]
    return SimulationResult(
        scenario=scenario, spec_path="", template_path="", run_id="run", execution_arn="", status="SUCCEEDED",
        error=None, cause=None, output=None, visits=visits, notifications=[], ledger=ledger, bedrock_calls=[],
        lambda_invocations=[], faults_injected={}, approval={}, duplicate_starts=[], ended=None, artifacts={},
        report={}, notes=[], simulated_seconds=0.0, real_seconds=0.0, plan=PLAN,
    )  # fmt: skip


def check(res: SimulationResult, name: str) -> bool:
    return next(c for c in money_checks(res) if c.name == name).ok


RULE = "nothing bought to serve before the judge's verdict passed"


def test_a_purchase_after_a_passing_verdict_is_fine() -> None:
    assert check(result(300.0, True), RULE)
    assert check(result(300.0, True), "at most one evaluation job per model, each created once")


def test_a_purchase_before_the_verdict_breaks_the_invariant() -> None:
    assert not check(result(150.0, True), RULE)


def test_a_purchase_after_a_failed_verdict_breaks_the_invariant() -> None:
    assert not check(result(300.0, False), RULE)
