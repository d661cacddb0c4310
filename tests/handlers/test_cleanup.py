"""cleanup: what a failed run bought is released, commitments are kept and reported, jobs stopped;
after a successful purchase only the evaluation vehicle is released.

Jobs live in moto; Provisioned Throughput and custom model deployments (which moto lacks) are
answered by a PartialStubber on the same client, so every call goes through the handler's one
Bedrock client. The Stubber's queue is ordered: a call the handler should not make fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.cleanup.handler import lambda_handler
from lambdas.common import runtime
from pipeline import release
from pipeline.release import CONFLICT_RETRY_WAITS
from tests.handlers import plans
from tests.handlers.conftest import handed_over
from tests.handlers.helpers import (
    FakeContext,
    deployment_summary,
    job_status,
    set_job,
    throughput_description,
    throughput_summary,
)
from tests.handlers.helpers import create_job as create_moto_job
from tests.stubs import PartialStubber, TagStore

pytestmark = pytest.mark.usefixtures("aws")
STORE: list[TagStore] = []


@pytest.fixture(autouse=True)
def _tag_store(tags: TagStore) -> Iterator[None]:
    STORE.append(tags)
    yield
    STORE.clear()


def create_job() -> str:
    """The run's job in moto, tagged by this execution (as the workflow creates it)."""
    arn = create_moto_job()
    STORE[0].tag(arn, dict(plans.EXECUTION_TAGS))
    return arn


STUBBED = (
    "ListEvaluationJobs",
    "StopEvaluationJob",
    "GetProvisionedModelThroughput",
    "ListProvisionedModelThroughputs",
    "DeleteProvisionedModelThroughput",
    "ListCustomModelDeployments",
    "DeleteCustomModelDeployment",
)
FAILURE = {"Error": "EvaluationBelowBar", "Cause": "Custom model below the bar (rougeL): ..."}
NOTHING = "Cleanup: nothing to release: this run bought no throughput, has no deployment and no running job."


@pytest.fixture
def bedrock() -> Iterator[PartialStubber]:
    stubber = PartialStubber(runtime.client("bedrock"), STUBBED)
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(release, "SLEEP", waited.append)
    return waited


def expect_get(stubber: PartialStubber, arn: str = plans.PT_ARN, **described: Any) -> None:
    stubber.add_response(
        "get_provisioned_model_throughput",
        throughput_description(arn=arn, **described),
        {"provisionedModelId": arn},
    )


def expect_delete(stubber: PartialStubber, arn: str = plans.PT_ARN) -> None:
    stubber.add_response("delete_provisioned_model_throughput", {}, {"provisionedModelId": arn})


def expect_delete_deployment(stubber: PartialStubber, arn: str = plans.DEPLOYMENT_ARN) -> None:
    stubber.add_response("delete_custom_model_deployment", {}, {"customModelDeploymentIdentifier": arn})


def refuse(stubber: PartialStubber, operation: str, code: str = "ConflictException", times: int = 1) -> None:
    for _ in range(times):
        stubber.add_client_error(operation, code, "refused", 409 if code == "ConflictException" else 400)


def event(
    *,
    throughput: dict[str, Any] | None = None,
    slot: dict[str, Any] | None = None,
    mode: str = "failure",
    **plan_args: Any,
) -> dict[str, Any]:
    return {
        "runId": plans.RUN_ID,
        "executionArn": plans.EXECUTION_ARN,
        "executionStart": plans.EXECUTION_START,
        "plan": plans.plan(**plan_args),
        "vehicle": slot,
        "throughput": throughput,
        "failure": FAILURE if mode == "failure" else None,
        "mode": mode,
    }


SERVING = {"ProvisionedModelArn": plans.PT_ARN}


def completed_job() -> None:
    create_job()
    set_job(status="Completed", training_loss=0.5, validation_losses=[0.9])


