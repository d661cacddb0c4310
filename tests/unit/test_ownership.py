"""pipeline.ownership: which execution created a resource; names a run would create that are taken."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.ownership import Execution, name_problems, owner_of, planned_names, taken_names
from pipeline.plan import EXECUTION_ARN_TAG, EXECUTION_START_TAG, RUN_ID_TAG
from tests.handlers import plans

ARN = plans.EXECUTION_ARN


def test_an_execution_from_the_context_object_and_from_the_status_event_is_the_same() -> None:
    from_context = Execution.of(ARN, "2026-11-27T08:00:00.000Z")
    from_event = Execution.of(ARN, 1795766400000)  # detail.startDate, epoch milliseconds
    assert from_context == from_event
    assert from_context.to_dict() == {"arn": ARN, "start": "2026-11-27T08:00:00.000Z"}


@pytest.mark.parametrize(
    ("arn", "start"),
    [
        pytest.param(
            "arn:aws:states:us-east-1:1:stateMachine:Workflow", "2026-11-27T08:00:00Z", id="machine"
        ),
        pytest.param(None, "2026-11-27T08:00:00Z", id="no-arn"),
        pytest.param(ARN, "yesterday", id="bad-start"),
        pytest.param(ARN, None, id="no-start"),
    ],
)
def test_anything_but_an_execution_is_refused(arn: Any, start: Any) -> None:
    with pytest.raises(ValueError, match="not an execution"):
        Execution.of(arn, start)


def test_only_the_same_arn_and_start_own_a_resource() -> None:
    execution = Execution.of(ARN, "2026-11-27T08:00:00.000Z")
    tagged = {EXECUTION_ARN_TAG: ARN, EXECUTION_START_TAG: "2026-11-27T08:00:00.000Z"}
    assert execution.owns(tagged)
    # Step Functions' two renderings of one start differ in precision, never by seconds
    assert execution.owns(tagged | {EXECUTION_START_TAG: "2026-11-27T08:00:00.9Z"})
    # the same name and so the same ARN, 90 days later: another execution
    assert not execution.owns(tagged | {EXECUTION_START_TAG: "2026-08-29T08:00:00.000Z"})
    assert not execution.owns(tagged | {EXECUTION_ARN_TAG: ARN + "-2"})
    assert not execution.owns({RUN_ID_TAG: plans.RUN_ID})  # untagged by any execution
    assert not execution.owns({EXECUTION_ARN_TAG: ARN})  # no start: nobody can tell


def test_who_created_a_resource_in_words() -> None:
    assert owner_of({EXECUTION_ARN_TAG: ARN, EXECUTION_START_TAG: "2026-08-29T08:00:00Z"}) == (
        f"execution {ARN} started 2026-08-29T08:00:00Z"
    )
    assert "did not tag it" in owner_of({RUN_ID_TAG: plans.RUN_ID})
    assert "no run or execution tag" in owner_of({})


def test_every_name_the_plan_would_create_is_checked_once() -> None:
    plan = plans.plan(vehicle="throughput")
    plan["serving"]["ProvisionedModelName"] = plan["vehicle"]["ProvisionedModelName"]  # reused
    names = planned_names(plan)
    assert [(field, getter) for _, field, _, getter in names] == [
        ("job.JobName", "get_model_customization_job"),
        ("job.CustomModelName", "get_custom_model"),
        ("vehicle.ProvisionedModelName", "get_provisioned_model_throughput"),
    ]


class _Bedrock:
    """Answers Get* by name from ``existing`` (name -> ARN); anything else is not found."""

    def __init__(self, existing: dict[str, str], error: str = "ResourceNotFoundException") -> None:
        self.existing, self.error = existing, error

    def __getattr__(self, getter: str) -> Any:
        def get(**request: str) -> dict[str, str]:
            (name,) = request.values()
            if name not in self.existing:
                raise LookupError(self.error)
            return {"jobArn": self.existing[name], "modelArn": self.existing[name]}

        return get


def _code(error: Exception) -> str:
    return str(error.args[0]) if isinstance(error, LookupError) else ""


def test_a_taken_name_is_a_problem_with_the_command_that_starts_a_fresh_run() -> None:
    plan = plans.plan()
    plan["job"]["CustomModelName"] = f"{plans.RUN_ID}-model"
    job_arn = f"arn:aws:bedrock:us-east-1:{plans.ACCOUNT}:model-customization-job/x/old"
    taken = taken_names(_Bedrock({plan["job"]["JobName"]: job_arn}), plan, _code)
    assert [(t.field, t.arn) for t in taken] == [("job.JobName", job_arn)]
    (problem,) = name_problems(taken, plans.RUN_ID, env="prod", region="eu-west-1")
    assert problem.field == "plan.job.JobName"
    assert f"run id {plans.RUN_ID} was used before" in problem.message
    assert "`bedrock-customize start RUN_SPEC --rerun --env prod --region eu-west-1`" in problem.message
    assert "Nothing was started" in problem.message


def test_free_names_are_no_problem() -> None:
    assert taken_names(_Bedrock({}), plans.plan(), _code) == []
    assert name_problems([], plans.RUN_ID, env=None, region=None) == []


def test_a_name_that_cannot_be_looked_up_escapes() -> None:
    with pytest.raises(LookupError, match="AccessDeniedException"):
        taken_names(_Bedrock({}, error="AccessDeniedException"), plans.plan(), _code)
