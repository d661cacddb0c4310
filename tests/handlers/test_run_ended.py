"""run_ended: an execution stopped, timed out or broken leaves nothing billing that it does not need.

The event is EventBridge's "Step Functions Execution Status Change". Jobs live in moto; throughput
and deployments (which moto lacks) are answered by a PartialStubber, in the order the handler asks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.common import runtime
from lambdas.run_ended.handler import lambda_handler
from pipeline import naming, release
from tests.handlers import plans
from tests.handlers.conftest import handed_over
from tests.handlers.helpers import (
    FakeContext,
    deployment_summary,
    job_status,
    notices,
    read_json,
    set_job,
    throughput_description,
    throughput_summary,
)
from tests.handlers.helpers import create_job as create_moto_job
from tests.stubs import PartialStubber, TagStore

pytestmark = pytest.mark.usefixtures("aws", "release_machine")
STORE: list[TagStore] = []

RUN_ID = plans.RUN_ID
EVAL_PT_ARN = f"arn:aws:bedrock:{plans.REGION}:{plans.ACCOUNT}:provisioned-model/eval00000001"
STUBBED = (
    "GetProvisionedModelThroughput",
    "ListProvisionedModelThroughputs",
    "DeleteProvisionedModelThroughput",
    "ListCustomModelDeployments",
    "DeleteCustomModelDeployment",
    "ListEvaluationJobs",
    "StopEvaluationJob",
)
JUDGE_JOB_ARN = f"arn:aws:bedrock:{plans.REGION}:{plans.ACCOUNT}:evaluation-job/j0dg3c0st0m1"
# The event's startDate: epoch milliseconds of plans.EXECUTION_START.
START_MS = int(dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC).timestamp() * 1000)


@pytest.fixture(autouse=True)
def _tag_store(tags: TagStore) -> Iterator[None]:
    for arn in (EVAL_PT_ARN, JUDGE_JOB_ARN):
        tags.tag(arn, dict(plans.EXECUTION_TAGS))
    STORE.append(tags)
    yield
    STORE.clear()


def create_job() -> str:
    arn = create_moto_job()
    STORE[0].tag(arn, dict(plans.EXECUTION_TAGS))
    return arn


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[PartialStubber]:
    monkeypatch.setattr(release, "SLEEP", lambda _seconds: None)
    stubber = PartialStubber(runtime.client("bedrock"), STUBBED)
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def status_event(status: str) -> dict[str, Any]:
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": f"arn:aws:states:{plans.REGION}:{plans.ACCOUNT}:execution:Workflow:{RUN_ID}",
            "stateMachineArn": f"arn:aws:states:{plans.REGION}:{plans.ACCOUNT}:stateMachine:Workflow",
            "name": RUN_ID,
            "status": status,
            "startDate": START_MS,
        },
    }


def found(stubber: PartialStubber, *, deployment: bool, eval_pt: bool, serving_pt: bool) -> None:
    """What the run left behind, as the list calls find it by name, and the deletions."""
    deployments = (
        [deployment_summary(naming.deployment_name(RUN_ID), plans.DEPLOYMENT_ARN)] if deployment else []
    )
    stubber.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": deployments},
        {"nameContains": naming.deployment_name(RUN_ID)},
    )
    if deployment:
        stubber.add_response(
            "delete_custom_model_deployment", {}, {"customModelDeploymentIdentifier": plans.DEPLOYMENT_ARN}
        )
    for name, arn, present in (
        (naming.evaluation_throughput_name(RUN_ID), EVAL_PT_ARN, eval_pt),
        (naming.provisioned_model_name(RUN_ID), plans.PT_ARN, serving_pt),
    ):
        summaries = [throughput_summary(name, arn)] if present else []
        stubber.add_response(
            "list_provisioned_model_throughputs",
            {"provisionedModelSummaries": summaries},
            {"nameContains": name},
        )
        if present:
            stubber.add_response(
                "get_provisioned_model_throughput",
                throughput_description(arn=arn, name=name),
                {"provisionedModelId": arn},
            )
            stubber.add_response("delete_provisioned_model_throughput", {}, {"provisionedModelId": arn})


def judge_jobs(stubber: PartialStubber, *, running_custom: bool = False) -> None:
    """The run's LLM-judge evaluation jobs still in progress, as ListEvaluationJobs finds them."""
    for which in ("custom", "base", "champion"):
        name = naming.judge_job_name(RUN_ID, which)
        summaries = (
            [
                {
                    "jobArn": JUDGE_JOB_ARN,
                    "jobName": name,
                    "status": "InProgress",
                    "creationTime": dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC),
                    "jobType": "Automated",
                    "evaluationTaskTypes": ["General"],
                    "modelIdentifiers": [],
                }
            ]
            if running_custom and which == "custom"
            else []
        )
        stubber.add_response(
            "list_evaluation_jobs",
            # jobSummaries has at least one member in botocore's model: none found = no key.
            {"jobSummaries": summaries} if summaries else {},
            {"nameContains": name, "statusEquals": "InProgress"},
        )
        if summaries:
            stubber.add_response("stop_evaluation_job", {}, {"jobIdentifier": JUDGE_JOB_ARN})