# --------------------------------------------------------------------------------------------------
# Failure: everything the run made goes, except a commitment
# --------------------------------------------------------------------------------------------------


def test_failure_deletes_the_deployment_and_the_serving_throughput_and_stops_the_job(
    bedrock: PartialStubber,
) -> None:
    # Given a run that failed while its job still ran, with a deployment and a serving purchase
    create_job()
    expect_delete_deployment(bedrock)
    expect_get(bedrock)
    expect_delete(bedrock)
    # When
    result = lambda_handler(event(slot=plans.vehicle_slot("deployment"), throughput=SERVING), FakeContext())
    # Then
    assert result["mode"] == "failure"
    assert result["deletedDeployments"] == [plans.DEPLOYMENT_ARN]
    assert result["deleted"] == [plans.PT_ARN]
    assert result["kept"] == []
    assert result["jobStopped"] is True
    assert job_status() == "Stopped"
    assert result["summary"] == (
        f"Cleanup: deleted on-demand deployment {plans.DEPLOYMENT_ARN}; deleted provisioned throughput "
        f"{plans.PT_ARN}; stopped customization job {plans.RUN_ID}."
    )


def test_failure_deletes_the_evaluation_throughput_and_the_serving_throughput(
    bedrock: PartialStubber,
) -> None:
    completed_job()
    expect_get(bedrock, plans.EVAL_PT_ARN, name=plans.EVAL_PT_NAME)
    expect_delete(bedrock, plans.EVAL_PT_ARN)
    expect_get(bedrock)
    expect_delete(bedrock)
    result = lambda_handler(
        event(slot=plans.vehicle_slot("throughput"), throughput=SERVING, vehicle="throughput", model_units=2),
        FakeContext(),
    )
    assert result["deleted"] == [plans.EVAL_PT_ARN, plans.PT_ARN]
    assert result["deletedDeployments"] == []
    assert result["jobStopped"] is False
    assert result["job"]["status"] == "Completed"


def test_an_evaluation_throughput_kept_for_serving_is_deleted_once(bedrock: PartialStubber) -> None:
    # The serving state reused the vehicle: $.vehicle.Arn and $.throughput are the same purchase
    completed_job()
    expect_get(bedrock)
    expect_delete(bedrock)
    result = lambda_handler(
        event(
            slot=plans.vehicle_slot("throughput") | {"Arn": plans.PT_ARN},
            throughput=SERVING,
            vehicle="throughput",
        ),
        FakeContext(),
    )
    assert result["deleted"] == [plans.PT_ARN]


@pytest.mark.parametrize(
    ("status", "error"), [("Failed", "ThroughputFailed"), ("Creating", "ThroughputTimeout")]
)
def test_a_purchase_that_failed_or_never_came_online_is_deleted(
    bedrock: PartialStubber, status: str, error: str
) -> None:
    completed_job()
    expect_get(bedrock, status=status)
    expect_delete(bedrock)
    result = lambda_handler(
        event(throughput=SERVING, vehicle="none") | {"failure": {"Error": error, "Cause": "..."}},
        FakeContext(),
    )
    assert result["deleted"] == [plans.PT_ARN]


def test_a_commitment_is_never_deleted_only_reported(bedrock: PartialStubber) -> None:
    completed_job()
    expect_delete_deployment(bedrock)
    expect_get(bedrock, commitment="OneMonth")
    # No delete response is queued for the throughput: a delete call would fail the test.
    result = lambda_handler(
        event(slot=plans.vehicle_slot(), throughput=SERVING, commitment="OneMonth"), FakeContext()
    )
    assert result["deleted"] == []
    assert result["deletedDeployments"] == [plans.DEPLOYMENT_ARN]
    [kept] = result["kept"]
    assert kept["arn"] == plans.PT_ARN
    assert "OneMonth commitment: billed until 2027-05-27T00:00:00Z" in kept["reason"]
    assert f"KEPT {plans.PT_ARN}: OneMonth commitment" in result["summary"]


