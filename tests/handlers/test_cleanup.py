"""cleanup: no-commitment throughput deleted, commitments kept and reported, running jobs stopped.

Jobs live in moto; Provisioned Throughput (which moto lacks) is answered by a Stubber on the same
client, so both kinds of call go through the handler's one Bedrock client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.cleanup.handler import lambda_handler
from lambdas.common import runtime
from tests.handlers import plans
from tests.handlers.helpers import FakeContext, create_job, job_status, set_job
from tests.stubs import PartialStubber

pytestmark = pytest.mark.usefixtures("aws")

PT_OPERATIONS = (
    "GetProvisionedModelThroughput",
    "ListProvisionedModelThroughputs",
    "DeleteProvisionedModelThroughput",
)
FAILURE = {"Error": "EvaluationBelowBar", "Cause": "Custom model below the bar (rougeL): ..."}


@pytest.fixture
def pt() -> Iterator[PartialStubber]:
    stubber = PartialStubber(runtime.client("bedrock"), PT_OPERATIONS)
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def described(status: str = "InService", commitment: str | None = None) -> dict[str, Any]:
    now = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
    doc: dict[str, Any] = {
        "modelUnits": 1,
        "desiredModelUnits": 1,
        "provisionedModelName": plans.PT_NAME,
        "provisionedModelArn": plans.PT_ARN,
        "modelArn": plans.CUSTOM_MODEL_ARN,
        "desiredModelArn": plans.CUSTOM_MODEL_ARN,
        "foundationModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
        "status": status,
        "creationTime": now,
        "lastModifiedTime": now,
    }
    if commitment:
        doc |= {
            "commitmentDuration": commitment,
            "commitmentExpirationTime": dt.datetime(2027, 5, 27, tzinfo=dt.UTC),
        }
    return doc


def expect_get(pt: PartialStubber, response: dict[str, Any]) -> None:
    pt.add_response("get_provisioned_model_throughput", response, {"provisionedModelId": plans.PT_ARN})


def expect_delete(pt: PartialStubber) -> None:
    pt.add_response("delete_provisioned_model_throughput", {}, {"provisionedModelId": plans.PT_ARN})


def event(*, throughput: dict[str, Any] | None = None, **plan_args: Any) -> dict[str, Any]:
    return {
        "runId": plans.RUN_ID,
        "plan": plans.plan(**plan_args),
        "throughput": throughput,
        "failure": FAILURE,
    }


def completed_job() -> None:
    create_job()
    set_job(status="Completed", training_loss=0.5, validation_losses=[0.9])


def test_a_no_commitment_purchase_is_deleted(pt: PartialStubber) -> None:
    # Given the evaluation failed after a no-commitment purchase
    completed_job()
    expect_get(pt, described())
    expect_delete(pt)
    # When
    result = lambda_handler(event(throughput={"ProvisionedModelArn": plans.PT_ARN}), FakeContext())
    # Then
    assert result["deleted"] == [plans.PT_ARN]
    assert result["kept"] == []
    assert result["jobStopped"] is False
    assert result["job"]["status"] == "Completed"
    assert result["summary"] == f"Cleanup: deleted provisioned throughput {plans.PT_ARN}."


@pytest.mark.parametrize(
    ("status", "error"), [("Failed", "ThroughputFailed"), ("Creating", "ThroughputTimeout")]
)
def test_a_purchase_that_failed_or_never_came_online_is_deleted(
    pt: PartialStubber, status: str, error: str
) -> None:
    completed_job()
    expect_get(pt, described(status=status))
    expect_delete(pt)
    result = lambda_handler(
        event(throughput={"ProvisionedModelArn": plans.PT_ARN})
        | {"failure": {"Error": error, "Cause": "..."}},
        FakeContext(),
    )
    assert result["deleted"] == [plans.PT_ARN]


def test_a_commitment_is_never_deleted_only_reported(pt: PartialStubber) -> None:
    completed_job()
    expect_get(pt, described(commitment="OneMonth"))
    # No delete response is queued: a delete call would fail the test.
    result = lambda_handler(
        event(throughput={"ProvisionedModelArn": plans.PT_ARN}, commitment="OneMonth"), FakeContext()
    )
    assert result["deleted"] == []
    [kept] = result["kept"]
    assert kept["arn"] == plans.PT_ARN
    assert "OneMonth commitment: billed until 2027-05-27T00:00:00Z" in kept["reason"]
    assert f"KEPT provisioned throughput {plans.PT_ARN}" in result["summary"]


def test_a_delete_bedrock_refuses_is_reported_as_still_billed(pt: PartialStubber) -> None:
    completed_job()
    expect_get(pt, described(status="Creating"))
    pt.add_client_error("delete_provisioned_model_throughput", "ConflictException", "still creating", 409)
    result = lambda_handler(event(throughput={"ProvisionedModelArn": plans.PT_ARN}), FakeContext())
    assert result["deleted"] == []
    [kept] = result["kept"]
    assert "IT IS STILL BILLED HOURLY" in kept["reason"]
    assert f"--provisioned-model-id {plans.PT_ARN}" in kept["reason"]


def test_a_purchase_whose_arn_was_lost_is_found_by_its_exact_name(pt: PartialStubber) -> None:
    # Given the create call reached Bedrock but its answer never reached the workflow
    completed_job()
    similar = f"{plans.PT_NAME}-2"
    pt.add_response(
        "list_provisioned_model_throughputs",
        {
            "provisionedModelSummaries": [
                _summary(similar, plans.PT_ARN.replace("k3v9q2x7m1ab", "other0000000")),
                _summary(plans.PT_NAME, plans.PT_ARN),
            ]
        },
        {"nameContains": plans.PT_NAME},
    )
    expect_get(pt, described())
    expect_delete(pt)
    # When
    result = lambda_handler(event(throughput=None), FakeContext())
    # Then only this run's purchase is touched
    assert result["deleted"] == [plans.PT_ARN]


def test_nothing_is_deleted_when_no_purchase_exists(pt: PartialStubber) -> None:
    completed_job()
    pt.add_response(
        "list_provisioned_model_throughputs",
        {"provisionedModelSummaries": [_summary(f"{plans.PT_NAME}-2", plans.PT_ARN)]},
        {"nameContains": plans.PT_NAME},
    )
    result = lambda_handler(event(throughput=None), FakeContext())
    assert result == {
        "deleted": [],
        "kept": [],
        "jobStopped": False,
        "summary": "Cleanup: nothing to release: this run bought no throughput and has no running job.",
        "job": result["job"],
    }


def test_an_already_deleted_purchase_is_fine(pt: PartialStubber) -> None:
    completed_job()
    pt.add_client_error("get_provisioned_model_throughput", "ResourceNotFoundException", "not found", 404)
    result = lambda_handler(event(throughput={"ProvisionedModelArn": plans.PT_ARN}), FakeContext())
    assert result["deleted"] == []
    assert result["kept"] == []


def test_a_run_that_buys_nothing_never_looks_for_a_purchase(pt: PartialStubber) -> None:
    # No PT response is queued: any throughput call would fail the test.
    completed_job()
    result = lambda_handler(event(throughput=None, wanted=False), FakeContext())
    assert result["deleted"] == []


def test_a_job_still_in_progress_is_stopped(pt: PartialStubber) -> None:
    # Given training was still running when the run failed (moto keeps jobs InProgress)
    create_job()
    result = lambda_handler(event(throughput=None, wanted=False), FakeContext())
    assert result["jobStopped"] is True
    assert job_status() == "Stopped"
    assert f"stopped customization job {plans.RUN_ID}" in result["summary"]


def test_a_failed_job_is_reported_for_the_record(pt: PartialStubber) -> None:
    create_job()
    set_job(status="Failed", failure_message="Training data has 3 invalid records")
    result = lambda_handler(event(throughput=None, wanted=False), FakeContext())
    assert result["jobStopped"] is False
    assert result["job"]["status"] == "Failed"
    assert result["job"]["failureMessage"] == "Training data has 3 invalid records"


def test_cleanup_twice_releases_once(pt: PartialStubber) -> None:
    # A re-driven failure path (same execution) must not fail on what the first pass released.
    create_job()
    expect_get(pt, described())
    expect_delete(pt)
    pt.add_client_error("get_provisioned_model_throughput", "ResourceNotFoundException", "not found", 404)
    first = lambda_handler(event(throughput={"ProvisionedModelArn": plans.PT_ARN}), FakeContext())
    second = lambda_handler(event(throughput={"ProvisionedModelArn": plans.PT_ARN}), FakeContext())
    assert (first["deleted"], first["jobStopped"]) == ([plans.PT_ARN], True)
    assert (second["deleted"], second["jobStopped"]) == ([], False)


def test_a_run_without_a_plan_has_nothing_to_release(pt: PartialStubber) -> None:
    # Preflight failed: $.preflight.plan is null, nothing was started or bought.
    result = lambda_handler(
        {"runId": plans.RUN_ID, "plan": None, "throughput": None, "failure": FAILURE}, None
    )
    assert result["deleted"] == [] and result["jobStopped"] is False and result["job"] is None


def _summary(name: str, arn: str) -> dict[str, Any]:
    now = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    return {
        "provisionedModelName": name,
        "provisionedModelArn": arn,
        "modelArn": plans.CUSTOM_MODEL_ARN,
        "desiredModelArn": plans.CUSTOM_MODEL_ARN,
        "foundationModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
        "modelUnits": 1,
        "desiredModelUnits": 1,
        "status": "InService",
        "creationTime": now,
        "lastModifiedTime": now,
    }
