"""The slots handler: the lock (moto's DynamoDB, conditional writes as AWS evaluates them), the slot
documents (moto's SSM), and the in-place model change (Stubber: moto has no custom model
deployments or throughput)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.common import runtime
from lambdas.slots.handler import lambda_handler
from pipeline import slots
from pipeline.slot_lock import LOCK_SECONDS
from tests.handlers import plans
from tests.handlers.helpers import FakeContext
from tests.stubs import PartialStubber

pytestmark = pytest.mark.usefixtures("aws", "lock_table")

TABLE = "slot-locks"
SLOT = "support"
PARAMETER = slots.parameter_name("dev", SLOT)
ENDPOINT = plans.DEPLOYMENT_ARN
THROUGHPUT = f"arn:aws:bedrock:{plans.REGION}:{plans.ACCOUNT}:provisioned-model/sl0tthr0ughput"
CHAMPION = f"arn:aws:bedrock:{plans.REGION}:{plans.ACCOUNT}:custom-model/{plans.BASE_MODEL}/champion0001"
CHALLENGER = f"arn:aws:bedrock:{plans.REGION}:{plans.ACCOUNT}:custom-model/{plans.BASE_MODEL}/challenger01"
EXECUTION = f"arn:aws:states:{plans.REGION}:{plans.ACCOUNT}:execution:workflow:{plans.RUN_ID}"
OTHER_RUN = "support-bot-v2-0a0b0c0d0e"


@pytest.fixture
def lock_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOT_LOCK_TABLE", TABLE)
    runtime.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "slot", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "slot", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def bedrock() -> Iterator[PartialStubber]:
    stubber = PartialStubber(
        runtime.client("bedrock"),
        (
            "UpdateCustomModelDeployment",
            "UpdateProvisionedModelThroughput",
            "GetCustomModelDeployment",
            "GetProvisionedModelThroughput",
            "TagResource",
        ),
    )
    with stubber:
        yield stubber


def existing_slot(kind: str = slots.DEPLOYMENT, champion: str = CHAMPION) -> slots.Slot:
    return slots.Slot(
        name=SLOT,
        kind=kind,
        endpoint_arn=ENDPOINT if kind == slots.DEPLOYMENT else THROUGHPUT,
        base_model=plans.BASE_MODEL,
        champion=slots.Champion(
            model_arn=champion, run_id="support-bot-v0-1111111111", promoted_at="2026-11-01T09:00:00Z"
        ),
    )


def store(slot: slots.Slot) -> None:
    runtime.client("ssm").put_parameter(
        Name=PARAMETER, Value=json.dumps(slot.to_dict()), Type="String", Overwrite=True
    )


def stored() -> dict[str, Any]:
    return json.loads(runtime.client("ssm").get_parameter(Name=PARAMETER)["Parameter"]["Value"])


def slot_plan(current: slots.Slot | None, kind: str = slots.DEPLOYMENT) -> dict[str, Any]:
    """``plan.slot`` as the preflight writes it (pipeline.plan) for a slot as it was then."""
    return {
        "name": SLOT,
        "parameter": PARAMETER,
        "kind": current.kind if current else kind,
        "exists": current is not None,
        "endpointArn": current.endpoint_arn if current else None,
        "championModelArn": current.champion.model_arn if current else None,
        "championRunId": current.champion.run_id if current else None,
        "requiresApproval": False,
    }


def event(
    mode: str, current: slots.Slot | None, *, run_id: str = plans.RUN_ID, **extra: Any
) -> dict[str, Any]:
    serving = (
        "on-demand"
        if (current.kind if current else extra.pop("kind", slots.DEPLOYMENT)) == slots.DEPLOYMENT
        else "provisioned"
    )
    plan = plans.plan(serving=serving) | {
        "slot": slot_plan(current, slots.DEPLOYMENT if serving == "on-demand" else slots.THROUGHPUT)
    }
    return {"mode": mode, "runId": run_id, "executionArn": EXECUTION, "plan": plan, **extra}


def lock_item() -> dict[str, Any] | None:
    return runtime.client("dynamodb").get_item(TableName=TABLE, Key={"slot": {"S": SLOT}}).get("Item")


# -- the lock ------------------------------------------------------------------------------------


def test_a_free_slot_is_taken_and_a_second_run_waits_in_line() -> None:
    current = existing_slot()
    store(current)
    first = lambda_handler(event("take", current), FakeContext())
    assert first == {"taken": True, "changed": False, "holder": plans.RUN_ID, "attempt": 1, "reason": "taken"}
    assert lock_item()["executionArn"] == {"S": EXECUTION}  # type: ignore[index]

    second = lambda_handler(event("take", current, run_id=OTHER_RUN, previous={"attempt": 3}), FakeContext())
    assert second["taken"] is False and second["changed"] is False
    assert second["holder"] == plans.RUN_ID and second["attempt"] == 4
    assert f"run {plans.RUN_ID} is promoting into slot {SLOT}" == second["reason"]
    # The holder's lock is untouched by the refused take
    assert lock_item()["runId"] == {"S": plans.RUN_ID}  # type: ignore[index]


def test_a_retried_take_by_the_holder_succeeds() -> None:
    store(existing_slot())
    lambda_handler(event("take", existing_slot()), FakeContext())
    assert lambda_handler(event("take", existing_slot()), FakeContext())["taken"] is True


def test_an_expired_lock_is_taken_over() -> None:
    store(existing_slot())
    expired = int(time.time()) - 1
    runtime.client("dynamodb").put_item(
        TableName=TABLE,
        Item={
            "slot": {"S": SLOT},
            "runId": {"S": OTHER_RUN},
            "executionArn": {"S": "x"},
            "expiresAt": {"N": str(expired)},
        },
    )
    assert lambda_handler(event("take", existing_slot()), FakeContext())["taken"] is True
    item = lock_item()
    assert item is not None and item["runId"] == {"S": plans.RUN_ID}
    assert int(item["expiresAt"]["N"]) >= int(time.time()) + LOCK_SECONDS - 60


def test_a_slot_promoted_into_since_the_comparison_is_not_taken_and_the_lock_is_given_back() -> None:
    # Given the run was compared with one champion, and another run promoted since
    compared_with = existing_slot(champion=CHAMPION)
    store(slots.promoted(compared_with, slots.Champion(CHALLENGER, OTHER_RUN, "2026-12-07T08:00:00Z")))
    # When the run takes the slot
    result = lambda_handler(event("take", compared_with), FakeContext())
    # Then it stops with the reason, and leaves the slot free for others
    assert result["taken"] is False and result["changed"] is True
    assert CHAMPION in result["reason"] and CHALLENGER in result["reason"]
    assert lock_item() is None


def test_a_slot_created_since_the_comparison_is_a_change_too() -> None:
    store(existing_slot())
    result = lambda_handler(event("take", None), FakeContext())
    assert result["changed"] is True and "champion then: none" in result["reason"]


def test_only_the_holder_gives_the_lock_back() -> None:
    store(existing_slot())
    lambda_handler(event("take", existing_slot()), FakeContext())
    assert lambda_handler(event("release", existing_slot(), run_id=OTHER_RUN), FakeContext()) == {
        "released": False
    }
    assert lock_item() is not None
    assert lambda_handler(event("release", existing_slot()), FakeContext()) == {"released": True}
    assert lock_item() is None


# -- the change in place -------------------------------------------------------------------------


def test_a_promotion_changes_the_deployments_model_in_place(bedrock: PartialStubber) -> None:
    current = existing_slot()
    bedrock.add_response(
        "update_custom_model_deployment",
        {"customModelDeploymentArn": ENDPOINT},
        {"customModelDeploymentIdentifier": ENDPOINT, "modelArn": CHALLENGER},
    )
    result = lambda_handler(event("promote", current, modelArn=CHALLENGER), FakeContext())
    assert result == {"kind": slots.DEPLOYMENT, "endpointArn": ENDPOINT, "targetModelArn": CHALLENGER}
    bedrock.assert_no_pending_responses()


def test_a_promotion_changes_the_throughputs_model_in_place(bedrock: PartialStubber) -> None:
    current = existing_slot(slots.THROUGHPUT)
    bedrock.add_response(
        "update_provisioned_model_throughput",
        {},
        {"provisionedModelId": THROUGHPUT, "desiredModelId": CHALLENGER},
    )
    result = lambda_handler(event("promote", current, modelArn=CHALLENGER), FakeContext())
    assert result["endpointArn"] == THROUGHPUT and result["targetModelArn"] == CHALLENGER
    bedrock.assert_no_pending_responses()


def test_a_rollback_goes_back_to_the_champion_the_run_replaced(bedrock: PartialStubber) -> None:
    bedrock.add_response(
        "update_custom_model_deployment",
        {"customModelDeploymentArn": ENDPOINT},
        {"customModelDeploymentIdentifier": ENDPOINT, "modelArn": CHAMPION},
    )
    assert lambda_handler(event("rollback", existing_slot()), FakeContext())["targetModelArn"] == CHAMPION
    bedrock.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("update", "ready", "failed", "message"),
    [
        ("Updating", False, False, None),
        ("UpdateCompleted", True, False, None),
        ("UpdateFailed", False, True, "model incompatible"),
    ],
)
def test_a_check_reads_the_change_of_the_slots_endpoint(
    bedrock: PartialStubber, update: str, ready: bool, failed: bool, message: str | None
) -> None:
    bedrock.add_response(
        "get_custom_model_deployment",
        {
            "customModelDeploymentArn": ENDPOINT,
            "modelDeploymentName": "slot",
            "modelArn": CHAMPION,
            "createdAt": "2026-11-01T09:00:00Z",
            "status": "Active",
            "failureMessage": "model incompatible",
            "updateDetails": {"modelArn": CHALLENGER, "updateStatus": update},
        },
        {"customModelDeploymentIdentifier": ENDPOINT},
    )
    result = lambda_handler(
        event("check", existing_slot(), targetModelArn=CHALLENGER, schedule=[60, 60, 60]), FakeContext()
    )
    assert (result["ready"], result["failed"], result["failureMessage"]) == (ready, failed, message)
    assert result["attempt"] == 1


# -- the record ----------------------------------------------------------------------------------


def test_a_first_promotion_creates_the_slot_on_the_runs_endpoint_and_tags_it(bedrock: PartialStubber) -> None:
    lambda_handler(event("take", None), FakeContext())
    bedrock.add_response(
        "tag_resource", {}, {"resourceARN": ENDPOINT, "tags": [{"key": slots.SLOT_TAG, "value": SLOT}]}
    )
    result = lambda_handler(
        event("record", None, modelArn=CHALLENGER, endpointArn=ENDPOINT, summary="beats base by 0.12"),
        FakeContext(),
    )
    document = stored()
    assert result == {"slot": document, "parameter": PARAMETER}
    assert document["endpointArn"] == ENDPOINT and document["kind"] == slots.DEPLOYMENT
    assert document["champion"]["modelArn"] == CHALLENGER and document["champion"]["runId"] == plans.RUN_ID
    assert document["champion"]["verdict"] == "beats base by 0.12" and document["history"] == []
    assert lock_item() is None  # given back
    bedrock.assert_no_pending_responses()


def test_a_promotion_into_an_existing_slot_keeps_its_endpoint_and_remembers_the_champion(
    bedrock: PartialStubber,
) -> None:
    current = existing_slot()
    store(current)
    lambda_handler(event("take", current), FakeContext())
    lambda_handler(event("record", current, modelArn=CHALLENGER, summary="beats champion"), FakeContext())
    document = stored()
    assert document["endpointArn"] == ENDPOINT  # the ARN applications call never changes
    assert document["champion"]["modelArn"] == CHALLENGER
    assert [c["modelArn"] for c in document["history"]] == [CHAMPION]
    assert lock_item() is None
    bedrock.assert_no_pending_responses()  # nothing tagged: the endpoint is the slot's already


def test_a_slot_is_not_promoted_into_by_a_run_without_a_slot_in_its_plan() -> None:
    bad = event("take", None)
    bad["plan"].pop("slot")
    with pytest.raises(ValueError, match="names no serving slot"):
        lambda_handler(bad, FakeContext())


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        lambda_handler(event("swap", existing_slot()), FakeContext())