def test_a_refused_delete_is_retried_with_backoff_then_succeeds(
    bedrock: PartialStubber, sleeps: list[float]
) -> None:
    completed_job()
    refuse(bedrock, "delete_custom_model_deployment", times=2)
    expect_delete_deployment(bedrock)
    result = lambda_handler(event(slot=plans.vehicle_slot(), serving="none"), FakeContext())
    assert result["deletedDeployments"] == [plans.DEPLOYMENT_ARN]
    assert sleeps == list(CONFLICT_RETRY_WAITS[:2]) == [5, 10]


def test_a_throughput_bedrock_keeps_refusing_is_handed_to_the_retrying_release(
    bedrock: PartialStubber, sleeps: list[float], release_machine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a serving purchase still Creating: Bedrock refuses its deletion for tens of minutes
    monkeypatch.setenv("DEPLOYMENT_ENVIRONMENT", "prod")
    completed_job()
    expect_get(bedrock, status="Creating")
    refuse(bedrock, "delete_provisioned_model_throughput", times=len(CONFLICT_RETRY_WAITS) + 1)
    # When the failed run is cleaned up
    result = lambda_handler(event(throughput=SERVING, vehicle="none"), FakeContext())
    # Then it is not given up: it is pending, and a retrying release of the whole run has started
    assert sleeps == list(CONFLICT_RETRY_WAITS)
    assert result["deleted"] == [] and result["kept"] == []
    [pending] = result["pending"]
    assert (pending["kind"], pending["arn"]) == ("throughput", plans.PT_ARN)
    assert "status Creating" in pending["reason"]
    [started] = handed_over(release_machine)
    assert started["attempt"] is None
    request = started["request"]
    assert request["runId"] == plans.RUN_ID and request["scope"] == "run"
    assert request["execution"] == {"arn": plans.EXECUTION_ARN, "start": plans.EXECUTION_START}
    assert request["targets"] == [{"kind": "throughput", "arn": plans.PT_ARN}]
    assert result["handedOver"].startswith(release_machine.replace(":stateMachine:", ":execution:"))
    # and the notice gives the per-ARN command, where the run ran, never a sweep
    command = f"bedrock-customize throughput delete {plans.PT_ARN} --env prod --region us-east-1"
    assert f"NOT YET DELETED throughput {plans.PT_ARN}" in result["summary"]
    assert command in result["summary"]
    assert "sweep" not in result["summary"]


def test_a_second_cleanup_of_the_same_execution_joins_the_release_already_started(
    bedrock: PartialStubber, sleeps: list[float], release_machine: str
) -> None:
    completed_job()
    for _ in range(2):
        expect_get(bedrock, status="Creating")
        refuse(bedrock, "delete_provisioned_model_throughput", times=len(CONFLICT_RETRY_WAITS) + 1)
    first = lambda_handler(event(throughput=SERVING, vehicle="none"), FakeContext())
    second = lambda_handler(event(throughput=SERVING, vehicle="none"), FakeContext())
    assert len(handed_over(release_machine)) == 1
    assert first["handedOver"] == second["handedOver"]


def test_a_hand_over_that_fails_fails_the_cleanup(
    bedrock: PartialStubber, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The release state machine cannot be started: the handler fails loudly (its error alarm, the
    # workflow's record of the cleanup error), never a normal return with something still billing.
    monkeypatch.setenv(
        "RELEASE_STATE_MACHINE_ARN", f"arn:aws:states:us-east-1:{plans.ACCOUNT}:stateMachine:gone"
    )
    completed_job()
    expect_get(bedrock, status="Creating")
    refuse(bedrock, "delete_provisioned_model_throughput", times=len(CONFLICT_RETRY_WAITS) + 1)
    with pytest.raises(Exception, match="StateMachineDoesNotExist"):
        lambda_handler(event(throughput=SERVING, vehicle="none"), FakeContext())


def test_a_deployment_bedrock_keeps_refusing_is_handed_over_for_the_vehicle_only(
    bedrock: PartialStubber, sleeps: list[float], release_machine: str
) -> None:
    # The run goes on (release-evaluation): only the vehicle is handed over, not the whole run
    completed_job()
    refuse(bedrock, "delete_custom_model_deployment", times=len(CONFLICT_RETRY_WAITS) + 1)
    result = lambda_handler(
        event(mode="release-evaluation", slot=plans.vehicle_slot(), serving="none"), FakeContext()
    )
    assert len(sleeps) == len(CONFLICT_RETRY_WAITS)
    assert result["deletedDeployments"] == []
    assert [p["arn"] for p in result["pending"]] == [plans.DEPLOYMENT_ARN]
    [started] = handed_over(release_machine)
    assert started["request"]["scope"] == "vehicle"
    assert started["request"]["targets"] == [{"kind": "deployment", "arn": plans.DEPLOYMENT_ARN}]
    assert (
        "aws bedrock delete-custom-model-deployment --custom-model-deployment-identifier "
        f"{plans.DEPLOYMENT_ARN} --region us-east-1" in result["summary"]
    )


# --------------------------------------------------------------------------------------------------
# Ownership: only what this execution created; never a serving slot's endpoint
# --------------------------------------------------------------------------------------------------


def test_what_an_earlier_execution_of_the_same_run_id_created_is_left_alone(
    bedrock: PartialStubber, tags: TagStore
) -> None:
    # Given an earlier, successful run with this run id still serves on its deployment and throughput
    # (execution names recur): the names lead this run's cleanup to them
    for arn in (plans.DEPLOYMENT_ARN, plans.PT_ARN):
        tags.tag(arn, dict(plans.EARLIER_TAGS))
    completed_job()
    # No get or delete is queued: touching either would fail the test
    result = lambda_handler(event(slot=plans.vehicle_slot(), throughput=SERVING), FakeContext())
    assert result["deleted"] == [] and result["deletedDeployments"] == []
    assert [(n["kind"], n["arn"]) for n in result["notOwned"]] == [
        ("deployment", plans.DEPLOYMENT_ARN),
        ("throughput", plans.PT_ARN),
    ]
    assert plans.EARLIER_START in result["notOwned"][0]["owner"]
    assert f"LEFT ALONE deployment {plans.DEPLOYMENT_ARN}" in result["summary"]


@pytest.mark.parametrize("mode", ["failure", "release-evaluation"])
def test_a_serving_slots_endpoint_is_never_deleted_even_by_the_run_that_created_it(
    bedrock: PartialStubber, tags: TagStore, mode: str
) -> None:
    # Given the run's own deployment became serving slot "support"'s endpoint (a first promotion)
    tags.tag(plans.DEPLOYMENT_ARN, {"bedrock-customization:slot": "support"})
    completed_job()
    # No delete is queued: a delete call would fail the test
    result = lambda_handler(event(mode=mode, slot=plans.vehicle_slot(), serving="none"), FakeContext())
    assert result["deletedDeployments"] == []
    assert result["slotEndpoints"] == [{"kind": "deployment", "arn": plans.DEPLOYMENT_ARN, "slot": "support"}]
    assert "the endpoint of serving slot support, never deleted" in result["summary"]


def test_an_execution_without_its_identity_owns_nothing(bedrock: PartialStubber) -> None:
    # A definition older than the execution tags: nothing is owned, everything is reported
    completed_job()
    old = event(slot=plans.vehicle_slot(), serving="none")
    del old["executionArn"], old["executionStart"]
    result = lambda_handler(old, FakeContext())
    assert result["deletedDeployments"] == [] and result["jobStopped"] is False
    assert [n["arn"] for n in result["notOwned"]][:1] == [plans.DEPLOYMENT_ARN]


def test_a_delete_refused_for_another_reason_escapes(bedrock: PartialStubber, sleeps: list[float]) -> None:
    completed_job()
    refuse(bedrock, "delete_custom_model_deployment", code="AccessDeniedException")
    with pytest.raises(Exception, match="AccessDeniedException"):
        lambda_handler(event(slot=plans.vehicle_slot(), serving="none"), FakeContext())
    assert sleeps == []


def test_a_deployment_whose_arn_was_lost_is_found_by_its_exact_name(bedrock: PartialStubber) -> None:
    # Given the create call reached Bedrock but its answer never reached the workflow; the exact
    # name is on the second page, after a name that merely contains it
    completed_job()
    similar = plans.DEPLOYMENT_ARN.replace("d3p1oy4m3nt1", "other0000000")
    bedrock.add_response(
        "list_custom_model_deployments",
        {
            "modelDeploymentSummaries": [deployment_summary(f"{plans.DEPLOYMENT_NAME}-2", similar)],
            "nextToken": "p2",
        },
        {"nameContains": plans.DEPLOYMENT_NAME},
    )
    bedrock.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": [deployment_summary(plans.DEPLOYMENT_NAME, plans.DEPLOYMENT_ARN)]},
        {"nameContains": plans.DEPLOYMENT_NAME, "nextToken": "p2"},
    )
    expect_delete_deployment(bedrock)
    # When
    result = lambda_handler(event(slot=None, serving="none"), FakeContext())
    # Then only this run's deployment is touched
    assert result["deletedDeployments"] == [plans.DEPLOYMENT_ARN]


def test_purchases_whose_arns_were_lost_are_found_by_their_exact_names(bedrock: PartialStubber) -> None:
    completed_job()
    other = plans.PT_ARN.replace("k3v9q2x7m1ab", "other0000000")
    bedrock.add_response(
        "list_provisioned_model_throughputs",
        {"provisionedModelSummaries": [throughput_summary(plans.EVAL_PT_NAME, plans.EVAL_PT_ARN)]},
        {"nameContains": plans.EVAL_PT_NAME},
    )
    expect_get(bedrock, plans.EVAL_PT_ARN, name=plans.EVAL_PT_NAME)
    expect_delete(bedrock, plans.EVAL_PT_ARN)
    bedrock.add_response(
        "list_provisioned_model_throughputs",
        {
            "provisionedModelSummaries": [
                throughput_summary(f"{plans.PT_NAME}-2", other),
                throughput_summary(plans.PT_NAME, plans.PT_ARN),
            ]
        },
        {"nameContains": plans.PT_NAME},
    )
    expect_get(bedrock)
    expect_delete(bedrock)
    result = lambda_handler(event(vehicle="throughput", model_units=2), FakeContext())
    assert result["deleted"] == [plans.EVAL_PT_ARN, plans.PT_ARN]


def test_nothing_is_deleted_when_nothing_was_created(bedrock: PartialStubber) -> None:
    completed_job()
    bedrock.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": []},
        {"nameContains": plans.DEPLOYMENT_NAME},
    )
    bedrock.add_response(
        "list_provisioned_model_throughputs",
        {"provisionedModelSummaries": [throughput_summary(f"{plans.PT_NAME}-2", plans.PT_ARN)]},
        {"nameContains": plans.PT_NAME},
    )
    result = lambda_handler(event(), FakeContext())
    assert result == {
        "mode": "failure",
        "deleted": [],
        "deletedDeployments": [],
        "kept": [],
        "pending": [],
        "notOwned": [],
        "slotEndpoints": [],
        "handedOver": None,
        "jobStopped": False,
        "stoppedEvaluationJobs": [],
        "summary": NOTHING,
        "job": result["job"],
        "slotReleased": None,
    }


def test_a_throughput_already_gone_is_skipped(bedrock: PartialStubber) -> None:
    completed_job()
    refuse(bedrock, "get_provisioned_model_throughput", code="ResourceNotFoundException")
    result = lambda_handler(event(throughput=SERVING, vehicle="none"), FakeContext())
    assert result["deleted"] == [] and result["kept"] == []
    assert result["summary"] == NOTHING


def test_a_deployment_already_gone_is_skipped(bedrock: PartialStubber) -> None:
    completed_job()
    refuse(bedrock, "delete_custom_model_deployment", code="ResourceNotFoundException")
    result = lambda_handler(event(slot=plans.vehicle_slot(), serving="none"), FakeContext())
    assert result["deletedDeployments"] == [] and result["kept"] == []


def test_a_deployment_already_gone_does_not_fail_the_cleanup(bedrock: PartialStubber) -> None:
    completed_job()
    refuse(bedrock, "delete_custom_model_deployment", code="ResourceNotFoundException")
    result = lambda_handler(event(slot=plans.vehicle_slot(), serving="none"), FakeContext())
    assert result["kept"] == []


def test_a_run_that_creates_nothing_never_looks_for_anything(bedrock: PartialStubber) -> None:
    # No Bedrock response is queued: any throughput or deployment call would fail the test.
    completed_job()
    result = lambda_handler(event(vehicle="none", serving="none"), FakeContext())
    assert result["deleted"] == [] and result["deletedDeployments"] == []
    assert result["summary"] == NOTHING


def test_a_job_still_in_progress_is_stopped(bedrock: PartialStubber) -> None:
    # Given training was still running when the run failed (moto keeps jobs InProgress)
    create_job()
    result = lambda_handler(event(vehicle="none", serving="none"), FakeContext())
    assert result["jobStopped"] is True
    assert job_status() == "Stopped"
    assert f"stopped customization job {plans.RUN_ID}" in result["summary"]


def test_a_failed_job_is_reported_for_the_record(bedrock: PartialStubber) -> None:
    create_job()
    set_job(status="Failed", failure_message="Training data has 3 invalid records")
    result = lambda_handler(event(vehicle="none", serving="none"), FakeContext())
    assert result["jobStopped"] is False
    assert result["job"]["status"] == "Failed"
    assert result["job"]["failureMessage"] == "Training data has 3 invalid records"


def test_cleanup_twice_releases_once(bedrock: PartialStubber) -> None:
    # A re-driven failure path (same execution) must not fail on what the first pass released.
    create_job()
    expect_delete_deployment(bedrock)
    expect_get(bedrock)
    expect_delete(bedrock)
    refuse(bedrock, "delete_custom_model_deployment", code="ResourceNotFoundException")
    refuse(bedrock, "get_provisioned_model_throughput", code="ResourceNotFoundException")
    first = lambda_handler(event(slot=plans.vehicle_slot(), throughput=SERVING), FakeContext())
    second = lambda_handler(event(slot=plans.vehicle_slot(), throughput=SERVING), FakeContext())
    assert (first["deleted"], first["deletedDeployments"], first["jobStopped"]) == (
        [plans.PT_ARN],
        [plans.DEPLOYMENT_ARN],
        True,
    )
    assert (second["deleted"], second["jobStopped"]) == ([], False)


def test_a_run_without_a_plan_has_nothing_to_release(bedrock: PartialStubber) -> None:
    # Preflight failed: $.preflight.plan is null, nothing was started or bought.
    result = lambda_handler(
        {"runId": plans.RUN_ID, "plan": None, "vehicle": None, "throughput": None, "failure": FAILURE}, None
    )
    assert result["deleted"] == [] and result["jobStopped"] is False and result["job"] is None
    assert result["mode"] == "failure"  # the default


# --------------------------------------------------------------------------------------------------
# release-evaluation: after serving is in place, only the evaluation vehicle goes
# --------------------------------------------------------------------------------------------------


def test_release_deletes_only_the_evaluation_deployment(bedrock: PartialStubber) -> None:
    # Given the model passed and a throughput serves it; the job is not looked at (moto: InProgress)
    create_job()
    expect_delete_deployment(bedrock)
    # No throughput response is queued: touching the serving purchase would fail the test
    result = lambda_handler(
        event(mode="release-evaluation", slot=plans.vehicle_slot(), throughput=SERVING), FakeContext()
    )
    assert result["mode"] == "release-evaluation"
    assert result["deletedDeployments"] == [plans.DEPLOYMENT_ARN]
    assert result["deleted"] == []
    assert (result["jobStopped"], result["job"]) == (False, None)
    assert job_status() == "InProgress"
    assert result["summary"] == f"Cleanup: deleted on-demand deployment {plans.DEPLOYMENT_ARN}."


def test_release_deletes_only_the_evaluation_throughput(bedrock: PartialStubber) -> None:
    completed_job()
    expect_get(bedrock, plans.EVAL_PT_ARN, name=plans.EVAL_PT_NAME)
    expect_delete(bedrock, plans.EVAL_PT_ARN)
    result = lambda_handler(
        event(
            mode="release-evaluation",
            slot=plans.vehicle_slot("throughput"),
            throughput=SERVING,
            vehicle="throughput",
            model_units=2,
        ),
        FakeContext(),
    )
    assert result["deleted"] == [plans.EVAL_PT_ARN]


def test_release_finds_a_lost_vehicle_by_name(bedrock: PartialStubber) -> None:
    completed_job()
    bedrock.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": [deployment_summary(plans.DEPLOYMENT_NAME, plans.DEPLOYMENT_ARN)]},
        {"nameContains": plans.DEPLOYMENT_NAME},
    )
    expect_delete_deployment(bedrock)
    result = lambda_handler(event(mode="release-evaluation", slot=None, serving="none"), FakeContext())
    assert result["deletedDeployments"] == [plans.DEPLOYMENT_ARN]


