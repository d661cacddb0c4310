"""run_start: a run is started for the caller STS names, and that caller is its starter of record."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.credentials import Credentials

from lambdas.common import runtime
from lambdas.run_start.handler import lambda_handler
from pipeline import approval_records
from tests.handlers import identities
from tests.handlers.helpers import read_json
from tests.handlers.plans import BUCKET, REGION, RUN_ID

pytestmark = pytest.mark.usefixtures("aws")

INPUT = json.dumps({"runSpec": {"name": "support-bot-v1", "baseModel": "amazon.nova-micro-v1:0:128k"}})


@pytest.fixture
def machine(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    role = identities.role("StatesRole")["arn"]
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    arn = str(
        boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name="Workflow", definition=json.dumps(definition), roleArn=role
        )["stateMachineArn"]
    )
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    return arn


def start(credentials: Credentials | None, text: str = INPUT, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    body = {"runId": RUN_ID, "input": text}
    event = identities.url_event(
        body, credentials, approval_records.start_binding(BUCKET, RUN_ID, text), **kwargs
    )
    response = lambda_handler(event, identities.LambdaContext())
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.usefixtures("machine")
def test_the_run_starts_and_its_starter_is_the_caller_sts_names() -> None:
    bo = identities.user("bo")

    status, result = start(bo)

    assert status == 200, result
    assert result["started"] is True and result["executionArn"].endswith(f":{RUN_ID}")
    described = runtime.client("stepfunctions").describe_execution(executionArn=result["executionArn"])
    assert described["input"] == INPUT  # passed on unchanged
    record = read_json(approval_records.starter_key(RUN_ID))
    assert record["executionArn"] == result["executionArn"]
    assert record["starter"]["person"] == "bo" and record["starter"]["kind"] == "user"
    assert record["starter"]["bound"] is True
    # The record names this very execution (a later execution of the same name is another run).
    starter = approval_records.starter_of(
        record, execution_arn=result["executionArn"], execution_start=described["startDate"].isoformat()
    )
    assert starter is not None and starter.name == "bo"


@pytest.mark.usefixtures("machine")
def test_starting_the_same_run_again_keeps_its_first_starter() -> None:
    start(identities.user("bo"))

    status, result = start(identities.user("cy"))

    # StartExecution with the same name and input is the same execution: nothing new started.
    assert status == 200 and result["started"] is False
    assert result["starter"]["person"] == "bo"
    assert read_json(approval_records.starter_key(RUN_ID))["starter"]["person"] == "bo"


@pytest.mark.usefixtures("machine")
def test_the_same_run_id_with_another_input_is_a_conflict() -> None:
    start(identities.user("bo"))
    other = json.dumps({"runSpec": {"name": "support-bot-v1", "baseModel": "other"}})

    status, result = start(identities.user("cy"), other)

    assert status == 409 and "ExecutionAlreadyExists" in result["error"]
    assert read_json(approval_records.starter_key(RUN_ID))["starter"]["person"] == "bo"


@pytest.mark.usefixtures("machine")
def test_a_proof_for_another_input_starts_nothing(machine: str) -> None:
    bo = identities.user("bo")
    body = {"runId": RUN_ID, "input": INPUT}
    elsewhere = approval_records.start_binding(BUCKET, RUN_ID, json.dumps({"runSpec": {}}))
    event = identities.url_event(body, bo, elsewhere)

    response = lambda_handler(event, identities.LambdaContext())

    assert (
        response["statusCode"] == 403 and "made for another request" in json.loads(response["body"])["error"]
    )
    executions = runtime.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert executions == []


@pytest.mark.usefixtures("machine")
def test_a_hand_built_event_without_a_proof_starts_nothing() -> None:
    status, result = start(None, caller="arn:aws:iam::123456789012:user/bo")

    assert status == 403 and "proof" in result["error"]


@pytest.mark.usefixtures("machine")
@pytest.mark.parametrize(
    ("text", "fragment"),
    [("not json", "input is not JSON"), ('{"spec": {}}', 'with a "runSpec" object')],
)
def test_a_malformed_input_is_refused(text: str, fragment: str) -> None:
    status, result = start(identities.user("bo"), text)

    assert status == 400 and fragment in result["error"]
