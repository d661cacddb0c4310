"""`slots` and `slots show NAME`: the serving slots' SSM documents under the deployment's prefix, and
the promotion holding a slot's lock, read through moto (SSM, DynamoDB) as the CLI reads them."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest

from pipeline import slot_lock, slots
from tests.operate.helpers import ACCOUNT, ENV, MANIFEST, REGION, deploy, run_cli

pytestmark = pytest.mark.usefixtures("moto")

LOCKS = "BedrockCustomization-dev-ServingSlotsLocks-TEST"
MODEL = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.nova-micro-v1:0:128k/"
ENDPOINT = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/slotendpoint"
PT_ENDPOINT = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/slotthroughp"


def champion(run: str, model: str, day: int) -> slots.Champion:
    return slots.Champion(MODEL + model, run, f"2026-11-{day:02d}T09:00:00Z", f"passed ({run})")


def put_slot(slot: slots.Slot) -> None:
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=slots.parameter_name(ENV, slot.name),
        Type="String",
        Value=json.dumps(slot.to_dict()),
        Overwrite=True,
    )


def deployed(*, lock_table: bool = True) -> None:
    deploy(with_manifest=False)
    manifest = {**MANIFEST, **({"slotLockTable": LOCKS} if lock_table else {})}
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"/bedrock-customization/{ENV}/deployment", Type="String", Value=json.dumps(manifest)
    )
    if lock_table:
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=LOCKS,
            KeySchema=[{"AttributeName": "slot", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "slot", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )


def two_slots() -> None:
    first = slots.first_promotion(
        "support-answers",
        slots.DEPLOYMENT,
        ENDPOINT,
        "amazon.nova-micro-v1:0:128k",
        champion("run-a", "aaaaaaaaaaa1", 1),
    )
    put_slot(
        slots.promoted(
            slots.promoted(first, champion("run-b", "bbbbbbbbbbb2", 2)), champion("run-c", "ccccccccccc3", 3)
        )
    )
    put_slot(
        slots.first_promotion(
            "faq",
            slots.THROUGHPUT,
            PT_ENDPOINT,
            "amazon.nova-micro-v1:0:128k",
            champion("run-f", "fffffffffff1", 4),
        )
    )


def test_slots_lists_each_slot_with_its_endpoint_champion_and_pending_promotion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    deployed()
    two_slots()
    lock = slot_lock.SlotLock(boto3.client("dynamodb", region_name=REGION), LOCKS, error_code=lambda e: "")
    assert lock.take("faq", "run-g", "arn:aws:states:us-east-1:123456789012:execution:x:run-g") is None

    result = run_cli(capsys, "slots", "--env", ENV, "--region", REGION)

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    header = next(line for line in lines if line.strip().startswith("SLOT"))
    assert header.split() == ["SLOT", "ENDPOINT", "ARN", "CHAMPION", "SINCE", "RUN", "PENDING"]
    faq = next(line for line in lines if line.startswith("faq"))
    support = next(line for line in lines if line.startswith("support-answers"))
    assert PT_ENDPOINT in faq and "run-f" in faq and "run run-g" in faq and "2026-11-04" in faq
    assert (
        ENDPOINT in support
        and "run-c" in support
        and "2026-11-03" in support
        and support.rstrip().endswith("-")
    )
    assert "2 serving slots in environment dev." in result.out
    assert f"bedrock-customize slots show faq --env {ENV} --region {REGION}" in result.out


def test_slots_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    deployed()
    two_slots()

    result = run_cli(capsys, "slots", "--json")

    assert result.code == 0, result.err
    document = result.json()
    assert [s["name"] for s in document] == ["faq", "support-answers"]
    assert document[1]["endpointArn"] == ENDPOINT and document[1]["champion"]["runId"] == "run-c"
    assert [c["runId"] for c in document[1]["history"]] == ["run-b", "run-a"]
    assert all(s["pending"] is None for s in document)


def test_slots_show_lists_the_champions_kept_for_rollback(capsys: pytest.CaptureFixture[str]) -> None:
    deployed()
    two_slots()

    result = run_cli(capsys, "slots", "show", "support-answers")

    assert result.code == 0, result.err
    assert f"{ENDPOINT} (deployment; the ARN applications call)" in result.out
    assert "run run-c" in result.out and "pending" in result.out and "none" in result.out
    rows = [line.split() for line in result.out.splitlines() if line.strip()[:1] in ("1", "2")]
    assert [(r[0], r[1]) for r in rows] == [("1", "run-b"), ("2", "run-a")]
    shown = run_cli(capsys, "slots", "show", "faq")
    assert "No earlier champion: nothing to roll back to yet." in shown.out


def test_slots_show_of_an_unknown_or_badly_named_slot(capsys: pytest.CaptureFixture[str]) -> None:
    deployed()
    two_slots()

    unknown = run_cli(capsys, "slots", "show", "nothing-here", "--env", ENV, "--region", REGION)
    bad = run_cli(capsys, "slots", "show", "Not_A_Slot")
    bare = run_cli(capsys, "slots", "show")

    assert unknown.code == 2 and "no serving slot nothing-here in environment dev" in unknown.err
    assert f"bedrock-customize slots --env {ENV} --region {REGION}" in unknown.err
    assert bad.code == 2 and "lowercase" in bad.err
    assert bare.code == 2 and "needs the slot's NAME" in bare.err


def test_no_slots_and_a_stack_without_a_lock_table(capsys: pytest.CaptureFixture[str]) -> None:
    deployed(lock_table=False)
    assert "no serving slots in environment dev" in run_cli(capsys, "slots").out
    two_slots()

    result = run_cli(capsys, "slots")

    assert result.code == 0, result.err
    assert "PENDING unknown: the stack's manifest names no slot lock table" in result.out
    assert "unknown" in next(line for line in result.out.splitlines() if line.startswith("faq"))


def test_an_expired_lock_is_not_pending(capsys: pytest.CaptureFixture[str]) -> None:
    deployed()
    two_slots()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=slot_lock.LOCK_SECONDS + 60)
    lock = slot_lock.SlotLock(
        boto3.client("dynamodb", region_name=REGION), LOCKS, error_code=lambda e: "", now=lambda: long_ago
    )
    lock.take("faq", "run-old", "")

    document: Any = run_cli(capsys, "slots", "--json").json()

    assert {s["name"]: s["pending"] for s in document} == {"faq": None, "support-answers": None}
