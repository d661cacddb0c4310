"""The handler tests' example plan keeps the shape of the plan the preflight really builds."""

from __future__ import annotations

from typing import Any

from pipeline.plan import PlanContext, build_plan
from pipeline.runspec import RunSpec
from tests.handlers import plans

# Documented in docs/workflow-contract.md but not (yet) emitted by pipeline.plan: the handlers
# read them when present and cope when absent.
CONTRACT_ONLY = {"estimate.asOf", "estimate.sources"}


def paths(doc: dict[str, Any], prefix: str = "") -> set[str]:
    found = set()
    for key, value in doc.items():
        found.add(prefix + key)
        # Hyperparameters and cost bases are keyed by what the run has, not by the plan's structure.
        if isinstance(value, dict) and key not in ("HyperParameters", "basis"):
            found |= paths(value, f"{prefix}{key}.")
    return found


def test_example_plan_has_every_key_of_a_real_plan_and_only_documented_extras() -> None:
    real = build_plan(
        RunSpec.from_dict(plans.run_spec()), PlanContext(plans.BUCKET, plans.RUN_ID), estimated_tokens=160_000
    )
    example = plans.plan()
    assert paths(real) - paths(example) == set()
    assert paths(example) - paths(real) <= CONTRACT_ONLY
    assert (real["runId"], real["job"]["JobName"], real["throughput"]["ProvisionedModelName"]) == (
        example["runId"],
        example["job"]["JobName"],
        example["throughput"]["ProvisionedModelName"],
    )
