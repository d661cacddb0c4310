"""`start` through the stack's start URL: the run starts, and its starter is on record as STS names them."""

from __future__ import annotations

import contextlib
import io
import json
import os
from typing import Any, Final

import boto3
import pytest

from lambdas.common import runtime
from pipeline import approval_records
from pipeline.operate.approvals import UrlCaller, UrlResponse
from pipeline.operate.errors import EXIT_OPERATIONAL
from tests.operate.helpers import (
    ACCOUNT,
    BUCKET,
    ENV,
    EXAMPLES,
    MANIFEST,
    REGION,
    STATE_MACHINE_ARN,
    clients_with,
    deploy,
    run_cli,
)

pytestmark = pytest.mark.usefixtures("moto")

START_URL: Final = "https://s9t8a7r6t5u4r3l2i1d0e9x8a7m6p5l4.lambda-url.us-east-1.on.aws/"
DISTILLATION = EXAMPLES / "runs" / "distillation.yaml"


class StartFunctionUrl(UrlCaller):
    """The start function behind its IAM-authenticated URL, in-process (lambdas/run_start), the caller
    being whoever moto's STS says the signing key is."""

    def __init__(self, status: int | None = None) -> None:
        super().__init__(REGION)
        self.status = status
        self.calls: list[dict[str, Any]] = []

    def send(self, request: Any) -> UrlResponse:
        from lambdas.run_start import handler
        from pipeline.simulation.function_urls import caller_arn, signed_for, url_event

        body = json.loads(request.data)
        self.calls.append({"url": request.url, "body": body})
        if self.status is not None:
            return UrlResponse(self.status, {"error": "refused by the test"})
        signed = signed_for(str(request.headers["Authorization"]))
        assert signed is not None and signed[2] == "lambda"
        event = url_event(
            method="POST",
            path="/",
            query="",
            headers={},
            body=request.data.decode(),
            caller=caller_arn(signed[0], REGION, ACCOUNT),
            access_key=signed[0],
            account=ACCOUNT,
        )
        settings = {"TRAINING_BUCKET": BUCKET, "STATE_MACHINE_ARN": STATE_MACHINE_ARN}
        saved = {name: os.environ.get(name) for name in settings}
        os.environ.update(settings)
        runtime.reset_clients()
        try:
            # The function's log lines are its CloudWatch logs, not the CLI's output.
            with contextlib.redirect_stdout(io.StringIO()):
                response = handler.lambda_handler(event, None)
        finally:
            runtime.reset_clients()
            for name, value in saved.items():
                os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        return UrlResponse(int(response["statusCode"]), json.loads(response["body"]))


def deploy_with_start_url() -> None:
    deploy()
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=f"/bedrock-customization/{ENV}/deployment",
        Type="String",
        Value=json.dumps({**MANIFEST, "startUrl": START_URL}),
        Overwrite=True,
    )


def test_start_goes_through_the_start_url_which_records_the_starter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    deploy_with_start_url()
    url = StartFunctionUrl()

    with clients_with(**{"approval-url": url}):
        result = run_cli(capsys, "start", str(DISTILLATION), "--yes", "--json")

    assert result.code == 0, result.err
    doc = result.json()
    (call,) = url.calls
    assert call["url"] == START_URL and call["body"]["runId"] == doc["runId"]
    assert "runSpec" in json.loads(call["body"]["input"]) and "proof" in call["body"]
    execution = boto3.client("stepfunctions", region_name=REGION).describe_execution(
        executionArn=doc["executionArn"]
    )
    assert execution["input"] == call["body"]["input"]
    record = json.loads(
        boto3.client("s3", region_name=REGION)
        .get_object(Bucket=BUCKET, Key=approval_records.starter_key(doc["runId"]))["Body"]
        .read()
    )
    me = boto3.client("sts", region_name=REGION).get_caller_identity()["Arn"]
    assert record["executionArn"] == doc["executionArn"] and record["starter"]["arn"] == me


def test_a_caller_the_start_url_refuses_is_told_what_to_ask_for(capsys: pytest.CaptureFixture[str]) -> None:
    deploy_with_start_url()

    with clients_with(**{"approval-url": StartFunctionUrl(status=403)}):
        result = run_cli(capsys, "start", str(DISTILLATION), "--yes")

    assert result.code == EXIT_OPERATIONAL
    assert "the start URL refused your identity" in result.err and "starterPolicyArn" in result.err
    executions = boto3.client("stepfunctions", region_name=REGION).list_executions(
        stateMachineArn=STATE_MACHINE_ARN
    )
    assert executions["executions"] == []