@pytest.mark.parametrize(
    ("plan_args", "vehicle"),
    [
        pytest.param({"serving": "on-demand"}, plans.vehicle_slot("deployment"), id="deployment-serves"),
        pytest.param(
            {"vehicle": "throughput"},
            plans.vehicle_slot("throughput") | {"Arn": plans.PT_ARN},
            id="throughput-kept-for-serving",
        ),
    ],
)
def test_release_keeps_a_vehicle_that_also_serves(
    bedrock: PartialStubber, plan_args: dict[str, Any], vehicle: dict[str, Any]
) -> None:
    # No Bedrock response is queued: any delete would fail the test
    completed_job()
    result = lambda_handler(event(mode="release-evaluation", slot=vehicle, **plan_args), FakeContext())
    assert result["deleted"] == [] and result["deletedDeployments"] == [] and result["kept"] == []
    assert result["summary"] == (
        "Cleanup: nothing to release: the evaluation vehicle also serves, or there was none."
    )


def test_a_vehicle_that_serves_is_still_deleted_when_the_run_fails(bedrock: PartialStubber) -> None:
    completed_job()
    expect_delete_deployment(bedrock)
    result = lambda_handler(event(slot=plans.vehicle_slot(), serving="on-demand"), FakeContext())
    assert result["deletedDeployments"] == [plans.DEPLOYMENT_ARN]


