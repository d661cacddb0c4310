"""`throughput list/delete` and `sweep`: find what the pipeline bought by tag, never delete a commitment."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from pipeline.operate import sweep
from tests.operate.helpers import (
    ACCOUNT,
    EXPRESS_FM_ARN,
    REGION,
    STATE_MACHINE_ARN,
    bedrock_client,
    clients_with,
    deploy,
    pt_summary,
    run_cli,
    tags,
)

pytestmark = pytest.mark.usefixtures("moto")

NOW = dt.datetime.now(dt.UTC)

OLD_RUN = "faq-express-1111111111"
LIVE_RUN = "faq-express-2222222222"
FOREIGN_RUN = "faq-express-3333333333"
PT_OLD = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/old000000001"
PT_COMMIT = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/commit000001"
PT_LIVE = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/live00000001"
PT_YOUNG = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/young0000001"
PT_OTHER = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/other0000001"
MODEL_OLD = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.titan-text-express-v1:0:8k/old0000001"
MODEL_COMMIT = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.titan-text-express-v1:0:8k/cmt0000001"
DEPLOY_OLD = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/dep000000001"


@pytest.fixture(autouse=True)
def _fresh_now() -> None:
    """Ages are printed to the minute: measure them from the test's start, not the module import."""
    global NOW
    NOW = dt.datetime.now(dt.UTC)


def _start(run_id: str) -> None:
    boto3.client("stepfunctions", region_name=REGION).start_execution(
        stateMachineArn=STATE_MACHINE_ARN, name=run_id, input=json.dumps({"runSpec": {}})
    )


def _waiting_definition() -> dict[str, Any]:
    """A workflow whose executions stay RUNNING (a long Wait): a live run."""
    return {
        "StartAt": "Wait for the throughput to come online",
        "States": {"Wait for the throughput to come online": {"Type": "Wait", "Seconds": 3600, "End": True}},
    }


# --------------------------------------------------------------------------------------------------
# throughput list / delete
# --------------------------------------------------------------------------------------------------


def test_throughput_list_shows_commitment_end_hourly_cost_and_age(capsys: pytest.CaptureFixture[str]) -> None:
    bedrock = bedrock_client()
    stub = Stubber(bedrock)
    expires = dt.datetime(2031, 1, 31, 8, 0, tzinfo=dt.UTC)
    stub.add_response(
        "list_provisioned_model_throughputs",
        {
            "provisionedModelSummaries": [
                pt_summary(arn=PT_OLD, run_id=OLD_RUN, created=NOW - dt.timedelta(hours=30), units=2),
                pt_summary(
                    arn=PT_COMMIT, run_id=LIVE_RUN, created=NOW, commitment="OneMonth", expires=expires
                ),
                pt_summary(arn=PT_OTHER, created=NOW),
            ]
        },
        {},
    )
    stub.add_response("list_tags_for_resource", tags(OLD_RUN), {"resourceARN": PT_OLD})
    stub.add_response("list_tags_for_resource", tags(LIVE_RUN, "OneMonth"), {"resourceARN": PT_COMMIT})
    stub.add_response("list_tags_for_resource", tags(None), {"resourceARN": PT_OTHER})

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "throughput", "list", "--json")

    assert result.code == 0, result.err
    items = result.json()
    assert [t["arn"] for t in items] == [PT_OLD, PT_COMMIT]  # the untagged one is not the pipeline's
    old, commit = items
    assert old["hourlyUsd"] == 41.0 and old["perDayUsd"] == 984.0
    assert old["ageSeconds"] == pytest.approx(30 * 3600, abs=60)
    assert old["costSoFarUsd"] == pytest.approx(41.0 * 30, abs=1)
    assert commit["commitment"] == "OneMonth"
    assert commit["commitmentExpiresAt"] == "2031-01-31T08:00:00Z"
    assert commit["hourlyUsd"] is None  # no one-month price in the catalog: unknown, not zero


