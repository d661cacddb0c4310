"""Platform load: reserved concurrency is the stack's setting for every function, and Lambda
throttling is retried for long enough not to fail a trained run (pipeline.retries)."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app_builder import build_app
from infra.config import CONTEXT_KEY
from pipeline.retries import (
    JOB_QUOTA_ERROR,
    LAMBDA_UNAVAILABLE,
    LAMBDA_UNAVAILABLE_PROMISE_S,
)
from tests.infra.conftest import cdk_json_context, resources_of_type
from tests.infra.test_workflow import definition

GRADER = "lambdas.grader.handler.lambda_handler"
RESERVED = 50


@pytest.fixture(scope="module")
def dev_reserved() -> Template:
    """The dev stack with ``lambdaReservedConcurrency`` set; synthesized with cdk-nag like the app."""
    context = cdk_json_context()
    context[CONTEXT_KEY] = {"dev": {**context[CONTEXT_KEY]["dev"], "lambdaReservedConcurrency": RESERVED}}
    (stack,) = build_app(App(context=context))
    return Template.from_stack(stack)


def _functions(template: Template) -> dict[str, dict[str, Any]]:
    functions = resources_of_type(template, "AWS::Lambda::Function")
    # Every handler, the approval, start, verification and deploy functions among them.
    handlers = {f["Properties"]["Handler"].split(".")[1] for f in functions.values()}
    assert {"run_start", "approval_verify", "deploy", "approval_answer", "preflight"} <= handlers
    return functions


def test_by_default_no_function_reserves_concurrency_and_checkov_is_told_why(dev: Template) -> None:
    for fn in _functions(dev).values():
        assert "ReservedConcurrentExecutions" not in fn["Properties"], fn["Properties"]["Handler"]
        skips = {s["id"]: s["comment"] for s in fn["Metadata"]["checkov"]["skip"]}
        reason = skips["CKV_AWS_115"]
        if fn["Properties"]["Handler"] == GRADER:
            assert "in parallel" in reason
        else:
            assert "lambdaReservedConcurrency" in reason and "retried" in reason


def test_with_the_setting_no_function_reserves_less(dev_reserved: Template) -> None:
    for fn in _functions(dev_reserved).values():
        props = fn["Properties"]
        skips = {s["id"] for s in fn["Metadata"]["checkov"]["skip"]}
        if props["Handler"] == GRADER:
            # Bedrock invokes the grader in parallel: never capped, whatever the setting.
            assert "ReservedConcurrentExecutions" not in props and "CKV_AWS_115" in skips
            continue
        assert props["ReservedConcurrentExecutions"] >= RESERVED, props["Handler"]
        # Reserved: checkov's check passes, nothing to acknowledge.
        assert "CKV_AWS_115" not in skips


# -- the retry schedule of every Lambda task ------------------------------------------------------


def assured_seconds(retrier: dict[str, Any]) -> float:
    """How long a retrier keeps trying, computed from its own fields: each wait is
    min(IntervalSeconds x BackoffRate^n, MaxDelaySeconds), drawn uniformly from 0 to that with FULL
    jitter; the expected sum less four standard deviations of the draws."""
    assert retrier.get("JitterStrategy") == "FULL"
    interval, rate = retrier["IntervalSeconds"], retrier["BackoffRate"]
    cap = retrier.get("MaxDelaySeconds", math.inf)
    waits = [min(interval * rate**n, cap) for n in range(retrier["MaxAttempts"])]
    return max(0.0, sum(waits) / 2 - 4 * math.sqrt(sum(w * w / 12 for w in waits)))


def _lambda_tasks(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: state
        for name, state in states.items()
        if state["Type"] == "Task"
        and ("lambda:invoke" in state["Resource"] or "Function" in state["Resource"])
    }


def throttle_findings(states: dict[str, Any]) -> list[str]:
    """Lambda tasks whose first retrier does not cover Lambda's throttling for the promised time."""
    problems = []
    for name, state in _lambda_tasks(states).items():
        retriers = state.get("Retry") or []
        first = retriers[0] if retriers else {}
        if not set(LAMBDA_UNAVAILABLE) <= set(first.get("ErrorEquals", [])):
            problems.append(f"{name}: Lambda throttling is not retried first")
        elif assured_seconds(first) < LAMBDA_UNAVAILABLE_PROMISE_S:
            problems.append(f"{name}: throttling retried for an assured {assured_seconds(first):.0f} s only")
    return problems


def test_every_lambda_task_retries_throttling_for_the_promised_half_hour(dev: Template) -> None:
    states = definition(dev)["States"]
    tasks = _lambda_tasks(states)
    # A walk that finds few Lambda tasks is broken, not clean.
    assert len(tasks) >= 15
    assert throttle_findings(states) == []
    for state in tasks.values():
        # The other transient errors keep their short schedule, in a retrier of their own.
        other = state["Retry"][1]
        assert "ThrottlingException" in other["ErrorEquals"]
        assert other["MaxAttempts"] <= 6 and not set(LAMBDA_UNAVAILABLE) & set(other["ErrorEquals"])


def test_the_throttle_check_fails_on_the_old_two_minute_schedule(dev: Template) -> None:
    # Given the definition with one task back on the old schedule (6 attempts, 2 s doubling, 60 s cap)
    states = copy.deepcopy(definition(dev)["States"])
    evaluate = states["Compare the custom model with its base model"]
    evaluate["Retry"][0].update(IntervalSeconds=2, BackoffRate=2, MaxDelaySeconds=60, MaxAttempts=6)
    # Then it is named
    assert throttle_findings(states) == [
        "Compare the custom model with its base model: throttling retried for an assured 0 s only"
    ]
    # And a task whose throttling falls under the short retrier is named too
    del evaluate["Retry"][0]
    assert throttle_findings(states) == [
        "Compare the custom model with its base model: Lambda throttling is not retried first"
    ]


def test_a_run_waits_in_line_for_a_training_slot_for_hours_never_past_a_day_and_a_half(dev: Template) -> None:
    states = definition(dev)["States"]
    jobs = {n: s for n, s in states.items() if "createModelCustomizationJob" in str(s.get("Resource"))}
    assert len(jobs) == 4
    for state in jobs.values():
        (queue,) = [r for r in state["Retry"] if r["ErrorEquals"] == [JOB_QUOTA_ERROR]]
        assert assured_seconds(queue) >= 12 * 3600
        waits = [
            min(queue["IntervalSeconds"] * queue["BackoffRate"] ** n, queue["MaxDelaySeconds"])
            for n in range(queue["MaxAttempts"])
        ]
        assert sum(waits) <= 36 * 3600  # the most it can ever wait, all draws at their maximum
        assert max(waits) == 1800  # a freed slot is tried within 30 minutes
