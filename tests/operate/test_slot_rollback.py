"""`rollback NAME [--to RUN]`: a slot back to an earlier champion in place, with the lock, the wait,
the smoke check through the slot's ARN, and a change back when any of it fails. Bedrock through
botocore's Stubber (moto has no custom model deployments), SSM and DynamoDB through moto."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pipeline import slot_lock, slots
from pipeline.operate import slot_rollback
from tests.operate.helpers import ENV, REGION, clients_with, run_cli
from tests.operate.test_slots_cli import ENDPOINT, LOCKS, MODEL, champion, deployed, put_slot

pytestmark = pytest.mark.usefixtures("moto")

CREATED = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
NAME = "support-answers"


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slot_rollback, "SLEEP", lambda seconds: None)


def slot_with_history() -> slots.Slot:
    first = slots.first_promotion(
        NAME, slots.DEPLOYMENT, ENDPOINT, "amazon.nova-micro-v1:0:128k", champion("run-a", "aaaaaaaaaaa1", 1)
    )
    slot = slots.promoted(
        slots.promoted(first, champion("run-b", "bbbbbbbbbbb2", 2)), champion("run-c", "ccccccccccc3", 3)
    )
    put_slot(slot)
    return slot


def described(
    model: str, update: tuple[str, str] | None = None, failure: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "customModelDeploymentArn": ENDPOINT,
        "modelDeploymentName": "support-answers-od",
        "modelArn": model,
        "createdAt": CREATED,
        "status": "Active",
    }
    if update is not None:
        out["updateDetails"] = {"modelArn": update[0], "updateStatus": update[1]}
    if failure is not None:
        out["failureMessage"] = failure
    return out


def expect_change(stub: Stubber, old: str, new: str, *, ends: str = "UpdateCompleted") -> None:
    stub.add_response(
        "update_custom_model_deployment",
        {"customModelDeploymentArn": ENDPOINT},
        {"customModelDeploymentIdentifier": ENDPOINT, "modelArn": new},
    )
    stub.add_response("get_custom_model_deployment", described(old, (new, "Updating")))
    if ends == "UpdateCompleted":
        stub.add_response("get_custom_model_deployment", described(new, (new, ends)))
    else:
        stub.add_response("get_custom_model_deployment", described(old, (new, ends), "capacity is gone"))


def answer(stub: Stubber) -> None:
    stub.add_response(
        "converse",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "OK"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 5, "outputTokens": 1, "totalTokens": 6},
            "metrics": {"latencyMs": 120},
        },
    )


def stubs() -> tuple[Any, Stubber, Any, Stubber]:
    bedrock = boto3.client("bedrock", region_name=REGION)
    runtime = boto3.client("bedrock-runtime", region_name=REGION)
    return bedrock, Stubber(bedrock), runtime, Stubber(runtime)


def document() -> slots.Slot:
    value = boto3.client("ssm", region_name=REGION).get_parameter(Name=slots.parameter_name(ENV, NAME))
    return slots.Slot.from_dict(__import__("json").loads(value["Parameter"]["Value"]))


def lock_holder() -> slot_lock.Holder | None:
    return slot_lock.SlotLock(
        boto3.client("dynamodb", region_name=REGION), LOCKS, error_code=lambda e: ""
    ).holder(NAME)


def test_rollback_to_the_last_champion(capsys: pytest.CaptureFixture[str]) -> None:
    deployed()
    before = slot_with_history()
    bedrock, stub, runtime, runtime_stub = stubs()
    expect_change(stub, MODEL + "ccccccccccc3", MODEL + "bbbbbbbbbbb2")
    answer(runtime_stub)

    with stub, runtime_stub, clients_with(bedrock=bedrock, **{"bedrock-runtime": runtime}):
        result = run_cli(capsys, "rollback", NAME, "--yes", "--env", ENV, "--region", REGION)
        stub.assert_no_pending_responses()
        runtime_stub.assert_no_pending_responses()

    assert result.code == 0, result.err
    assert "serves run run-b's model again (Smoke check passed" in result.out
    assert f"bedrock-customize slots show {NAME} --env {ENV} --region {REGION}" in result.out
    after = document()
    assert after.endpoint_arn == before.endpoint_arn
    assert after.champion == before.history[0]
    # The champion it replaced goes first: a rollback can itself be rolled back.
    assert [c.run_id for c in after.history] == ["run-c", "run-a"]
    assert lock_holder() is None


def test_rollback_to_a_chosen_run_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    deployed()
    slot_with_history()
    bedrock, stub, runtime, runtime_stub = stubs()
    expect_change(stub, MODEL + "ccccccccccc3", MODEL + "aaaaaaaaaaa1")
    answer(runtime_stub)

    with stub, runtime_stub, clients_with(bedrock=bedrock, **{"bedrock-runtime": runtime}):
        result = run_cli(capsys, "rollback", NAME, "--to", "run-a", "--yes", "--json")

    assert result.code == 0, result.err
    doc = result.json()
    assert doc["slot"]["champion"]["runId"] == "run-a" and doc["replaced"]["runId"] == "run-c"
    assert [c["runId"] for c in doc["slot"]["history"]] == ["run-c", "run-b"]


def test_a_failed_change_is_changed_back_and_nothing_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    deployed()
    before = slot_with_history()
    bedrock, stub, runtime, runtime_stub = stubs()
    expect_change(stub, MODEL + "ccccccccccc3", MODEL + "bbbbbbbbbbb2", ends="UpdateFailed")
    expect_change(stub, MODEL + "ccccccccccc3", MODEL + "ccccccccccc3")

    with stub, runtime_stub, clients_with(bedrock=bedrock, **{"bedrock-runtime": runtime}):
        result = run_cli(capsys, "rollback", NAME, "--yes")
        stub.assert_no_pending_responses()

    assert result.code == 1
    assert "failed: capacity is gone; it serves run-c's model again" in result.err
    assert document() == before
    assert lock_holder() is None


def test_a_slot_that_does_not_answer_is_changed_back(capsys: pytest.CaptureFixture[str]) -> None:
    deployed()
    before = slot_with_history()
    bedrock, stub, runtime, runtime_stub = stubs()
    expect_change(stub, MODEL + "ccccccccccc3", MODEL + "bbbbbbbbbbb2")
    expect_change(stub, MODEL + "bbbbbbbbbbb2", MODEL + "ccccccccccc3")
    runtime_stub.add_client_error("converse", "ValidationException", "the model cannot serve")

    with stub, runtime_stub, clients_with(bedrock=bedrock, **{"bedrock-runtime": runtime}):
        result = run_cli(capsys, "rollback", NAME, "--yes")
        stub.assert_no_pending_responses()

    assert result.code == 1
    assert "Smoke check failed" in result.err and "serves run-c's model again" in result.err
    assert document() == before


def test_refused_while_a_promotion_holds_the_slot_or_for_an_unknown_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    deployed()
    before = slot_with_history()
    slot_lock.SlotLock(boto3.client("dynamodb", region_name=REGION), LOCKS, error_code=lambda e: "").take(
        NAME, "run-d", "arn:aws:states:us-east-1:123456789012:execution:x:run-d"
    )
    bedrock, stub, runtime, runtime_stub = stubs()

    with stub, runtime_stub, clients_with(bedrock=bedrock, **{"bedrock-runtime": runtime}):
        held = run_cli(capsys, "rollback", NAME, "--yes")
        unknown = run_cli(capsys, "rollback", NAME, "--to", "run-z", "--yes")
        stub.assert_no_pending_responses()

    assert held.code == 2 and "held by run run-d" in held.err
    assert unknown.code == 2 and "run run-z is not among the earlier champions" in unknown.err
    assert document() == before
    assert lock_holder() is not None and lock_holder().run_id == "run-d"  # type: ignore[union-attr]


def test_a_change_not_done_in_time_is_changed_back(capsys: pytest.CaptureFixture[str]) -> None:
    deployed()
    before = slot_with_history()
    bedrock, stub, runtime, runtime_stub = stubs()
    stub.add_response("update_custom_model_deployment", {"customModelDeploymentArn": ENDPOINT})
    updating = described(MODEL + "ccccccccccc3", (MODEL + "bbbbbbbbbbb2", "Updating"))
    for _ in range(3):  # at 0, 30 and 60 s: still Updating, and --timeout 1m is over
        stub.add_response("get_custom_model_deployment", updating)
    expect_change(stub, MODEL + "bbbbbbbbbbb2", MODEL + "ccccccccccc3")

    with stub, runtime_stub, clients_with(bedrock=bedrock, **{"bedrock-runtime": runtime}):
        result = run_cli(capsys, "rollback", NAME, "--timeout", "1m", "--yes")
        stub.assert_no_pending_responses()

    assert result.code == 1
    assert "was not done after 60 s" in result.err and "serves run-c's model again" in result.err
    assert document() == before