def test_throughput_list_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    bedrock = bedrock_client()
    stub = Stubber(bedrock)
    stub.add_response(
        "list_provisioned_model_throughputs",
        {
            "provisionedModelSummaries": [
                pt_summary(arn=PT_OLD, run_id=OLD_RUN, created=NOW - dt.timedelta(hours=2))
            ]
        },
    )
    stub.add_response("list_tags_for_resource", tags(OLD_RUN), {"resourceARN": PT_OLD})

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "throughput", "list")

    assert re.search(
        rf"old000000001\s+{OLD_RUN}\s+serving\s+InService\s+1\s+none\s+\$20.50/h\s+\$492.00/day\s+2h",
        result.out,
    )
    assert "1 provisioned throughput in us-east-1, billed $492.00 per day in total." in result.out


def test_throughput_list_shows_what_each_purchase_is_for(capsys: pytest.CaptureFixture[str]) -> None:
    """An evaluation throughput (-eval, tagged) apart from the serving one of the same run."""
    bedrock = bedrock_client()
    stub = Stubber(bedrock)
    created = NOW - dt.timedelta(hours=1)
    stub.add_response(
        "list_provisioned_model_throughputs",
        {
            "provisionedModelSummaries": [
                pt_summary(arn=PT_YOUNG, run_id=OLD_RUN, created=created, suffix="-eval"),
                pt_summary(arn=PT_OLD, run_id=OLD_RUN, created=created),
            ]
        },
    )
    stub.add_response(
        "list_tags_for_resource", tags(OLD_RUN, purpose="evaluation"), {"resourceARN": PT_YOUNG}
    )
    stub.add_response("list_tags_for_resource", tags(OLD_RUN), {"resourceARN": PT_OLD})  # older: untagged

    with stub, clients_with(bedrock=bedrock):
        table = run_cli(capsys, "throughput", "list")

    assert re.search(rf"young0000001\s+{OLD_RUN}\s+evaluation\s+InService", table.out)
    assert re.search(rf"old000000001\s+{OLD_RUN}\s+serving\s+InService", table.out)  # from its -pt name


def test_delete_refuses_a_commitment_and_says_when_the_term_ends(capsys: pytest.CaptureFixture[str]) -> None:
    bedrock = bedrock_client()
    stub = Stubber(bedrock)
    expires = dt.datetime(2031, 1, 31, 8, 0, tzinfo=dt.UTC)
    stub.add_response(
        "get_provisioned_model_throughput",
        pt_summary(arn=PT_COMMIT, run_id=OLD_RUN, created=NOW, commitment="SixMonths", expires=expires),
        {"provisionedModelId": PT_COMMIT},
    )
    stub.add_response("list_tags_for_resource", tags(OLD_RUN, "SixMonths"), {"resourceARN": PT_COMMIT})

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "throughput", "delete", PT_COMMIT, "--yes")
        stub.assert_no_pending_responses()  # and no delete call was made

    assert result.code == 2
    assert "SixMonths commitment that ends 2031-01-31 08:00 UTC" in result.err
    assert "Bedrock refuses to delete it before then" in result.err


def test_delete_refuses_a_serving_slots_endpoint_even_with_force(capsys: pytest.CaptureFixture[str]) -> None:
    bedrock = bedrock_client()
    stub = Stubber(bedrock)
    stub.add_response(
        "get_provisioned_model_throughput",
        pt_summary(arn=PT_OLD, run_id=OLD_RUN, created=NOW - dt.timedelta(hours=30)),
        {"provisionedModelId": PT_OLD},
    )
    slot_tags = tags(OLD_RUN, purpose="serving")
    slot_tags["tags"].append({"key": "bedrock-customization:slot", "value": "faq"})
    stub.add_response("list_tags_for_resource", slot_tags, {"resourceARN": PT_OLD})

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "throughput", "delete", PT_OLD, "--yes", "--force")
        stub.assert_no_pending_responses()  # and no delete call was made

    assert result.code == 2
    assert f"{PT_OLD} is the endpoint of serving slot faq" in result.err
    assert f"--provisioned-model-id {PT_OLD}" in result.err


