"""Approvals in the simulated run: an answer sent by hand and a self-approval buy nothing, and the
trust checks of every simulation's JSON can fail (mutation tests on a real result)."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from pipeline.simulation.result import SimulationResult
from pipeline.simulation.runner import simulate
from pipeline.simulation.scenarios import STARTER, Scenario, load_scenarios
from pipeline.simulation.trust import trust_checks

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = load_scenarios()


@pytest.fixture(scope="module")
def results(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SimulationResult]:
    def run(scenario: Scenario) -> SimulationResult:
        out = tmp_path_factory.mktemp(f"trust-{scenario.name}")
        return simulate(ROOT / scenario.spec, scenario, template, out_dir=out, report=False)

    return {name: run(SCENARIOS[name]) for name in ("approval-forged", "self-approval", "happy")}


def failed(result: SimulationResult) -> list[str]:
    return [c.name for c in trust_checks(result) if not c.ok]


def test_a_forged_approval_is_not_on_record_and_buys_nothing(results: dict[str, SimulationResult]) -> None:
    result = results["approval-forged"]
    assert result.error == "ApprovalNotVerified"
    assert result.approval["outcome"] == "forged"
    assert result.approval_records["decisions"] == []  # nothing reached the answer function
    assert result.ledger["throughputs"] == []
    names = {c.name: c.ok for c in result.checks}
    assert names["an answer sent by hand (SendTaskSuccess without the answer function) buys nothing"]


def test_the_starter_cannot_approve_their_own_run(results: dict[str, SimulationResult]) -> None:
    result = results["self-approval"]
    assert result.approval["outcome"] == "refused" and result.approval["refusedWith"] == 403
    assert f"{STARTER} started this run" in result.approval["refusal"]
    assert result.approval_records["starter"]["starter"]["person"] == STARTER
    assert result.approval_records["decisions"] == []
    assert result.ledger["throughputs"] == [] and result.error == "ApprovalTimedOut"


def test_a_distinct_approver_of_record_buys(results: dict[str, SimulationResult]) -> None:
    result = results["happy"]
    (decision,) = result.approval_records["decisions"]
    assert decision["approver"] == SCENARIOS["happy"].approval.approver != STARTER
    assert decision["approverIdentity"]["bound"] is True
    assert failed(result) == []


def test_the_trust_checks_fail_on_a_purchase_approved_by_the_starter(
    results: dict[str, SimulationResult],
) -> None:
    """Mutation: the happy run, as if its approval of record had been given by its starter."""
    result = copy.deepcopy(results["happy"])
    result.approval_records["decisions"][0]["approver"] = STARTER

    assert failed(result) == [
        "a purchase after an approval wait follows an approval of record by a distinct person",
        "the run's starter never approves it (self-approval is not allowed)",
    ]


def test_the_trust_checks_fail_on_a_purchase_without_an_approval_of_record(
    results: dict[str, SimulationResult],
) -> None:
    """Mutation: the happy run's purchase, with no decision of record (a hand-sent answer that bought)."""
    result = copy.deepcopy(results["happy"])
    result.approval_records["decisions"] = []
    result.approval = {**result.approval, "outcome": "forged", "answeredAt": 0.0}

    assert failed(result) == [
        "a purchase after an approval wait follows an approval of record by a distinct person",
        "an answer sent by hand (SendTaskSuccess without the answer function) buys nothing",
    ]


def test_the_trust_checks_fail_on_a_definition_that_skips_verification(
    results: dict[str, SimulationResult],
) -> None:
    """Mutation: the definition as it was before verification (the answer decides directly)."""
    result = copy.deepcopy(results["happy"])
    states = result.definition["States"]
    states["Ask for approval to serve"]["Next"] = "Was the purchase approved?"
    for rule in states["Was the purchase approved?"]["Choices"]:
        rule["And"] = [c for c in rule["And"] if not str(c.get("Variable")).endswith(".verified")]

    assert failed(dataclasses.replace(result)) == [
        "no path from an approval wait to a purchase skips the verification of its decision of record"
    ]