def test_a_run_stopped_after_buying_releases_everything_no_commitment_and_stops_nothing_finished(
    bedrock: PartialStubber, release_machine: str
) -> None:
    create_job()
    set_job(status="Completed")
    found(bedrock, deployment=True, eval_pt=False, serving_pt=True)
    judge_jobs(bedrock)

    result = lambda_handler(status_event("ABORTED"), FakeContext())

    assert result["deletedDeployments"] == [plans.DEPLOYMENT_ARN]
    assert result["deleted"] == [plans.PT_ARN]
    assert result["jobStopped"] is False and result["kept"] == []
    assert read_json(f"runs/{RUN_ID}/ended-aborted.json")["deleted"] == [plans.PT_ARN]
    (notice,) = notices()
    assert notice["subject"] == f"Bedrock run {RUN_ID} aborted: cleaned up"
    assert plans.PT_ARN in notice["message"] and "ended ABORTED" in notice["message"]
    # An abort may land while a create call is in flight: the retrying release looks again by the
    # run's names after the create could have landed, even though nothing is pending now
    [started] = handed_over(release_machine)
    assert started["request"]["scope"] == "run" and started["request"]["targets"] == []
    assert started["request"]["catchUpSeconds"] == 15 * 60
    assert started["request"]["execution"] == {"arn": plans.EXECUTION_ARN, "start": plans.EXECUTION_START}
    assert f"Retrying release: {result['handedOver']}" in notice["message"]


def test_a_run_stopped_while_training_stops_the_job(bedrock: PartialStubber) -> None:
    create_job()
    found(bedrock, deployment=False, eval_pt=False, serving_pt=False)
    judge_jobs(bedrock)

    result = lambda_handler(status_event("TIMED_OUT"), FakeContext())

    assert result["jobStopped"] is True
    assert job_status() in ("Stopping", "Stopped")
    assert "stopped customization job" in result["summary"]


def test_a_commitment_is_reported_never_deleted(bedrock: PartialStubber) -> None:
    create_job()
    set_job(status="Completed")
    name = naming.provisioned_model_name(RUN_ID)
    bedrock.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": []},
        {"nameContains": naming.deployment_name(RUN_ID)},
    )
    bedrock.add_response(
        "list_provisioned_model_throughputs",
        {"provisionedModelSummaries": []},
        {"nameContains": naming.evaluation_throughput_name(RUN_ID)},
    )
    bedrock.add_response(
        "list_provisioned_model_throughputs",
        {"provisionedModelSummaries": [throughput_summary(name, plans.PT_ARN)]},
        {"nameContains": name},
    )
    bedrock.add_response(
        "get_provisioned_model_throughput",
        throughput_description(commitment="OneMonth"),
        {"provisionedModelId": plans.PT_ARN},
    )
    judge_jobs(bedrock)

    result = lambda_handler(status_event("ABORTED"), FakeContext())

    assert result["deleted"] == []
    assert [k["arn"] for k in result["kept"]] == [plans.PT_ARN]
    assert "OneMonth commitment" in result["kept"][0]["reason"]


def test_a_failed_run_already_cleaned_is_neither_cleaned_nor_notified_again(bedrock: PartialStubber) -> None:
    create_job()
    set_job(status="Completed")
    found(bedrock, deployment=False, eval_pt=False, serving_pt=False)
    judge_jobs(bedrock)

    result = lambda_handler(status_event("FAILED"), FakeContext())

    assert result["deleted"] == [] and result["deletedDeployments"] == [] and not result["jobStopped"]
    assert not [n for n in notices() if "cleaned up" in (n["subject"] or "")]
    # its failure path ran: no create call can be in flight, nothing to catch up with
    assert result["handedOver"] is None


