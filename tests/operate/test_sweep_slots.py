"""`sweep` never deletes what a serving slot serves with or keeps for rollback: its endpoint, its
champion and the earlier champions in its history (their storage cost shown with the reason)."""

from __future__ import annotations

import json

import boto3
import pytest

from pipeline import slots
from tests.operate.helpers import ENV, REGION, bedrock_client, clients_with, run_cli
from tests.operate.test_throughput_and_sweep import (
    DEPLOY_OLD,
    MODEL_COMMIT,
    MODEL_OLD,
    OLD_RUN,
    PT_OLD,
    _sweep_stub,
    _two_runs,
)

pytestmark = pytest.mark.usefixtures("moto")


def slot_on_old_throughput() -> None:
    """Run OLD_RUN's throughput became slot faq's endpoint; MODEL_OLD serves, MODEL_COMMIT served before."""
    earlier = slots.Champion(MODEL_COMMIT, "faq-express-0000000000", "2026-10-01T09:00:00Z", "passed")
    slot = slots.promoted(
        slots.first_promotion("faq", slots.THROUGHPUT, PT_OLD, "amazon.titan-text-express-v1:0:8k", earlier),
        slots.Champion(MODEL_OLD, OLD_RUN, "2026-11-01T09:00:00Z", "passed"),
    )
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=slots.parameter_name(ENV, "faq"), Type="String", Value=json.dumps(slot.to_dict())
    )


def test_sweep_keeps_a_slots_endpoint_champion_and_history(capsys: pytest.CaptureFixture[str]) -> None:
    _two_runs()
    slot_on_old_throughput()
    bedrock = bedrock_client()
    stub = _sweep_stub(bedrock, deletes=False)

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "sweep", "--dry-run", "--json")

    assert result.code == 0, result.err
    candidates = {c["arn"]: c for c in result.json()["candidates"]}
    assert (candidates[PT_OLD]["action"], candidates[PT_OLD]["reason"]) == (
        "keep",
        "endpoint of serving slot faq",
    )
    assert candidates[MODEL_OLD]["reason"] == "champion of serving slot faq"
    assert candidates[MODEL_COMMIT]["reason"] == "kept for rollback by serving slot faq"
    # Their storage cost is still shown: keeping a slot's models is not free.
    assert candidates[MODEL_OLD]["perDayUsd"] == pytest.approx(1.95 * 24 / 730, abs=1e-4)
    assert candidates[DEPLOY_OLD]["action"] == "delete"


def test_sweep_deletes_only_what_no_slot_needs(capsys: pytest.CaptureFixture[str]) -> None:
    _two_runs()
    slot_on_old_throughput()
    bedrock = bedrock_client()
    stub = _sweep_stub(bedrock, deletes=False)
    # The one deletion expected: any other (the slot's throughput or models) fails the stub.
    stub.add_response("delete_custom_model_deployment", {}, {"customModelDeploymentIdentifier": DEPLOY_OLD})

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "sweep", "--yes")
        stub.assert_no_pending_responses()

    assert result.code == 0, result.err
    assert "endpoint of serving slot faq" in result.out


def test_an_unreadable_slot_document_stops_the_sweep(capsys: pytest.CaptureFixture[str]) -> None:
    _two_runs()
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=slots.parameter_name(ENV, "broken"), Type="String", Value="{not json"
    )
    bedrock = bedrock_client()
    stub = _sweep_stub(bedrock, deletes=False)

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "sweep", "--yes")

    assert result.code == 2
    assert "cannot read serving slot document /bedrock-customization/dev/slots/broken" in result.err
