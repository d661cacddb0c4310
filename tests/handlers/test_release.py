"""release: one attempt of the retrying release, as its state machine calls it until it says done.

Throughput, deployments and evaluation jobs (which moto lacks) are answered by a PartialStubber in
the order the handler asks; their tags by the per-ARN tag store (tests/stubs.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.common import runtime
from lambdas.release.handler import lambda_handler
from pipeline import durable_release, naming, release
from pipeline.ownership import Execution
from tests.handlers import plans
from tests.handlers.helpers import FakeContext, notices, throughput_description, throughput_summary
from tests.stubs import PartialStubber, TagStore

pytestmark = pytest.mark.usefixtures("aws", "tags")

RUN_ID = plans.RUN_ID
STUBBED = (
    "GetProvisionedModelThroughput",
    "ListProvisionedModelThroughputs",
    "DeleteProvisionedModelThroughput",
    "ListCustomModelDeployments",
    "DeleteCustomModelDeployment",
    "ListEvaluationJobs",
)
OWNER = Execution(plans.EXECUTION_ARN, plans.EXECUTION_START)
TARGET = {"kind": "throughput", "arn": plans.PT_ARN}


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[PartialStubber]:
    monkeypatch.setattr(release, "SLEEP", lambda _seconds: None)
    monkeypatch.setenv("DEPLOYMENT_ENVIRONMENT", "prod")
    stubber = PartialStubber(runtime.client("bedrock"), STUBBED)
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def handed(scope: str = "run", *, catch_up: bool = False) -> dict[str, Any]:
    return durable_release.request(
        RUN_ID, OWNER, scope, targets=[TARGET], handed_over_at="2026-11-27T09:00:00Z", catch_up=catch_up
    )


def throughput_refused(stubber: PartialStubber) -> None:
    stubber.add_response(
        "get_provisioned_model_throughput",
        throughput_description(status="Creating"),
        {"provisionedModelId": plans.PT_ARN},
    )
    for _ in range(len(release.CONFLICT_RETRY_WAITS) + 1):
        stubber.add_client_error("delete_provisioned_model_throughput", "ConflictException", "Creating", 409)


def throughput_deleted(stubber: PartialStubber) -> None:
    stubber.add_response(
        "get_provisioned_model_throughput", throughput_description(), {"provisionedModelId": plans.PT_ARN}
    )
    stubber.add_response("delete_provisioned_model_throughput", {}, {"provisionedModelId": plans.PT_ARN})


def the_run_by_name(stubber: PartialStubber, *, serving_found: bool) -> None:
    """What release_run looks up by the run's names after the handed-over ARNs."""
    stubber.add_response(
        "list_custom_model_deployments",
        {"modelDeploymentSummaries": []},
        {"nameContains": naming.deployment_name(RUN_ID)},
    )
    for name, found in (
        (naming.evaluation_throughput_name(RUN_ID), False),
        (naming.provisioned_model_name(RUN_ID), serving_found),
    ):
        summaries = [throughput_summary(name, plans.PT_ARN)] if found else []
        stubber.add_response(
            "list_provisioned_model_throughputs",
            {"provisionedModelSummaries": summaries},
            {"nameContains": name},
        )
    for which in ("custom", "base", "champion"):
        stubber.add_response(
            "list_evaluation_jobs",
            {},
            {"nameContains": naming.judge_job_name(RUN_ID, which), "statusEquals": "InProgress"},
        )


def test_a_throughput_still_creating_is_tried_again_later(bedrock: PartialStubber) -> None:
    throughput_refused(bedrock)
    the_run_by_name(bedrock, serving_found=True)

    result = lambda_handler({"request": handed(), "previous": None}, FakeContext())

    assert (result["done"], result["expired"]) == (False, False)
    assert (result["attempt"], result["waitSeconds"]) == (1, durable_release.FIRST_WAIT_S)
    assert [p["arn"] for p in result["pending"]] == [plans.PT_ARN]
    assert notices() == []  # nothing released, nothing given up: nothing to say yet


def test_once_bedrock_lets_go_it_is_deleted_and_the_release_is_done(bedrock: PartialStubber) -> None:
    throughput_deleted(bedrock)
    the_run_by_name(bedrock, serving_found=False)
    previous = {"attempt": 3, "elapsedSeconds": 180, "waitSeconds": 240}

    result = lambda_handler({"request": handed(), "previous": previous}, FakeContext())

    assert result["done"] is True and result["deleted"] == [plans.PT_ARN]
    assert (result["attempt"], result["elapsedSeconds"]) == (4, 420)
    (notice,) = notices()
    assert notice["subject"] == f"Bedrock run {RUN_ID}: released what was left"
    assert f"deleted provisioned throughput {plans.PT_ARN}" in notice["message"]


def test_at_the_deadline_it_gives_up_loudly_with_the_command_for_each_resource(
    bedrock: PartialStubber,
) -> None:
    throughput_refused(bedrock)
    the_run_by_name(bedrock, serving_found=True)
    last = durable_release.DEADLINE.total_seconds() - durable_release.MAX_WAIT_S
    previous = {"attempt": 150, "elapsedSeconds": last, "waitSeconds": durable_release.MAX_WAIT_S}

    result = lambda_handler({"request": handed(), "previous": previous}, FakeContext())

    assert result["expired"] is True and result["done"] is False
    (notice,) = notices()
    assert notice["subject"] == f"Bedrock run {RUN_ID}: STILL BILLING after 24 h of retries"
    assert (
        f"bedrock-customize throughput delete {plans.PT_ARN} --env prod --region us-east-1"
        in notice["message"]
    )
    assert "sweep" not in notice["message"]


def test_a_vehicle_release_touches_only_its_targets_and_never_a_slots_endpoint(
    bedrock: PartialStubber, tags: TagStore
) -> None:
    # Given the throughput became serving slot "support"'s endpoint while the release waited
    tags.tag(plans.PT_ARN, {"bedrock-customization:slot": "support"})
    # (no response queued: a get, a delete or a lookup by name would fail the test)
    result = lambda_handler({"request": handed("vehicle"), "previous": None}, FakeContext())
    assert result["deleted"] == [] and result["pending"] == []
    assert result["slotEndpoints"] == [{"kind": "throughput", "arn": plans.PT_ARN, "slot": "support"}]
    assert result["done"] is True


def test_what_another_execution_created_is_never_released(bedrock: PartialStubber, tags: TagStore) -> None:
    tags.tag(plans.PT_ARN, dict(plans.EARLIER_TAGS))
    result = lambda_handler({"request": handed("vehicle"), "previous": None}, FakeContext())
    assert result["deleted"] == [] and [n["arn"] for n in result["notOwned"]] == [plans.PT_ARN]
