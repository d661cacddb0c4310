"""check_status: one poll of a deployment or a throughput (Stubber: moto has neither)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from lambdas.check_status import handler
from lambdas.check_status.handler import RuntimeTooOldError, lambda_handler
from lambdas.common import runtime
from tests.handlers import plans
from tests.handlers.helpers import FakeContext, deployment_description, throughput_description
from tests.stubs import PartialStubber

pytestmark = pytest.mark.usefixtures("aws")

SCHEDULE = list(plans.DEPLOYMENT_SCHEDULE)  # 5 checks at most


@pytest.fixture
def bedrock() -> Iterator[PartialStubber]:
    stubber = PartialStubber(
        runtime.client("bedrock"), ("GetCustomModelDeployment", "GetProvisionedModelThroughput")
    )
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def expect_deployment(stubber: PartialStubber, **described: Any) -> None:
    stubber.add_response(
        "get_custom_model_deployment",
        deployment_description(**described),
        {"customModelDeploymentIdentifier": plans.DEPLOYMENT_ARN},
    )


def expect_throughput(stubber: PartialStubber, **described: Any) -> None:
    stubber.add_response(
        "get_provisioned_model_throughput",
        throughput_description(**described),
        {"provisionedModelId": plans.PT_ARN},
    )


def event(kind: str, previous: dict[str, Any] | None = None) -> dict[str, Any]:
    arn = plans.DEPLOYMENT_ARN if kind == "deployment" else plans.PT_ARN
    return {"kind": kind, "arn": arn, "previous": previous, "schedule": SCHEDULE}


def test_an_active_deployment_is_ready_on_the_first_check(bedrock: PartialStubber) -> None:
    expect_deployment(bedrock, status="Active")
    assert lambda_handler(event("deployment"), FakeContext()) == {
        "status": "Active",
        "ready": True,
        "failed": False,
        "timedOut": False,
        "attempt": 1,
        "waitSeconds": SCHEDULE[1],
        "failureMessage": None,
    }


def test_a_deployment_still_creating_waits_the_next_interval(bedrock: PartialStubber) -> None:
    expect_deployment(bedrock, status="Creating")
    result = lambda_handler(event("deployment", plans.status_check("Creating", attempt=2)), FakeContext())
    assert (result["ready"], result["failed"], result["timedOut"]) == (False, False, False)
    assert result["attempt"] == 3
    assert result["waitSeconds"] == SCHEDULE[3]


def test_a_failed_deployment_carries_bedrocks_message(bedrock: PartialStubber) -> None:
    expect_deployment(bedrock, status="Failed", failure_message="Model is not supported for on-demand")
    result = lambda_handler(event("deployment", plans.status_check("Creating", attempt=1)), FakeContext())
    assert result["failed"] is True
    assert result["failureMessage"] == "Model is not supported for on-demand"


def test_a_deployment_creating_at_the_last_check_has_timed_out(bedrock: PartialStubber) -> None:
    expect_deployment(bedrock, status="Creating")
    last = len(SCHEDULE) - 1
    result = lambda_handler(
        event("deployment", plans.status_check("Creating", attempt=last - 1)), FakeContext()
    )
    assert result["timedOut"] is True
    assert result["attempt"] == last
    assert result["failureMessage"] is None


def test_a_throughput_in_service_is_ready(bedrock: PartialStubber) -> None:
    expect_throughput(bedrock, status="InService")
    result = lambda_handler(event("throughput", plans.status_check("Creating", attempt=4)), FakeContext())
    assert (result["status"], result["ready"], result["attempt"]) == ("InService", True, 5)


def test_a_failed_throughput_carries_bedrocks_message(bedrock: PartialStubber) -> None:
    expect_throughput(bedrock, status="Failed", failure_message="Insufficient capacity")
    result = lambda_handler(event("throughput"), FakeContext())
    assert result["failed"] is True and result["ready"] is False
    assert result["failureMessage"] == "Insufficient capacity"


def test_a_message_on_a_resource_that_has_not_failed_is_not_reported(bedrock: PartialStubber) -> None:
    expect_throughput(bedrock, status="Creating", failure_message="an earlier update failed")
    assert lambda_handler(event("throughput"), FakeContext())["failureMessage"] is None


def test_an_unknown_kind_is_a_programming_error(bedrock: PartialStubber) -> None:
    with pytest.raises(ValueError, match="unknown kind 'endpoint'; expected deployment or throughput"):
        lambda_handler(event("deployment") | {"kind": "endpoint"}, FakeContext())


def test_a_runtime_whose_boto3_predates_deployments_fails_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a bedrock client from before botocore 1.39.7: throughput calls, no deployment calls
    old = SimpleNamespace(get_provisioned_model_throughput=lambda **_: {"status": "InService"})
    monkeypatch.setattr(handler, "runtime", SimpleNamespace(client=lambda _service: old))
    # Then a deployment check says why it cannot work, instead of an AttributeError
    with pytest.raises(
        RuntimeTooOldError, match=r"no get_custom_model_deployment \(needs botocore >= 1\.39\.7\)"
    ):
        lambda_handler(event("deployment"), FakeContext())
    # And a throughput check still works on it
    assert lambda_handler(event("throughput"), FakeContext())["ready"] is True