def test_delete_by_run_asks_then_deletes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy()
    bedrock = bedrock_client()
    stub = Stubber(bedrock)
    stub.add_response(
        "list_provisioned_model_throughputs",
        {
            "provisionedModelSummaries": [
                pt_summary(arn=PT_OLD, run_id=OLD_RUN, created=NOW - dt.timedelta(hours=5))
            ]
        },
    )
    stub.add_response("list_tags_for_resource", tags(OLD_RUN), {"resourceARN": PT_OLD})
    stub.add_response("delete_provisioned_model_throughput", {}, {"provisionedModelId": PT_OLD})
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    prompts: list[str] = []
    monkeypatch.setattr("builtins.input", lambda: prompts.append("asked") or "yes")

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "throughput", "delete", OLD_RUN)
        stub.assert_no_pending_responses()

    assert result.code == 0, result.err
    assert prompts == ["asked"]
    assert (
        f"delete {PT_OLD} (run {OLD_RUN}, serving, InService, 1 MU, no commitment): $20.50/hour, 5h 00m old"
        in result.out
    )
    assert f"deleted {PT_OLD}" in result.out


def test_delete_refuses_throughput_the_pipeline_did_not_buy(capsys: pytest.CaptureFixture[str]) -> None:
    bedrock = bedrock_client()
    stub = Stubber(bedrock)
    stub.add_response(
        "get_provisioned_model_throughput",
        pt_summary(arn=PT_OTHER, created=NOW),
        {"provisionedModelId": PT_OTHER},
    )
    stub.add_response("list_tags_for_resource", tags(None), {"resourceARN": PT_OTHER})

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "throughput", "delete", PT_OTHER, "--yes")

    assert result.code == 2
    assert "was not bought by this pipeline" in result.err


def test_delete_refuses_while_the_run_still_runs(capsys: pytest.CaptureFixture[str]) -> None:
    deploy(definition=_waiting_definition())
    _start(LIVE_RUN)
    bedrock = bedrock_client()
    stub = Stubber(bedrock)
    stub.add_response(
        "list_provisioned_model_throughputs",
        {"provisionedModelSummaries": [pt_summary(arn=PT_LIVE, run_id=LIVE_RUN, created=NOW)]},
    )
    stub.add_response("list_tags_for_resource", tags(LIVE_RUN), {"resourceARN": PT_LIVE})

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "throughput", "delete", LIVE_RUN, "--yes")

    assert result.code == 2
    assert f"run {LIVE_RUN} is still running" in result.err
    assert f"bedrock-customize cancel {LIVE_RUN}" in result.err


def test_delete_of_a_run_without_throughput_is_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    bedrock = bedrock_client()
    stub = Stubber(bedrock)
    stub.add_response("list_provisioned_model_throughputs", {"provisionedModelSummaries": []})

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "throughput", "delete", OLD_RUN)

    assert result.code == 2
    assert f"no provisioned throughput tagged with run {OLD_RUN}" in result.err


# --------------------------------------------------------------------------------------------------
# sweep
# --------------------------------------------------------------------------------------------------