def test_an_earlier_runs_serving_resources_with_the_same_names_are_untouched(
    bedrock: PartialStubber, tags: TagStore
) -> None:
    # Given an earlier, successful execution of this run id still serves (execution names recur)
    for arn in (plans.DEPLOYMENT_ARN, plans.PT_ARN):
        tags.tag(arn, dict(plans.EARLIER_TAGS))
    create_job()
    set_job(status="Completed")
    bedrock.add_response(
        "list_custom_model_deployments",
        {
            "modelDeploymentSummaries": [
                deployment_summary(naming.deployment_name(RUN_ID), plans.DEPLOYMENT_ARN)
            ]
        },
        {"nameContains": naming.deployment_name(RUN_ID)},
    )
    for name, arn in (
        (naming.evaluation_throughput_name(RUN_ID), None),
        (naming.provisioned_model_name(RUN_ID), plans.PT_ARN),
    ):
        bedrock.add_response(
            "list_provisioned_model_throughputs",
            {"provisionedModelSummaries": [throughput_summary(name, arn)] if arn else []},
            {"nameContains": name},
        )
    judge_jobs(bedrock)
    # When the new execution of that id is stopped (no get or delete is queued: either would fail)
    result = lambda_handler(status_event("ABORTED"), FakeContext())
    # Then the earlier run's resources are reported, never deleted
    assert result["deleted"] == [] and result["deletedDeployments"] == []
    assert {n["arn"] for n in result["notOwned"]} == {plans.DEPLOYMENT_ARN, plans.PT_ARN}


def test_a_hand_over_that_fails_fails_the_handler_for_the_dead_letter_queue(
    bedrock: PartialStubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "RELEASE_STATE_MACHINE_ARN", f"arn:aws:states:us-east-1:{plans.ACCOUNT}:stateMachine:gone"
    )
    create_job()
    set_job(status="Completed")
    found(bedrock, deployment=False, eval_pt=False, serving_pt=False)
    judge_jobs(bedrock)
    with pytest.raises(Exception, match="StateMachineDoesNotExist"):
        lambda_handler(status_event("TIMED_OUT"), FakeContext())


def test_an_event_without_the_execution_start_fails_loudly(bedrock: PartialStubber) -> None:
    # Ownership needs the start: a malformed event goes to the retries and the dead-letter queue
    malformed = status_event("ABORTED")
    del malformed["detail"]["startDate"]
    with pytest.raises(ValueError, match="not an execution start time"):
        lambda_handler(malformed, FakeContext())


def test_statuses_it_does_not_handle_touch_nothing(bedrock: PartialStubber) -> None:
    # No response is queued: any Bedrock call would fail the test.
    assert lambda_handler(status_event("SUCCEEDED"), FakeContext())["summary"] == "nothing to do"
    assert lambda_handler({"detail": {"status": "ABORTED"}}, FakeContext())["summary"] == "nothing to do"


def test_a_stopped_run_stops_its_judge_jobs_still_in_progress(bedrock: PartialStubber) -> None:
    create_job()
    set_job(status="Completed")
    found(bedrock, deployment=True, eval_pt=False, serving_pt=False)
    judge_jobs(bedrock, running_custom=True)

    result = lambda_handler(status_event("ABORTED"), FakeContext())

    assert result["stoppedEvaluationJobs"] == [JUDGE_JOB_ARN]
    assert "stopped judge evaluation job(s)" in result["summary"]


def test_a_run_stopped_during_its_promotion_gives_the_slot_back(
    bedrock: PartialStubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stopped execution holds one slot, and another execution holds another
    monkeypatch.setenv("SLOT_LOCK_TABLE", "slot-locks")
    dynamodb = runtime.client("dynamodb")
    dynamodb.create_table(
        TableName="slot-locks",
        KeySchema=[{"AttributeName": "slot", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "slot", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    execution = status_event("ABORTED")["detail"]["executionArn"]
    for slot, arn, run in (("support", execution, RUN_ID), ("search", f"{execution}-other", "other-run")):
        dynamodb.put_item(
            TableName="slot-locks",
            Item={
                "slot": {"S": slot},
                "runId": {"S": run},
                "executionArn": {"S": arn},
                "expiresAt": {"N": "9999999999"},
            },
        )
    create_job()
    set_job(status="Completed")
    found(bedrock, deployment=False, eval_pt=False, serving_pt=False)
    judge_jobs(bedrock)
    # When its stop is handled
    result = lambda_handler(status_event("ABORTED"), FakeContext())
    # Then its slot is free again, the other one still held, and the notice says so
    assert result["slotsReleased"] == [f"support (held by run {RUN_ID})"]
    remaining = dynamodb.scan(TableName="slot-locks")["Items"]
    assert [i["slot"]["S"] for i in remaining] == ["search"]
    (notice,) = notices()
    assert "Gave back serving slot support" in notice["message"]