def test_a_failed_judged_run_stops_its_judge_jobs_still_in_progress(bedrock: PartialStubber) -> None:
    # The plan has a judge: the failure path stops its evaluation jobs (judge tokens are billed).
    from pipeline import naming

    completed_job()
    judge_arn = f"arn:aws:bedrock:{plans.REGION}:{plans.ACCOUNT}:evaluation-job/j0dg3c0st0m1"
    STORE[0].tag(judge_arn, dict(plans.EXECUTION_TAGS))
    custom, base, champion = (
        naming.judge_job_name(plans.RUN_ID, which) for which in ("custom", "base", "champion")
    )
    bedrock.add_response(
        "list_evaluation_jobs",
        {
            "jobSummaries": [
                {
                    "jobArn": judge_arn,
                    "jobName": custom,
                    "status": "InProgress",
                    "creationTime": plans_time(),
                    "jobType": "Automated",
                    "evaluationTaskTypes": ["General"],
                    "modelIdentifiers": [],
                }
            ]
        },
        {"nameContains": custom, "statusEquals": "InProgress"},
    )
    bedrock.add_response("stop_evaluation_job", {}, {"jobIdentifier": judge_arn})
    bedrock.add_response("list_evaluation_jobs", {}, {"nameContains": base, "statusEquals": "InProgress"})
    # In a serving slot with a champion the judge has a third job; it is stopped as well.
    champion_arn = judge_arn.replace("j0dg3c0st0m1", "j0dg3champ01")
    STORE[0].tag(champion_arn, dict(plans.EXECUTION_TAGS))
    bedrock.add_response(
        "list_evaluation_jobs",
        {
            "jobSummaries": [
                {
                    "jobArn": champion_arn,
                    "jobName": champion,
                    "status": "InProgress",
                    "creationTime": plans_time(),
                    "jobType": "Automated",
                    "evaluationTaskTypes": ["General"],
                    "modelIdentifiers": [],
                }
            ]
        },
        {"nameContains": champion, "statusEquals": "InProgress"},
    )
    bedrock.add_response("stop_evaluation_job", {}, {"jobIdentifier": champion_arn})
    judged = event(vehicle="none", serving="none")
    judged["plan"]["judge"] = {"model": "amazon.nova-pro-v1:0"}

    result = lambda_handler(judged, FakeContext())

    assert result["stoppedEvaluationJobs"] == [judge_arn, champion_arn]


