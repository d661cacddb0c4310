"""The handler tests' example plan keeps the shape of the plan the preflight really builds."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.plan import PlanContext, build_plan
from pipeline.runspec import RunSpec
from tests.handlers import plans

# Documented in docs/workflow-contract.md but not (yet) emitted by pipeline.plan: the handlers
# read them when present and cope when absent.
CONTRACT_ONLY = {"estimate.asOf", "estimate.sources"}
LLAMA_31 = {"region": "us-west-2", "baseModel": "meta.llama3-1-8b-instruct-v1:0:128k"}


def paths(doc: dict[str, Any], prefix: str = "") -> set[str]:
    found = set()
    for key, value in doc.items():
        found.add(prefix + key)
        # Hyperparameters and cost bases are keyed by what the run has, not by the plan's structure.
        if isinstance(value, dict) and key not in ("HyperParameters", "basis"):
            found |= paths(value, f"{prefix}{key}.")
    return found


def real_plan(**changes: Any) -> dict[str, Any]:
    spec = plans.run_spec() | changes
    return build_plan(
        RunSpec.from_dict(spec), PlanContext(plans.BUCKET, plans.RUN_ID), estimated_tokens=160_000
    )


@pytest.mark.parametrize(
    ("changes", "plan_args"),
    [
        pytest.param({}, {}, id="deployment-then-provisioned"),
        pytest.param(
            {"serving": {"mode": "on-demand"}},
            {"serving": "on-demand"},
            id="deployment-that-serves",
        ),
        pytest.param({"serving": {"mode": "none"}}, {"serving": "none"}, id="deployment-not-served"),
        pytest.param(LLAMA_31, {"vehicle": "throughput"}, id="throughput-reused-for-serving"),
        pytest.param(
            LLAMA_31 | {"serving": {"mode": "provisioned", "modelUnits": 2, "commitment": "none"}},
            {"vehicle": "throughput", "model_units": 2},
            id="throughput-then-a-bigger-purchase",
        ),
        pytest.param(
            LLAMA_31 | {"serving": {"mode": "provisioned", "modelUnits": 1, "commitment": "OneMonth"}},
            {"vehicle": "throughput", "commitment": "OneMonth"},
            id="throughput-then-a-commitment",
        ),
    ],
)
def test_example_plan_has_every_key_of_a_real_plan_and_only_documented_extras(
    changes: dict[str, Any], plan_args: dict[str, Any]
) -> None:
    real = real_plan(**changes)
    example = plans.plan(**plan_args)
    assert paths(real) - paths(example) == set()
    assert paths(example) - paths(real) <= CONTRACT_ONLY
    for section in ("vehicle", "serving"):
        for key in ("kind", "mode", "servesAfterwards", "reusesEvaluationThroughput", "commitment"):
            assert real[section].get(key) == example[section].get(key), (section, key)
    assert {k: real["approval"][k] for k in ("beforeEvaluation", "beforeServing", "required")} == {
        k: example["approval"][k] for k in ("beforeEvaluation", "beforeServing", "required")
    }


def test_example_names_are_the_real_names() -> None:
    real, example = real_plan(), plans.plan()
    assert (
        real["runId"],
        real["job"]["JobName"],
        real["serving"]["ProvisionedModelName"],
        real["vehicle"]["ModelDeploymentName"],
        real["vehicle"]["ClientRequestToken"],
        real["vehicle"]["Tags"],
    ) == (
        example["runId"],
        example["job"]["JobName"],
        example["serving"]["ProvisionedModelName"],
        example["vehicle"]["ModelDeploymentName"],
        example["vehicle"]["ClientRequestToken"],
        example["vehicle"]["Tags"],
    )
    real_eval = real_plan(**LLAMA_31, serving={"mode": "none"}, evaluation=plans.run_spec()["evaluation"])
    example_eval = plans.plan(vehicle="throughput", serving="none")
    assert real_eval["vehicle"]["ProvisionedModelName"] == example_eval["vehicle"]["ProvisionedModelName"]
    assert real_eval["vehicle"]["ClientRequestToken"] == example_eval["vehicle"]["ClientRequestToken"]
    assert real_eval["vehicle"]["Tags"] == example_eval["vehicle"]["Tags"]
