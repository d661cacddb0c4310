"""Reinforcement fine-tuning, simulated end to end: the real grader Lambda scores sampled answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.simulation.runner import SimulationResult, simulate
from pipeline.simulation.scenarios import load_scenarios

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = load_scenarios()


@pytest.fixture(scope="module")
def rft(template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationResult, Path]:
    out = tmp_path_factory.mktemp("sim-rft")
    scenario = SCENARIOS["rft"]
    return simulate(ROOT / scenario.spec, scenario, template, out_dir=out, report=False), out


@pytest.fixture(scope="module")
def grader_fails(template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationResult, Path]:
    out = tmp_path_factory.mktemp("sim-rft-grader-fails")
    scenario = SCENARIOS["rft-grader-fails"]
    return simulate(ROOT / scenario.spec, scenario, template, out_dir=out, report=False), out


def _run_file(out: Path, result: SimulationResult, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((out / "runs" / result.run_id / name).read_text(encoding="utf-8"))


def test_the_grader_is_called_twice_by_the_preflight_and_once_per_training_step(
    rft: tuple[SimulationResult, Path],
) -> None:
    result, out = rft
    calls = [i for i in result.lambda_invocations if i["function"] == "grader"]
    steps = SCENARIOS["rft"].bedrock.job.steps
    # The preflight's dry call: once per documented payload shape (pipeline.grader_payload).
    assert len(calls) == 2 + steps
    assert all(i["error"] is None and i["apiError"] is None for i in calls)
    # The job was created with the typed RFT request and the built-in grader's alias.
    preflight = _run_file(out, result, "preflight.json")
    assert preflight["grader"]["ok"] is True
    assert preflight["grader"]["lambdaArn"].endswith(":exact-match")
    scores = {(s["answer"]): s["score"] for s in preflight["grader"]["scores"]}
    assert scores == {"reference": 1.0, "wrong": 0.0}
    assert preflight["grader"]["understood"] == ["metadata", "top-level"]


def test_reward_per_step_reaches_the_loss_curves(rft: tuple[SimulationResult, Path]) -> None:
    result, out = rft
    curves = _run_file(out, result, "loss-curves.json")
    (training,) = curves["training"]
    assert "critic/rewards/mean" in training["columns"]
    rewards = [p["reward"] for p in training["points"]]
    assert len(rewards) == SCENARIOS["rft"].bedrock.job.steps
    assert all(0.0 <= r <= 1.0 for r in rewards)
    # The share of right answers rises from 0.3 to 0.85: so does what the grader gives them.
    assert sum(rewards[:3]) / 3 < 0.6 < sum(rewards[-3:]) / 3
    assert training["lastReward"] == rewards[-1]


def test_a_failing_grader_fails_the_job_with_the_reason_and_buys_nothing(
    grader_fails: tuple[SimulationResult, Path],
) -> None:
    result, out = grader_fails
    assert result.status == "FAILED"
    assert result.ledger["deployments"] == [] and result.ledger["throughputs"] == []
    (job,) = result.ledger["jobs"]
    assert job["customizationType"] == "REINFORCEMENT_FINE_TUNING" and job["status"] == "Failed"
    assert job["outputModelArn"] is None and job["metricsFiles"] == []
    calls = [i for i in result.lambda_invocations if i["function"] == "grader"]
    # The preflight's dry call (one invocation per payload shape) went through.
    assert [i["apiError"] for i in calls[:2]] == [None, None]
    assert all(i["apiError"] == "ServiceException" for i in calls[2:])
    record = _run_file(out, result, "record.json")
    assert "The grader Lambda" in json.dumps(record)
    assert "failed at training step 0" in json.dumps(record)
