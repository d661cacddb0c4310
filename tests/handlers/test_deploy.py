"""The deploy handler: the run's on-demand deployment, created with the plan's request (Stubber:
moto has no custom model deployments)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.common import runtime
from lambdas.deploy.handler import lambda_handler
from pipeline.deployment import create_request
from tests.handlers import plans
from tests.handlers.helpers import FakeContext
from tests.stubs import PartialStubber

pytestmark = pytest.mark.usefixtures("aws")

MODEL = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abcdef123456"
DEPLOYMENT = plans.DEPLOYMENT_ARN


@pytest.fixture
def bedrock() -> Iterator[PartialStubber]:
    stubber = PartialStubber(runtime.client("bedrock"), ("CreateCustomModelDeployment",))
    with stubber:
        yield stubber


def event(**changes: Any) -> dict[str, Any]:
    return {"runId": plans.RUN_ID, "plan": plans.plan(), "modelArn": MODEL, "mode": "create", **changes}


def test_the_request_is_the_plans_name_token_description_and_tags() -> None:
    vehicle = plans.plan()["vehicle"]
    request = create_request(vehicle, MODEL)
    assert request["modelDeploymentName"] == vehicle["ModelDeploymentName"]
    assert request["clientRequestToken"] == vehicle["ClientRequestToken"]
    assert request["description"] == vehicle["Description"]
    assert request["modelArn"] == MODEL
    # The API's tag members are lowercase [BC]; the plan's are as Step Functions passes them
    assert request["tags"] == [{"key": t["Key"], "value": t["Value"]} for t in vehicle["Tags"]]
    assert {"key": "bedrock-customization:run-id", "value": plans.RUN_ID} in request["tags"]


def test_the_deployment_is_created_once_with_the_plans_request(bedrock: PartialStubber) -> None:
    # Given Bedrock answers the plan's exact request
    bedrock.add_response(
        "create_custom_model_deployment",
        {"customModelDeploymentArn": DEPLOYMENT},
        create_request(plans.plan()["vehicle"], MODEL),
    )
    # When / Then: the vehicle the workflow keeps, with the gates' error names
    assert lambda_handler(event(), FakeContext()) == {
        "Kind": "deployment",
        "Arn": DEPLOYMENT,
        "FailedError": "DeploymentFailed",
        "TimeoutError": "DeploymentTimeout",
    }
    bedrock.assert_no_pending_responses()


@pytest.mark.parametrize(
    "code", ["ValidationException", "AccessDeniedException", "ServiceQuotaExceededException"]
)
def test_a_refusal_escapes_for_the_failure_path(bedrock: PartialStubber, code: str) -> None:
    bedrock.add_client_error("create_custom_model_deployment", code, "refused", 400)
    with pytest.raises(Exception, match=code):
        lambda_handler(event(), FakeContext())


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        lambda_handler(event(mode="update"), FakeContext())
