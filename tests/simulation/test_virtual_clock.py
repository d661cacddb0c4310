"""A simulation depends on its virtual clock only: a slow host, or threads delayed at their worst
moments, change how long it takes in real time and nothing of what happens in simulated time.

The delays are real sleeps injected where the interpreter's threads race each other: right after a
task's worker thread is started (before the state waits on its timeout), before each execution
history event is written (what the approver reads to know a task waits), before each handler
invocation and each call of the simulated Bedrock. Each scenario then runs once as is and once
delayed; everything the simulation reports in simulated time must be the same.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

from pipeline.simulation.fake_bedrock import FakeBedrock
from pipeline.simulation.lambdas import InProcessLambdas
from pipeline.simulation.result import SimulationResult
from pipeline.simulation.runner import simulate
from pipeline.simulation.scenarios import get_scenario
from tests.simulation.conftest import ROOT

# Scenarios whose outcome hangs on timing if anything does: approvals and their timeout, throughput
# polling, throttled calls retried with backoff, an execution stopped from outside, a purchase on a
# base without on-demand deployment (the flake of 2026-12: no-on-demand-model).
SCENARIOS = ("no-on-demand-model", "approval-timeout", "throttling", "aborted-after-purchase")
MAX_DELAY_SECONDS = 0.03


def _delayed(original: Callable[..., Any], rng: random.Random, before: bool = True) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        if before:
            time.sleep(rng.uniform(0, MAX_DELAY_SECONDS))
        result = original(*args, **kwargs)
        if not before:
            time.sleep(rng.uniform(0, MAX_DELAY_SECONDS))
        return result

    return call


@contextlib.contextmanager
def delayed_threads(seed: int) -> Iterator[None]:
    """Slow the simulation's threads down at random (seeded) at the points where they race."""
    rng = random.Random(seed)
    real_thread = execute_state.Thread

    class SlowStartThread(real_thread):  # type: ignore[misc, valid-type]
        def start(self) -> None:
            super().start()
            # The state's own thread dawdles before it waits on the task's timeout.
            time.sleep(rng.uniform(0, MAX_DELAY_SECONDS))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(execute_state, "Thread", SlowStartThread)
        patch.setattr(EventManager, "add_event", _delayed(EventManager.add_event, rng))
        patch.setattr(InProcessLambdas, "_run", _delayed(InProcessLambdas._run, rng))
        patch.setattr(FakeBedrock, "handle", _delayed(FakeBedrock.handle, rng, before=False))
        yield


def outcome(result: SimulationResult) -> dict[str, Any]:
    """Everything a simulation reports in simulated time."""
    return {
        "status": result.status,
        "error": result.error,
        "path": result.path,
        "transitions": result.transitions,
        "simulatedSeconds": round(result.simulated_seconds, 3),
        "visits": [
            (v.name, round(v.entered, 3), round(v.exited or 0, 3), v.attempts, v.errors)
            for v in result.visits
        ],
        "bedrockCalls": result.bedrock_calls,
        "lambdas": [(i["function"], i["at"], i["error"], i["apiError"]) for i in result.lambda_invocations],
        "ledger": result.ledger,
        # The request id hashes the execution's start, a wall-clock time (the simulated clock
        # starts at the real now): it differs between any two runs, delayed or not.
        "approval": {k: v for k, v in result.approval.items() if k not in ("request", "requestId")},
        "notifications": [n.subject for n in result.notifications],
        "checks": [(c.name, c.ok) for c in result.checks],
    }


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_scenario_with_its_threads_delayed_has_the_same_outcome(
    name: str, template: Path, tmp_path: Path
) -> None:
    scenario = get_scenario(name)
    spec = ROOT / scenario.spec
    as_is = simulate(spec, scenario, template, out_dir=tmp_path / "as-is", report=False)
    with delayed_threads(seed=sum(map(ord, name))):
        delayed = simulate(spec, scenario, template, out_dir=tmp_path / "delayed", report=False)
    assert delayed.real_seconds > 0
    assert outcome(delayed) == outcome(as_is)
    assert as_is.status == scenario.expect["status"]
