"""Serving slots: the document, promotions in place, the bounded history, rollback (pipeline.slots)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline import slots
from pipeline.slots import Champion, Slot, SlotError

DEPLOYMENT = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/slot0deploy1"
BASE = "amazon.nova-micro-v1:0:128k"


def champion(n: int) -> Champion:
    return Champion(
        model_arn=f"arn:aws:bedrock:us-east-1:123456789012:custom-model/{BASE}/model{n:06d}",
        run_id=f"support-bot-{n:010d}",
        promoted_at=f"2026-12-0{n % 9 + 1}T10:00:00Z",
        verdict=f"run {n} met its bars",
    )


def first() -> Slot:
    return slots.first_promotion("support", "deployment", DEPLOYMENT, BASE, champion(1))


def test_the_document_round_trips_through_json() -> None:
    slot = slots.promoted(first(), champion(2))
    again = Slot.from_dict(json.loads(json.dumps(slot.to_dict())))
    assert again == slot
    assert slot.to_dict()["version"] == slots.DOCUMENT_VERSION


def test_a_promotion_keeps_the_endpoint_and_remembers_the_champion_it_replaces() -> None:
    slot = slots.promoted(first(), champion(2))
    assert slot.endpoint_arn == DEPLOYMENT and slot.kind == "deployment"
    assert slot.champion == champion(2)
    assert slot.history == (champion(1),)
    assert slot.kept_models == (champion(2).model_arn, champion(1).model_arn)


def test_the_history_is_bounded() -> None:
    slot = first()
    for n in range(2, 2 + slots.HISTORY_LIMIT + 3):
        slot = slots.promoted(slot, champion(n))
    assert len(slot.history) == slots.HISTORY_LIMIT
    last = 1 + slots.HISTORY_LIMIT + 3
    assert slot.champion == champion(last)
    assert slot.history[0] == champion(last - 1)  # the one it just replaced


def test_promoting_the_model_that_already_serves_is_refused() -> None:
    with pytest.raises(SlotError, match="already serves"):
        slots.promoted(first(), champion(1))


def test_rollback_goes_to_the_last_champion_or_the_one_asked_for() -> None:
    slot = slots.promoted(slots.promoted(first(), champion(2)), champion(3))
    assert slots.rollback_target(slot) == champion(2)
    assert slots.rollback_target(slot, champion(1).run_id) == champion(1)
    back = slots.rolled_back(slot, champion(1))
    assert back.champion == champion(1)
    assert back.history == (champion(3), champion(2))
    assert back.endpoint_arn == slot.endpoint_arn
    with pytest.raises(SlotError, match="not among the earlier champions"):
        slots.rollback_target(slot, "no-such-run-0000000000")
    with pytest.raises(SlotError, match="no earlier champion"):
        slots.rollback_target(first())


@pytest.mark.parametrize(
    ("kind", "base", "problem"),
    [
        ("deployment", BASE, None),
        ("throughput", BASE, "keeps its kind"),
        ("deployment", "amazon.nova-lite-v1:0:300k", "same base"),
    ],
)
def test_a_run_fits_a_slot_of_its_kind_and_base_only(kind: str, base: str, problem: str | None) -> None:
    found = slots.compatible_problem(first(), kind=kind, base_model=base)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize("name", ["support", "search-v2", "ab"])
def test_slot_names_that_are_allowed(name: str) -> None:
    assert slots.slot_name_problem(name) is None


@pytest.mark.parametrize("name", ["Support", "a", "-x", "x-", "x--y", "9lives", "a" * 41, 7])
def test_slot_names_that_are_refused(name: object) -> None:
    assert slots.slot_name_problem(name) is not None


def test_a_broken_document_is_a_clear_error() -> None:
    with pytest.raises(SlotError, match="kind"):
        Slot.from_dict({"kind": "cluster"})
    with pytest.raises(SlotError, match="lacks"):
        Slot.from_dict({"kind": "deployment", "name": "x"})


def test_kept_models_name_their_slot() -> None:
    other = slots.first_promotion("search", "throughput", "arn:pt", BASE, champion(7))
    kept = slots.kept_models([slots.promoted(first(), champion(2)), other])
    assert kept == {
        champion(2).model_arn: "support",
        champion(1).model_arn: "support",
        champion(7).model_arn: "search",
    }


def test_parameter_names_live_under_the_environment() -> None:
    assert slots.parameter_name("prod", "support") == "/bedrock-customization/prod/slots/support"
    assert slots.parameter_name("prod", "support").startswith(slots.slots_prefix("prod"))


NEW = "arn:aws:bedrock:us-east-1:123456789012:custom-model/new"
OLD = "arn:aws:bedrock:us-east-1:123456789012:custom-model/old"


@pytest.mark.parametrize(
    ("described", "expected"),
    [
        # The change registered and still going
        (
            {
                "status": "Active",
                "modelArn": OLD,
                "updateDetails": {"modelArn": NEW, "updateStatus": "Updating"},
            },
            ("Updating", None),
        ),
        # Done, and the deployment serves again
        (
            {
                "status": "Active",
                "modelArn": NEW,
                "updateDetails": {"modelArn": NEW, "updateStatus": "UpdateCompleted"},
            },
            ("UpdateCompleted", None),
        ),
        # Done but the deployment itself not Active (yet): not ready to answer through the slot
        (
            {
                "status": "Creating",
                "modelArn": NEW,
                "updateDetails": {"modelArn": NEW, "updateStatus": "UpdateCompleted"},
            },
            ("Updating", None),
        ),
        # Failed, with Bedrock's reason
        (
            {
                "status": "Active",
                "modelArn": OLD,
                "failureMessage": "incompatible model",
                "updateDetails": {"modelArn": NEW, "updateStatus": "UpdateFailed"},
            },
            ("UpdateFailed", "incompatible model"),
        ),
        # An earlier change's details: this one has not registered yet, whatever they say
        (
            {
                "status": "Active",
                "modelArn": OLD,
                "updateDetails": {"modelArn": OLD, "updateStatus": "UpdateCompleted"},
            },
            ("Updating", None),
        ),
        # No details at all (UNCONFIRMED whether Bedrock ever omits them): the served model decides
        ({"status": "Active", "modelArn": NEW}, ("UpdateCompleted", None)),
        ({"status": "Active", "modelArn": OLD}, ("Updating", None)),
    ],
)
def test_a_deployments_change_is_read_from_its_update_details(
    described: dict[str, Any], expected: tuple[str, str | None]
) -> None:
    assert slots.update_progress(slots.DEPLOYMENT, described, NEW) == expected


@pytest.mark.parametrize(
    ("described", "expected"),
    [
        ({"status": "Updating", "modelArn": OLD, "desiredModelArn": NEW}, ("Updating", None)),
        # InService again, but still on the old model: not this change's end
        ({"status": "InService", "modelArn": OLD, "desiredModelArn": NEW}, ("Updating", None)),
        ({"status": "InService", "modelArn": NEW, "desiredModelArn": NEW}, ("UpdateCompleted", None)),
        ({"status": "Failed", "modelArn": OLD, "failureMessage": "capacity"}, ("UpdateFailed", "capacity")),
        ({"status": "Failed", "modelArn": OLD}, ("UpdateFailed", "the throughput update failed")),
    ],
)
def test_a_throughputs_change_ends_when_it_serves_the_new_model(
    described: dict[str, Any], expected: tuple[str, str | None]
) -> None:
    assert slots.update_progress(slots.THROUGHPUT, described, NEW) == expected