def _sweep_stub(
    bedrock: Any, *, deletes: bool, serving: bool = True, slot_on_pt_old: str | None = None
) -> Stubber:
    """Five throughputs, two custom models, one deployment; deletions queued only when expected
    (``serving``: the serving throughput and the custom model too, as with --include-serving)."""
    stub = Stubber(bedrock)
    old = NOW - dt.timedelta(days=3)
    stub.add_response(
        "list_provisioned_model_throughputs",
        {
            "provisionedModelSummaries": [
                pt_summary(arn=PT_OLD, run_id=OLD_RUN, created=old, model_arn=MODEL_OLD),
                pt_summary(
                    arn=PT_COMMIT,
                    run_id=OLD_RUN,
                    created=old,
                    commitment="OneMonth",
                    expires=NOW + dt.timedelta(days=20),
                    model_arn=MODEL_COMMIT,
                ),
                pt_summary(arn=PT_LIVE, run_id=LIVE_RUN, created=old),
                pt_summary(arn=PT_YOUNG, run_id=OLD_RUN, created=NOW - dt.timedelta(hours=2)),
                pt_summary(arn=PT_OTHER, run_id=FOREIGN_RUN, created=old),
            ]
        },
    )
    for arn, run in (
        (PT_OLD, OLD_RUN),
        (PT_COMMIT, OLD_RUN),
        (PT_LIVE, LIVE_RUN),
        (PT_YOUNG, OLD_RUN),
        (PT_OTHER, FOREIGN_RUN),
    ):
        answer = tags(run)
        if arn == PT_OLD and slot_on_pt_old:
            answer["tags"].append({"key": "bedrock-customization:slot", "value": slot_on_pt_old})
        stub.add_response("list_tags_for_resource", answer, {"resourceARN": arn})
    stub.add_response(
        "list_custom_model_deployments",
        {
            "modelDeploymentSummaries": [
                {
                    "customModelDeploymentArn": DEPLOY_OLD,
                    "customModelDeploymentName": "faq-express-ondemand",
                    "modelArn": MODEL_OLD,
                    "createdAt": old,
                    "status": "Active",
                }
            ]
        },
    )
    stub.add_response(
        "list_tags_for_resource", tags(OLD_RUN, purpose="evaluation"), {"resourceARN": DEPLOY_OLD}
    )
    stub.add_response(
        "list_custom_models",
        {
            "modelSummaries": [
                {
                    "modelArn": arn,
                    "modelName": name,
                    "creationTime": old,
                    "baseModelArn": EXPRESS_FM_ARN,
                    "baseModelName": "Titan Text G1 - Express",
                    "modelStatus": "Active",
                }
                for arn, name in ((MODEL_OLD, "faq-express-1111111111"), (MODEL_COMMIT, "faq-express-commit"))
            ]
        },
    )
    stub.add_response("list_tags_for_resource", tags(OLD_RUN), {"resourceARN": MODEL_OLD})
    stub.add_response("list_tags_for_resource", tags(OLD_RUN), {"resourceARN": MODEL_COMMIT})
    if deletes:
        stub.add_response(
            "delete_custom_model_deployment", {}, {"customModelDeploymentIdentifier": DEPLOY_OLD}
        )
        if serving:
            stub.add_response("delete_provisioned_model_throughput", {}, {"provisionedModelId": PT_OLD})
            stub.add_response("delete_custom_model", {}, {"modelIdentifier": MODEL_OLD})
    return stub


def _two_runs() -> None:
    deploy(definition=_waiting_definition())
    _start(OLD_RUN)
    _start(LIVE_RUN)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    sfn.stop_execution(
        executionArn=STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + f":{OLD_RUN}"
    )


def test_sweep_dry_run_lists_with_cost_per_day_and_deletes_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _two_runs()
    bedrock = bedrock_client()
    stub = _sweep_stub(bedrock, deletes=False)

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "sweep", "--dry-run", "--include-serving", "--json")
        stub.assert_no_pending_responses()

    assert result.code == 0, result.err
    doc = result.json()
    actions = {c["arn"]: (c["action"], c["reason"]) for c in doc["candidates"]}
    assert actions[PT_OLD][0] == "delete"
    assert actions[DEPLOY_OLD][0] == "delete"
    assert actions[MODEL_OLD][0] == "delete"
    assert actions[PT_COMMIT] == ("keep", actions[PT_COMMIT][1])
    assert actions[PT_COMMIT][1].startswith("OneMonth commitment until")
    assert actions[MODEL_COMMIT][1] == "still served by kept throughput commit000001"
    assert actions[PT_LIVE][1] == f"run {LIVE_RUN} is still RUNNING"
    assert actions[PT_YOUNG][1] == "younger than 1d 0h"
    assert "is not a run of BedrockCustomization-dev" in actions[PT_OTHER][1]
    per_day = {c["arn"]: c["perDayUsd"] for c in doc["candidates"]}
    assert per_day[PT_OLD] == 492.0
    assert per_day[MODEL_OLD] == pytest.approx(1.95 * 24 / 730, abs=1e-4)
    assert per_day[DEPLOY_OLD] is None  # billed per token: no idle cost to show
    purposes = {c["arn"]: c["purpose"] for c in doc["candidates"]}
    assert purposes[DEPLOY_OLD] == "evaluation" and purposes[PT_OLD] == "serving"
    notes = {c["arn"]: c["costNote"] for c in doc["candidates"]}
    assert "evaluation vehicle: should have been released" in notes[DEPLOY_OLD]
    assert f"serves run {OLD_RUN}'s custom model" in notes[PT_OLD]
    assert doc["savingsPerDay"]["usd"] == pytest.approx(492.0 + 1.95 * 24 / 730, abs=1e-3)