def plans_time() -> Any:
    import datetime as dt

    return dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def _lock_table(monkeypatch: pytest.MonkeyPatch, holder: str) -> None:
    monkeypatch.setenv("SLOT_LOCK_TABLE", "slot-locks")
    dynamodb = runtime.client("dynamodb")
    dynamodb.create_table(
        TableName="slot-locks",
        KeySchema=[{"AttributeName": "slot", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "slot", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(
        TableName="slot-locks",
        Item={"slot": {"S": "support"}, "runId": {"S": holder}, "expiresAt": {"N": "9999999999"}},
    )


def _with_slot(base: dict[str, Any]) -> dict[str, Any]:
    base["plan"]["slot"] = {"name": "support", "exists": True}
    return base


@pytest.mark.parametrize(
    ("holder", "given_back"), [(plans.RUN_ID, "support"), ("another-run-0a0b0c0d0e", None)]
)
def test_a_failed_promotion_gives_its_slot_back_never_another_runs(
    bedrock: PartialStubber, monkeypatch: pytest.MonkeyPatch, holder: str, given_back: str | None
) -> None:
    # Given the slot's lock is held by this run, or by another
    _lock_table(monkeypatch, holder)
    completed_job()
    # When this run's failure path cleans up
    result = lambda_handler(_with_slot(event(vehicle="none", serving="none")), FakeContext())
    # Then only its own lock is given back
    assert result["slotReleased"] == given_back
    item = (
        runtime.client("dynamodb")
        .get_item(TableName="slot-locks", Key={"slot": {"S": "support"}})
        .get("Item")
    )
    assert (item is None) is (given_back is not None)
    assert ("Gave back serving slot support." in result["summary"]) is (given_back is not None)


def test_releasing_the_evaluation_vehicle_keeps_the_slot(
    bedrock: PartialStubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run goes on to promote: the lock it holds stays with it
    _lock_table(monkeypatch, plans.RUN_ID)
    result = lambda_handler(
        _with_slot(event(vehicle="none", serving="none", mode="release-evaluation")), FakeContext()
    )
    assert result["slotReleased"] is None
    assert (
        runtime.client("dynamodb")
        .get_item(TableName="slot-locks", Key={"slot": {"S": "support"}})
        .get("Item")
    )
