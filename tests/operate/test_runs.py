"""status, list, approve, reject, cancel and watch against a workflow that moto executes.

Two runs: a Titan Text Express run (no on-demand deployment for its base, so a human approves one
model unit of no-commitment throughput to evaluate on, which then serves), and a Nova Micro run
(evaluated on an on-demand deployment, served on throughput bought after the bar and an approval).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import boto3
import pytest

from pipeline.operate import runs
from pipeline.operate.errors import EXIT_INVALID, EXIT_OK, EXIT_OPERATIONAL
from pipeline.runspec import RunSpec
from tests.operate.helpers import (
    APPROVER_ROLE_ARN,
    BUCKET,
    DEPLOYMENT_ARN,
    EVAL_PT_ARN,
    MODEL_ARN,
    PT_ARN,
    REGION,
    STATE_MACHINE_ARN,
    ApprovalFunctionUrl,
    answer_approval_request,
    bedrock_client,
    clients_with,
    deploy,
    deployment_summary,
    execution_status,
    express_spec,
    nova_spec,
    plan_for,
    pt_summary,
    run_cli,
    tags,
    wait_for,
    workflow,
)
from tests.stubs import PartialStubber

pytestmark = pytest.mark.usefixtures("moto", "titan_offered")

RUN_ID = "support-express-0a1b2c3d4e"
NOVA_RUN = "support-nova-0a1b2c3d4e"
PT_OPERATIONS = (
    "GetProvisionedModelThroughput",
    "ListProvisionedModelThroughputs",
    "ListTagsForResource",
    "DeleteProvisionedModelThroughput",
    "GetCustomModelDeployment",
    "DeleteCustomModelDeployment",
)


class RecordingStepFunctions:
    """The moto Step Functions client, recording StopExecution requests."""

    def __init__(self) -> None:
        self.client = boto3.client("stepfunctions", region_name=REGION)
        self.stopped: list[dict[str, Any]] = []

    def stop_execution(self, **request: Any) -> Any:
        self.stopped.append(request)
        return self.client.stop_execution(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.fixture
def plan() -> dict[str, Any]:
    return plan_for(express_spec(), RUN_ID)


def _start(plan: dict[str, Any], run_id: str = RUN_ID, spec: RunSpec | None = None) -> None:
    boto3.client("stepfunctions", region_name=REGION).start_execution(
        stateMachineArn=STATE_MACHINE_ARN,
        name=run_id,
        input=json.dumps({"runSpec": (spec or express_spec()).to_dict()}),
    )


def _waiting(
    plan: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    *,
    stage: str = "evaluation",
    spec: RunSpec | None = None,
) -> None:
    """Deploy the workflow double, start the run and let it reach the approval gate of ``stage``."""
    deploy(definition=workflow(plan))
    _start(plan, plan["runId"], spec)
    answer_approval_request(plan, monkeypatch, stage=stage)


def _parked(run_id: str, stage: str) -> bool:
    """The execution has entered the approval wait of ``stage`` (the double parked its token)."""
    listing = boto3.client("s3", region_name=REGION).list_objects_v2(
        Bucket=BUCKET, Prefix=f"test/{run_id}/{stage}/"
    )
    return bool(listing.get("Contents"))


def _deployment_stub(stub: PartialStubber, *, gone: bool = False, status: str = "Active") -> None:
    if gone:
        stub.add_client_error(
            "get_custom_model_deployment",
            "ResourceNotFoundException",
            "no such deployment",
            404,
            expected_params={"customModelDeploymentIdentifier": DEPLOYMENT_ARN},
        )
        return
    stub.add_response(
        "get_custom_model_deployment",
        deployment_summary(name=f"{NOVA_RUN}-od", created=dt.datetime.now(dt.UTC), status=status),
        {"customModelDeploymentIdentifier": DEPLOYMENT_ARN},
    )
    stub.add_response("list_tags_for_resource", tags(NOVA_RUN), {"resourceARN": DEPLOYMENT_ARN})


def _bedrock_with_pt(*, created: dt.datetime, gets: int = 1, lists: int = 0) -> tuple[Any, PartialStubber]:
    client = bedrock_client()
    stub = PartialStubber(client, PT_OPERATIONS)
    for _ in range(lists):
        stub.add_response(
            "list_provisioned_model_throughputs",
            {"provisionedModelSummaries": [pt_summary(run_id=RUN_ID, created=created)]},
        )
        stub.add_response("list_tags_for_resource", tags(RUN_ID), {"resourceARN": PT_ARN})
    for _ in range(gets):
        stub.add_response(
            "get_provisioned_model_throughput",
            pt_summary(run_id=RUN_ID, created=created),
            {"provisionedModelId": PT_ARN},
        )
        stub.add_response("list_tags_for_resource", tags(RUN_ID), {"resourceARN": PT_ARN})
    return client, stub


def test_status_of_a_run_waiting_for_approval(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)

    result = run_cli(capsys, "status", RUN_ID, "--json")

    assert result.code == 0, result.err
    doc = result.json()
    assert doc["status"] == "RUNNING"
    assert doc["currentState"] == "Ask for approval to evaluate"
    assert doc["stage"] == "waiting for approval to evaluate"
    assert doc["waitingForApproval"] is True
    assert doc["approvalStage"] == "evaluation"
    assert doc["customModelArn"] == MODEL_ARN
    assert doc["loss"]["validationLoss"] == 1.11
    assert doc["approvalRequest"]["purchase"]["modelUnits"] == 1
    assert doc["approvalRequest"]["purchase"]["stage"] == "evaluation"
    assert "taskToken" not in doc["approvalRequest"]  # the token is a credential: never printed
    assert doc["evaluationVehicle"]["kind"] == "throughput"
    assert doc["evaluationVehicle"]["arn"] is None  # nothing bought before the approval
    assert doc["servingMode"] == "provisioned"
    # Training has run (a job exists): its estimate counts; nothing else is billed yet.
    assert doc["costSoFar"]["usd"] == plan["estimate"]["trainingUsd"] > 0
    assert doc["next"][0] == f"bedrock-customize approve {RUN_ID} --env dev"

    text = run_cli(capsys, "status", RUN_ID).out
    assert "RUNNING: waiting for approval to evaluate" in text
    assert "Approval to evaluate: waiting since" in text
    assert "expires" in text and "(no answer = rejected)" in text
    assert re.search(rf"Evaluated on: +1 MU of no-commitment throughput {RUN_ID}-pt \(not bought yet\)", text)
    assert re.search(
        r"Serving: +provisioned: 1 MU, no commitment: the evaluation throughput, kept once", text
    )
    training = plan["estimate"]["trainingUsd"]
    cost_line = next(line for line in text.splitlines() if line.startswith("Cost so far:"))
    # The total once, then its parts once each.
    assert cost_line.split(":", 1)[1].split() == [
        f"${training:,.2f}",
        "(training",
        "estimate",
        f"${training:,.2f})",
    ]


def test_approve_shows_the_purchase_then_answers_the_gate_with_the_callers_identity(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)

    result = run_cli(capsys, "approve", RUN_ID, "--reason", "quality ok", "--yes")

    assert result.code == 0, result.err
    # The request as the approval_request handler wrote it, then what approving buys.
    assert f"Run {RUN_ID} asks to buy Provisioned Throughput to evaluate its custom model on." in result.out
    assert (
        "Approving buys 1 model unit(s) of no-commitment throughput for z9y8x7w6v5u4 to evaluate it on: "
        "$20.50/hour ($14,965.00/month); kept to serve with if the model passes its bar (billed hourly "
        "until deleted), released if it fails. Answer before "
    ) in result.out
    assert f"run {RUN_ID} approved: the workflow buys the evaluation throughput now" in result.out
    wait_for(lambda: execution_status(RUN_ID) == "SUCCEEDED", what="the run to finish")
    sfn = boto3.client("stepfunctions", region_name=REGION)
    output = json.loads(
        sfn.describe_execution(
            executionArn=STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + f":{RUN_ID}"
        )["output"]
    )
    identity = boto3.client("sts", region_name=REGION).get_caller_identity()["Arn"]
    # Answered through the approval URL as the approver role: the approver is the session name the
    # role's trust binds to the caller's IAM user name, not a typed name. (The deployed workflow then
    # acts on the decision of record the answer names, not on this answer: lambdas/approval_verify.)
    answer = output["evaluationApproval"]
    assert {k: answer[k] for k in ("approved", "approver", "reason", "stage")} == {
        "approved": True,
        "approver": identity.rsplit("/", 1)[-1],
        "reason": "quality ok",
        "stage": "evaluation",
    }
    assert answer["decisionKey"] == f"decisions/{RUN_ID}/{answer['requestId']}.json"
    assert output["approval"] is None  # the evaluation throughput serves: no second purchase to approve
    assert output["vehicle"]["Arn"] == PT_ARN
    assert output["throughput"] == {"ProvisionedModelArn": PT_ARN}


def test_approve_without_a_terminal_needs_yes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    result = run_cli(capsys, "approve", RUN_ID)

    assert result.code == EXIT_INVALID
    assert "pass --yes" in result.err
    assert execution_status(RUN_ID) == "RUNNING"  # nothing was sent


def test_reject_ends_the_run_without_buying(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)

    result = run_cli(capsys, "reject", RUN_ID, "--reason", "too expensive")

    assert result.code == 0, result.err
    assert "rejected: nothing is bought" in result.out
    wait_for(lambda: execution_status(RUN_ID) == "FAILED", what="the run to fail")
    status = run_cli(capsys, "status", RUN_ID, "--json").json()
    assert status["evaluationApproval"]["approved"] is False
    assert status["evaluationApproval"]["reason"] == "too expensive"
    assert status["failure"]["Error"] == "ApprovalRejected"
    assert status["throughputArn"] is None
    assert status["evaluationVehicle"]["arn"] is None
    assert status["stage"] == "failed at: evaluation purchase rejected"


def test_approving_a_run_that_is_not_waiting_is_invalid_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)
    run_cli(capsys, "reject", RUN_ID, "--reason", "no")
    wait_for(lambda: execution_status(RUN_ID) == "FAILED", what="the run to fail")

    result = run_cli(capsys, "approve", RUN_ID, "--yes")

    assert result.code == EXIT_INVALID
    assert f"run {RUN_ID} is not waiting for approval: it is FAILED" in result.err
    assert f"bedrock-customize status {RUN_ID}" in result.err


def test_an_unknown_run_is_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    deploy()

    result = run_cli(capsys, "status", "no-such-run-0000000000")

    assert result.code == EXIT_INVALID
    assert "no run 'no-such-run-0000000000' in the 'dev' environment (us-east-1)" in result.err
    assert "bedrock-customize list" in result.err


def test_a_malformed_run_id_is_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "status", "not a run!")

    assert result.code == EXIT_INVALID
    assert "is not a run id" in result.err


def test_status_after_purchase_counts_throughput_hours(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)
    run_cli(capsys, "approve", RUN_ID, "--yes")
    wait_for(lambda: execution_status(RUN_ID) == "SUCCEEDED", what="the run to finish")
    created = dt.datetime.now(dt.UTC) - dt.timedelta(hours=10)
    client, stub = _bedrock_with_pt(created=created)

    with stub, clients_with(bedrock=client):
        doc = run_cli(capsys, "status", RUN_ID, "--json").json()
        stub.assert_no_pending_responses()  # one throughput, described once: it evaluated, then serves

    training = plan["estimate"]["trainingUsd"]
    assert doc["throughput"]["hourlyUsd"] == 20.5
    assert doc["evaluationVehicle"]["status"] == "InService"
    # Counted once; the base model's on-demand calls have no catalog price: a lower bound, said so.
    assert doc["costParts"] == {
        "training": training,
        "evaluation calls": None,
        "throughput (evaluation, then serving)": pytest.approx(20.5 * 10, abs=0.05),
    }
    assert doc["costSoFar"]["knownUsd"] == pytest.approx(training + 20.5 * 10, abs=0.05)
    assert doc["costSoFar"]["unknownParts"] == ["evaluation calls"]
    assert doc["smoke"]["passed"] is True
    assert f"bedrock-customize throughput delete {RUN_ID}" in " ".join(doc["next"])


def test_list_shows_runs_with_throughput_and_cost(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)
    run_cli(capsys, "approve", RUN_ID, "--yes")
    wait_for(lambda: execution_status(RUN_ID) == "SUCCEEDED", what="the run to finish")
    other = "support-express-ffffffffff"
    _start(plan_for(express_spec(), other), other)
    created = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    client, stub = _bedrock_with_pt(created=created, gets=0, lists=2)

    with stub, clients_with(bedrock=client):
        table = run_cli(capsys, "list")
        doc = run_cli(capsys, "list", "--status", "SUCCEEDED", "--json").json()

    assert table.code == 0, table.err
    row = next(line for line in table.out.splitlines() if line.startswith(RUN_ID))
    assert "throughput k3v9q2x7m1ab InService" in row  # evaluated on
    assert row.count("k3v9q2x7m1ab InService") == 2  # and serving on, the same purchase
    assert other in table.out and "RUNNING" in table.out
    assert [run["runId"] for run in doc] == [RUN_ID]
    assert doc[0]["baseModel"] == "amazon.titan-text-express-v1:0:8k"
    assert doc[0]["costSoFar"]["knownUsd"] == pytest.approx(plan["estimate"]["trainingUsd"] + 41.0, abs=0.05)


def test_cancel_stops_the_run_and_releases_its_throughput(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)
    created = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    client = bedrock_client()
    stub = PartialStubber(client, PT_OPERATIONS)
    stub.add_response(
        "list_provisioned_model_throughputs",
        {"provisionedModelSummaries": [pt_summary(run_id=RUN_ID, created=created)]},
    )
    stub.add_response("list_tags_for_resource", tags(RUN_ID), {"resourceARN": PT_ARN})
    stub.add_response("delete_provisioned_model_throughput", {}, {"provisionedModelId": PT_ARN})

    sfn = RecordingStepFunctions()

    with stub, clients_with(bedrock=client, stepfunctions=sfn):
        result = run_cli(capsys, "cancel", RUN_ID, "--reason", "wrong data", "--yes")
        stub.assert_no_pending_responses()

    assert result.code == 0, result.err
    assert f"delete serving throughput {PT_ARN} ($20.50/hour)" in result.out
    assert f"deleted provisioned throughput {PT_ARN}" in result.out
    # moto keeps an execution blocked on a callback RUNNING after StopExecution, so the request
    # itself is what is checked: the right execution, with who cancelled and why.
    identity = boto3.client("sts", region_name=REGION).get_caller_identity()["Arn"]
    assert sfn.stopped == [
        {
            "executionArn": STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + f":{RUN_ID}",
            "error": "Cancelled",
            "cause": f"Cancelled by {identity}: wrong data",
        }
    ]


def test_cancel_never_deletes_a_serving_slots_endpoint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    # Given the run's throughput became serving slot "support"'s endpoint (a first promotion)
    _waiting(plan, monkeypatch)
    created = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    client = bedrock_client()
    stub = PartialStubber(client, PT_OPERATIONS)
    stub.add_response(
        "list_provisioned_model_throughputs",
        {"provisionedModelSummaries": [pt_summary(run_id=RUN_ID, created=created)]},
    )
    slotted = tags(RUN_ID)
    slotted["tags"].append({"key": "bedrock-customization:slot", "value": "support"})
    stub.add_response("list_tags_for_resource", slotted, {"resourceARN": PT_ARN})
    # (no delete queued: deleting it would fail the test)

    with stub, clients_with(bedrock=client, stepfunctions=RecordingStepFunctions()):
        result = run_cli(capsys, "cancel", RUN_ID, "--reason", "wrong data", "--yes")
        stub.assert_no_pending_responses()

    assert result.code == 0, result.err
    assert f"deleted provisioned throughput {PT_ARN}" not in result.out
    assert "serving slot support" in result.out


def test_cancel_keeps_a_commitment_and_says_until_when(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)
    now = dt.datetime.now(dt.UTC)
    expires = dt.datetime(2031, 5, 1, 12, 0, tzinfo=dt.UTC)
    client = bedrock_client()
    stub = PartialStubber(client, PT_OPERATIONS)
    stub.add_response(
        "list_provisioned_model_throughputs",
        {
            "provisionedModelSummaries": [
                pt_summary(run_id=RUN_ID, created=now, commitment="OneMonth", expires=expires)
            ]
        },
    )
    stub.add_response("list_tags_for_resource", tags(RUN_ID, "OneMonth"), {"resourceARN": PT_ARN})

    with stub, clients_with(bedrock=client):
        result = run_cli(capsys, "cancel", RUN_ID, "--yes", "--json")

    assert result.code == 0, result.err
    doc = result.json()
    assert doc["throughputDeleted"] == []
    assert "OneMonth commitment that ends 2031-05-01 12:00 UTC" in doc["throughputKept"][0]["reason"]


def test_cancelling_a_finished_run_is_invalid_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)
    run_cli(capsys, "reject", RUN_ID, "--reason", "no")
    wait_for(lambda: execution_status(RUN_ID) == "FAILED", what="the run to fail")

    result = run_cli(capsys, "cancel", RUN_ID, "--yes")

    assert result.code == EXIT_INVALID
    assert "already ended (FAILED)" in result.err


# --------------------------------------------------------------------------------------------------
# watch
# --------------------------------------------------------------------------------------------------


def _view(status: str, state: str, *, minutes: int, error: str | None = None) -> runs.RunView:
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    return runs.RunView(
        run_id=RUN_ID,
        environment="dev",
        region=REGION,
        execution_arn="arn",
        status=status,
        started=start,
        stopped=None if status == "RUNNING" else start + dt.timedelta(minutes=minutes),
        current_state=state,
        spec=None,
        state={"failure": {"Error": error, "Cause": "why"}} if error else {},
        error=None,
        cause=None,
        now=start + dt.timedelta(minutes=minutes),
    )


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        ("SUCCEEDED", None, EXIT_OK),
        ("FAILED", "PreflightFailed", EXIT_INVALID),
        ("FAILED", "LossAboveBar", EXIT_OPERATIONAL),
        ("ABORTED", None, EXIT_OPERATIONAL),
        ("TIMED_OUT", None, EXIT_OPERATIONAL),
    ],
)
def test_the_exit_code_is_the_runs_outcome(status: str, error: str | None, code: int) -> None:
    assert _view(status, "Run failed", minutes=1, error=error).outcome_exit_code() == code


def test_watch_command_exits_with_the_outcome(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)
    run_cli(capsys, "reject", RUN_ID, "--reason", "no")

    result = run_cli(capsys, "watch", RUN_ID, "--interval", "0.05")

    assert result.code == EXIT_OPERATIONAL
    assert "FAILED" in result.out and "ApprovalRejected" in result.out


def test_approval_request_bucket_is_the_deployments(
    plan: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _waiting(plan, monkeypatch)

    keys = [
        o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)["Contents"]
    ]

    assert f"runs/{RUN_ID}/approval-request.json" in keys


# --------------------------------------------------------------------------------------------------
# Evaluated on an on-demand deployment; two purchases; served on demand
# --------------------------------------------------------------------------------------------------


def test_a_run_evaluated_on_demand_asks_to_serve_after_the_bar(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = nova_spec()
    plan = plan_for(spec, NOVA_RUN)
    _waiting(plan, monkeypatch, stage="serving", spec=spec)
    client = bedrock_client()
    stub = PartialStubber(client, PT_OPERATIONS)
    for _ in range(2):
        _deployment_stub(stub)

    with stub, clients_with(bedrock=client):
        doc = run_cli(capsys, "status", NOVA_RUN, "--json").json()
        text = run_cli(capsys, "status", NOVA_RUN).out
        stub.assert_no_pending_responses()

    assert doc["currentState"] == "Ask for approval to serve"
    assert doc["approvalStage"] == "serving"
    assert doc["evaluationVehicle"] | {"throughput": None, "deployment": None} == {
        "kind": "deployment",
        "arn": DEPLOYMENT_ARN,
        "name": f"{NOVA_RUN}-od",
        "status": "Active",
        "servesAfterwards": False,
        "throughput": None,
        "deployment": None,
    }
    assert doc["evaluation"]["passed"] is True
    # Both models answered on demand at Nova Micro's token prices: measured, not zero.
    calls = doc["costParts"]["evaluation calls"]
    expected = (4 * 100 * 0.035 + 4 * 50 * 0.14 + 4 * 100 * 0.035 + 4 * 150 * 0.14) / 1e6
    assert calls == pytest.approx(expected, abs=1e-4) and calls > 0
    assert re.search(rf"Evaluated on: +on-demand deployment {DEPLOYMENT_ARN}\n", text)
    assert "Active, billed per token (no hourly charge); deleted after the evaluation" in text
    assert re.search(r"Evaluation: +passed: quality custom 0.800 vs base 0.400", text)
    assert re.search(r"Approval to serve: +waiting since", text)

    with stub, clients_with(bedrock=client):
        result = run_cli(capsys, "approve", NOVA_RUN, "--yes", "--reason", "passed")

    assert result.code == 0, result.err
    assert f"Run {NOVA_RUN} asks to buy Provisioned Throughput to serve its custom model." in result.out
    assert "Quality gate:    Custom model meets the bar" in result.out  # the approver sees the verdict
    # Nova's throughput price is not in the catalog: unknown, never $0, and said in words.
    assert (
        "Approving buys 1 model unit(s) for z9y8x7w6v5u4 to serve it: hourly price unknown (no source "
        "gives one: approve only if you know it); no commitment: billed hourly until deleted. Answer before"
    ) in result.out
    # The request's own commands are printed with the environment this command ran with.
    assert f"  Approve: bedrock-customize approve {NOVA_RUN} --env dev\n" in result.out
    assert "approved: the workflow buys the throughput now" in result.out
    wait_for(lambda: execution_status(NOVA_RUN) == "SUCCEEDED", what="the run to finish")


def test_a_run_served_on_demand_shows_its_deployment(capsys: pytest.CaptureFixture[str]) -> None:
    spec = nova_spec(serving={"mode": "on-demand"})
    plan = plan_for(spec, NOVA_RUN)
    deploy(definition=workflow(plan))
    _start(plan, NOVA_RUN, spec)
    wait_for(lambda: execution_status(NOVA_RUN) == "SUCCEEDED", what="the run to finish")
    client = bedrock_client()
    stub = PartialStubber(client, PT_OPERATIONS)
    _deployment_stub(stub)
    _deployment_stub(stub)

    with stub, clients_with(bedrock=client):
        doc = run_cli(capsys, "status", NOVA_RUN, "--json").json()
        text = run_cli(capsys, "status", NOVA_RUN).out

    assert doc["servingMode"] == "on-demand"
    assert doc["deploymentArn"] == DEPLOYMENT_ARN
    assert doc["evaluationVehicle"]["servesAfterwards"] is True
    assert doc["throughputArn"] is None
    assert doc["approval"] is None and doc["evaluationApproval"] is None  # nothing bought, nobody asked
    assert f"on demand: deployment {DEPLOYMENT_ARN} (Converse modelId; billed per token)" in text
    assert "Smoke check:" in text and "passed" in text
    assert "kept to serve on demand" in text
    # An on-demand deployment has no hourly charge: only training and the evaluation calls.
    assert set(doc["costParts"]) == {"training", "evaluation calls"}


def test_approve_waits_for_the_request_of_the_wait_the_run_is_in(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two purchases, two approvals, one request file: the first request never answers the second wait."""
    spec = express_spec(model_units=2)
    plan = plan_for(spec, RUN_ID)
    assert plan["approval"]["beforeEvaluation"] and plan["approval"]["beforeServing"]
    _waiting(plan, monkeypatch, stage="evaluation", spec=spec)
    run_cli(capsys, "approve", RUN_ID, "--yes")
    wait_for(lambda: _parked(RUN_ID, "serving"), what="the serving approval wait")

    early = run_cli(capsys, "approve", RUN_ID, "--yes")

    assert early.code == EXIT_OPERATIONAL
    assert "still holds its earlier evaluation request" in early.err
    assert "retry shortly" in early.err
    assert execution_status(RUN_ID) == "RUNNING"  # nothing was sent

    answer_approval_request(plan, monkeypatch, stage="serving")
    result = run_cli(capsys, "approve", RUN_ID, "--yes")

    assert result.code == 0, result.err
    assert "Approving buys 2 model unit(s) for z9y8x7w6v5u4 to serve it: $41.00/hour" in result.out
    wait_for(lambda: execution_status(RUN_ID) == "SUCCEEDED", what="the run to finish")