def test_sweep_deletes_deployments_and_throughput_before_models(capsys: pytest.CaptureFixture[str]) -> None:
    _two_runs()
    bedrock = bedrock_client()
    stub = _sweep_stub(bedrock, deletes=True)

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "sweep", "--older-than", "1d", "--include-serving", "--yes")
        stub.assert_no_pending_responses()  # exactly the three deletions, in this order

    assert result.code == 0, result.err
    assert result.out.count("deleted") >= 3


def test_sweep_by_default_deletes_only_evaluation_leftovers(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a finished run's evaluation deployment, serving throughput and custom model, all old
    _two_runs()
    bedrock = bedrock_client()
    stub = _sweep_stub(bedrock, deletes=True, serving=False)

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "sweep", "--yes", "--json")
        stub.assert_no_pending_responses()  # only the evaluation deployment is deleted

    assert result.code == 0, result.err
    actions = {c["arn"]: (c["action"], c["reason"]) for c in result.json()["candidates"]}
    assert actions[DEPLOY_OLD][0] == "delete"
    assert actions[PT_OLD] == ("keep", "serving: swept only with --include-serving")
    assert actions[MODEL_OLD] == ("keep", "a run's custom model: swept only with --include-serving")


def test_sweep_never_deletes_a_serving_slots_endpoint_or_models_even_with_include_serving(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the old run's throughput became slot "faq"'s endpoint and its model the slot's champion
    from pipeline import slots

    _two_runs()
    champion = slots.Champion(MODEL_OLD, OLD_RUN, "2026-11-20T09:00:00Z")
    document = slots.first_promotion("faq", "throughput", PT_OLD, EXPRESS_FM_ARN, champion)
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=slots.parameter_name("dev", "faq"), Value=json.dumps(document.to_dict()), Type="String"
    )
    bedrock = bedrock_client()
    stub = _sweep_stub(bedrock, deletes=True, serving=False, slot_on_pt_old="faq")

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "sweep", "--include-serving", "--yes", "--json")
        stub.assert_no_pending_responses()  # only the evaluation deployment is deleted

    assert result.code == 0, result.err
    actions = {c["arn"]: (c["action"], c["reason"]) for c in result.json()["candidates"]}
    assert actions[PT_OLD] == ("keep", "endpoint of serving slot faq")
    assert actions[MODEL_OLD] == ("keep", "champion of serving slot faq")
    assert actions[DEPLOY_OLD][0] == "delete"


def test_sweep_keeps_an_endpoint_tagged_as_a_slots_even_without_its_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the old run's throughput tagged as slot "faq"'s endpoint, but no slot document (yet)
    _two_runs()
    bedrock = bedrock_client()
    stub = _sweep_stub(bedrock, deletes=True, serving=True, slot_on_pt_old="faq")

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "sweep", "--include-serving", "--dry-run", "--json")

    assert result.code == 0, result.err
    actions = {c["arn"]: (c["action"], c["reason"]) for c in result.json()["candidates"]}
    assert actions[PT_OLD] == ("keep", "endpoint of serving slot faq (its tag)")


def test_sweep_keep_run_protects_a_run(capsys: pytest.CaptureFixture[str]) -> None:
    _two_runs()
    bedrock = bedrock_client()
    stub = _sweep_stub(bedrock, deletes=False)

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "sweep", "--keep-run", OLD_RUN, "--yes", "--json")

    assert result.code == 0, result.err
    assert result.json()["toDelete"] == 0


def test_sweep_without_a_terminal_needs_yes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_runs()
    bedrock = bedrock_client()
    stub = _sweep_stub(bedrock, deletes=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    with stub, clients_with(bedrock=bedrock):
        result = run_cli(capsys, "sweep")

    assert result.code == 2
    assert "pass --yes" in result.err


@pytest.mark.parametrize(
    ("text", "seconds"), [("24h", 86400), ("90m", 5400), ("7d", 604800), ("2w", 1209600), ("1d12h", 129600)]
)
def test_ages(text: str, seconds: int) -> None:
    assert sweep.parse_age(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "24", "h", "3 days", "-1h"])
def test_bad_ages(text: str) -> None:
    with pytest.raises(ValueError, match="is not an age"):
        sweep.parse_age(text)
