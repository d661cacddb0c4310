"""status, list, approve, reject, cancel and watch against a workflow that moto executes."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import boto3
import pytest

from pipeline.operate import runs
from pipeline.operate.errors import EXIT_INVALID, EXIT_OK, EXIT_OPERATIONAL
from tests.operate.helpers import (
    BUCKET,
    MODEL_ARN,
    PT_ARN,
    REGION,
    STATE_MACHINE_ARN,
    answer_approval_request,
    bedrock_client,
    clients_with,
    deploy,
    execution_status,
    express_spec,
    plan_for,
    pt_summary,
    run_cli,
    tags,
    wait_for,
    workflow,
)
from tests.stubs import PartialStubber

pytestmark = pytest.mark.usefixtures("moto")

RUN_ID = "support-express-0a1b2c3d4e"
PT_OPERATIONS = (
    "GetProvisionedModelThroughput",
    "ListProvisionedModelThroughputs",
    "ListTagsForResource",
    "DeleteProvisionedModelThroughput",
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


def _start(plan: dict[str, Any], run_id: str = RUN_ID) -> None:
    boto3.client("stepfunctions", region_name=REGION).start_execution(
        stateMachineArn=STATE_MACHINE_ARN,
        name=run_id,
        input=json.dumps({"runSpec": express_spec().to_dict()}),
    )


def _waiting(plan: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Deploy the workflow double, start the run and let it reach the approval gate."""
    deploy(definition=workflow(plan))
    _start(plan)
    answer_approval_request(plan, monkeypatch)


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
    assert doc["currentState"] == "Ask for approval"
    assert doc["stage"] == "waiting for approval"
    assert doc["waitingForApproval"] is True
    assert doc["customModelArn"] == MODEL_ARN
    assert doc["loss"]["validationLoss"] == 1.11
    assert doc["approvalRequest"]["purchase"]["modelUnits"] == 1
    assert "taskToken" not in doc["approvalRequest"]  # the token is a credential: never printed
    # Training has run (a job exists): its estimate counts; nothing else is billed yet.
    assert doc["costSoFar"]["usd"] == plan["estimate"]["trainingUsd"] > 0
    assert doc["next"][0] == f"bedrock-customize approve {RUN_ID}"

    text = run_cli(capsys, "status", RUN_ID).out
    assert "RUNNING: waiting for approval" in text
    assert "expires" in text and "(no answer = rejected)" in text
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
    assert f"Run {RUN_ID} asks to buy Provisioned Throughput" in result.out
    assert (
        "Approving buys 1 model unit(s) for z9y8x7w6v5u4: $20.50/hour, $14,965.00/month, "
        "no commitment: billed hourly until deleted. Answer before "
    ) in result.out
    assert f"run {RUN_ID} approved" in result.out
    wait_for(lambda: execution_status(RUN_ID) == "SUCCEEDED", what="the run to finish")
    sfn = boto3.client("stepfunctions", region_name=REGION)
    output = json.loads(
        sfn.describe_execution(
            executionArn=STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + f":{RUN_ID}"
        )["output"]
    )
    identity = boto3.client("sts", region_name=REGION).get_caller_identity()["Arn"]
    assert output["approval"] == {"approved": True, "approver": identity, "reason": "quality ok"}
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
    assert status["approval"]["approved"] is False
    assert status["approval"]["reason"] == "too expensive"
    assert status["failure"]["Error"] == "ApprovalRejected"
    assert status["throughputArn"] is None
    assert status["stage"] == "failed"


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

    training = plan["estimate"]["trainingUsd"]
    assert doc["throughput"]["hourlyUsd"] == 20.5
    assert doc["costSoFar"]["usd"] == pytest.approx(training + 20.5 * 10, abs=0.05)
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
    assert RUN_ID in table.out and "k3v9q2x7m1ab InService" in table.out
    assert other in table.out and "RUNNING" in table.out
    assert [run["runId"] for run in doc] == [RUN_ID]
    assert doc[0]["baseModel"] == "amazon.titan-text-express-v1:0:8k"
    assert doc[0]["costSoFar"]["usd"] == pytest.approx(plan["estimate"]["trainingUsd"] + 41.0, abs=0.05)


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
    assert f"delete provisioned throughput {PT_ARN} ($20.50/hour)" in result.out
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


def test_watch_prints_a_line_per_change_and_returns_the_end_state() -> None:
    views = iter(
        [
            _view("RUNNING", "Check the run spec and datasets", minutes=0),
            _view("RUNNING", "Train the custom model", minutes=1),
            _view("RUNNING", "Train the custom model", minutes=2),
            _view("RUNNING", "Ask for approval", minutes=3),
            _view("SUCCEEDED", "Run complete", minutes=4),
        ]
    )
    sleeps: list[float] = []
    stream = io.StringIO()

    final = runs.watch(lambda: next(views), interval=7, sleep=sleeps.append, stream=stream, live=False)

    lines = stream.getvalue().splitlines()
    assert [line.split("] ", 1)[1].split(" | ")[0] for line in lines] == [
        "running: preflight",
        "running: training",
        "running: waiting for approval",
        "succeeded: done",
    ]
    assert "bedrock-customize approve" in lines[2]
    assert sleeps == [7, 7, 7, 7]
    assert final.outcome_exit_code() == EXIT_OK


def test_watch_on_a_terminal_rewrites_one_line() -> None:
    views = iter(
        [_view("RUNNING", "Train the custom model", minutes=5), _view("FAILED", "Run failed", minutes=9)]
    )
    stream = io.StringIO()

    runs.watch(lambda: next(views), interval=1, sleep=lambda _: None, stream=stream, live=True)

    text = stream.getvalue()
    assert text.startswith("\r[5m 00s] running: training")
    assert "\r[9m 00s] failed: failed" in text
    assert text.endswith("\n") and text.count("\n") == 1


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