def test_evaluation_and_serving_throughput_are_each_counted_once(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = express_spec(model_units=2)
    plan = plan_for(spec, RUN_ID)
    _waiting(plan, monkeypatch, stage="evaluation", spec=spec)
    run_cli(capsys, "approve", RUN_ID, "--yes")
    answer_approval_request(plan, monkeypatch, stage="serving")
    run_cli(capsys, "approve", RUN_ID, "--yes")
    wait_for(lambda: execution_status(RUN_ID) == "SUCCEEDED", what="the run to finish")
    created = dt.datetime.now(dt.UTC) - dt.timedelta(hours=10)
    client = bedrock_client()
    stub = PartialStubber(client, PT_OPERATIONS)
    stub.add_response(
        "get_provisioned_model_throughput",
        pt_summary(run_id=RUN_ID, created=created, units=2),
        {"provisionedModelId": PT_ARN},
    )
    stub.add_response("list_tags_for_resource", tags(RUN_ID, purpose="serving"), {"resourceARN": PT_ARN})
    stub.add_client_error(
        "get_provisioned_model_throughput",
        "ResourceNotFoundException",
        "released",
        404,
        expected_params={"provisionedModelId": EVAL_PT_ARN},
    )

    with stub, clients_with(bedrock=client):
        doc = run_cli(capsys, "status", RUN_ID, "--json").json()

    parts = doc["costParts"]
    assert parts["serving throughput"] == pytest.approx(41.0 * 10, abs=0.1)
    # Released seconds after it was bought in the double: its hours from the history, not zero-by-default.
    assert parts["evaluation throughput"] == pytest.approx(0, abs=0.5)
    assert doc["evaluationVehicle"]["status"] == "deleted"
    assert doc["throughput"]["modelUnits"] == 2


def test_cancel_deletes_the_runs_evaluation_deployment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = nova_spec()
    plan = plan_for(spec, NOVA_RUN)
    _waiting(plan, monkeypatch, stage="serving", spec=spec)
    client = bedrock_client()
    stub = PartialStubber(client, PT_OPERATIONS)
    _deployment_stub(stub)
    stub.add_response("list_provisioned_model_throughputs", {"provisionedModelSummaries": []})
    stub.add_response("list_tags_for_resource", tags(NOVA_RUN), {"resourceARN": DEPLOYMENT_ARN})
    stub.add_response(
        "delete_custom_model_deployment", {}, {"customModelDeploymentIdentifier": DEPLOYMENT_ARN}
    )

    with stub, clients_with(bedrock=client, stepfunctions=RecordingStepFunctions()):
        result = run_cli(capsys, "cancel", NOVA_RUN, "--yes")
        stub.assert_no_pending_responses()

    assert result.code == 0, result.err
    assert f"delete on-demand deployment {DEPLOYMENT_ARN} (billed per token, no hourly charge)" in result.out
    assert f"deleted on-demand deployment {DEPLOYMENT_ARN}" in result.out


def test_approve_answers_as_the_approver_role_named_after_the_caller(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)
    url = ApprovalFunctionUrl()
    request_id = json.loads(
        boto3.client("s3", region_name=REGION)
        .get_object(Bucket=BUCKET, Key=f"runs/{RUN_ID}/approval-request.json")["Body"]
        .read()
    )["requestId"]

    with clients_with(**{"approval-url": url}):
        result = run_cli(capsys, "approve", RUN_ID, "--yes", "--reason", "ok")

    assert result.code == 0, result.err
    caller = boto3.client("sts", region_name=REGION).get_caller_identity()["Arn"]
    person = caller.rsplit("/", 1)[-1]
    role = APPROVER_ROLE_ARN.rsplit("/", 1)[-1]
    # Signed as the approver role, in a session named after the caller (= its source identity).
    (call,) = url.calls
    assert call["caller"] == f"arn:aws:sts::123456789012:assumed-role/{role}/{person}"
    assert call["payload"] == {
        "runId": RUN_ID,
        "requestId": request_id,
        "decision": "approve",
        "reason": "ok",
    }
    # The approver of record is that session name: a person AWS named, not a typed name.
    assert f"(by {person})" in result.out


def test_an_answer_the_run_no_longer_waits_for_is_invalid_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, plan: dict[str, Any]
) -> None:
    _waiting(plan, monkeypatch)

    from pipeline.operate.approvals import UrlCaller, UrlResponse

    class Gone(UrlCaller):
        def send(self, request: Any) -> Any:
            return UrlResponse(409, {"error": f"run {RUN_ID} no longer waits for this answer (TaskTimedOut)"})

    with clients_with(**{"approval-url": Gone(REGION)}):
        result = run_cli(capsys, "reject", RUN_ID, "--reason", "late")

    assert result.code == EXIT_INVALID
    assert "can no longer be answered" in result.err and "TaskTimedOut" in result.err
    assert f"bedrock-customize status {RUN_ID}" in result.err
