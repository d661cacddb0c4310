"""Test doubles for the operations commands: a CLI runner, a partial Stubber, a workflow double.

The workflow double is a Step Functions state machine that moto executes: it has the real state
names of infra/constructs/customization_workflow.py and produces the real state document (the
plan from pipeline.plan, the approval request from the approval_request handler), with Pass states
where the deployed workflow would call Bedrock.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3
import pytest

from lambdas.common import runtime
from pipeline.operate import aws, commands
from pipeline.plan import PlanContext, build_plan
from pipeline.runspec import RunSpec

ROOT: Final = Path(__file__).resolve().parents[2]
EXAMPLES: Final = ROOT / "examples"
ACCOUNT: Final = "123456789012"
REGION: Final = "us-east-1"
ENV: Final = "dev"
BUCKET: Final = "bedrockcustomization-dev-trainingbucket-test1"
TOPIC_NAME: Final = "BedrockCustomization-dev-Runs"
TOPIC_ARN: Final = f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC_NAME}"
STATE_MACHINE_NAME: Final = "BedrockCustomization-dev-Workflow"
STATE_MACHINE_ARN: Final = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}"
ROLE_ARN: Final = f"arn:aws:iam::{ACCOUNT}:role/StatesRole"
PT_ARN: Final = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/k3v9q2x7m1ab"
MODEL_ARN: Final = (
    f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/amazon.titan-text-express-v1:0:8k/z9y8x7w6v5u4"
)
EXPRESS: Final = "amazon.titan-text-express-v1:0:8k"
EXPRESS_FM_ARN: Final = f"arn:aws:bedrock:{REGION}::foundation-model/{EXPRESS}"
MANIFEST: Final = {
    "version": 1,
    "environment": ENV,
    "stackName": "BedrockCustomization-dev",
    "region": REGION,
    "account": ACCOUNT,
    "trainingBucket": BUCKET,
    "keyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "bedrockServiceRoleArn": f"arn:aws:iam::{ACCOUNT}:role/BedrockCustomization-dev-BedrockRole",
    "stateMachineArn": STATE_MACHINE_ARN,
    "topicArn": TOPIC_ARN,
}


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Result:
    """Run one command through a parser built by ``commands.register`` (as pipeline.cli does)."""
    capsys.readouterr()
    args = commands.build_parser().parse_args(list(argv))
    code = int(args.handler(args))
    out, err = capsys.readouterr()
    return Result(code, out, err)


def wait_for(condition: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def clients_with(**overrides: Any) -> Iterator[None]:
    """Route clients through moto except the services given (e.g. a stubbed bedrock client)."""

    def maker(service: str, region: str) -> Any:
        if service in overrides:
            return overrides[service]
        return boto3.client(service, region_name=region)

    with aws.client_maker(maker):
        yield


def bedrock_client() -> Any:
    return boto3.client("bedrock", region_name=REGION)


def deploy(*, definition: dict[str, Any] | None = None, with_manifest: bool = True) -> None:
    """What the stack creates that the CLI uses: bucket, topic, state machine, SSM manifest."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    boto3.client("sns", region_name=REGION).create_topic(Name=TOPIC_NAME)
    boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name=STATE_MACHINE_NAME, definition=json.dumps(definition or pass_through()), roleArn=ROLE_ARN
    )
    if with_manifest:
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=f"/bedrock-customization/{ENV}/deployment", Type="String", Value=json.dumps(MANIFEST)
        )


def pass_through() -> dict[str, Any]:
    return {"StartAt": "Start the run", "States": {"Start the run": {"Type": "Pass", "End": True}}}


# --------------------------------------------------------------------------------------------------
# A run shaped as the deployed workflow shapes it
# --------------------------------------------------------------------------------------------------


def express_spec(*, commitment: str = "none", run_name: str = "support-express") -> RunSpec:
    """A Titan Text Express run: the one catalog model with a known no-commitment PT price ($20.50)."""
    data = f"s3://{BUCKET}/datasets/{'a' * 64}"
    return RunSpec.from_dict(
        {
            "name": run_name,
            "region": REGION,
            "baseModel": EXPRESS,
            "customizationType": "FINE_TUNING",
            "training": f"{data}/train.jsonl",
            "validation": f"{data}/validation.jsonl",
            "hyperParameters": {"epochCount": 2},
            "evaluation": {"maxValidationLoss": 2.0},
            "throughput": {"modelUnits": 1, "commitment": commitment},
            "approval": {"policy": "always"},
        }
    )


def plan_for(spec: RunSpec, run_id: str, tokens: int = 500_000) -> dict[str, Any]:
    return build_plan(spec, PlanContext(BUCKET, run_id), estimated_tokens=tokens)


def loss_result(passed: bool = True) -> dict[str, Any]:
    return {
        "passed": passed,
        "trainingLoss": 0.82,
        "validationLoss": 1.11,
        "curvesUri": None,
        "summary": "Loss within the bar: validation loss 1.11 is within the bar 2.00.",
        "jobArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/{EXPRESS}/abc123",
        "outputModelArn": MODEL_ARN,
    }


def workflow(plan: dict[str, Any]) -> dict[str, Any]:
    """The customization workflow with Pass states for the Bedrock calls and a real callback wait."""
    run_id = plan["runId"]
    return {
        "StartAt": "Start the run",
        "States": {
            "Start the run": {
                "Type": "Pass",
                "Parameters": {
                    "runSpec.$": "$.runSpec",
                    "preflight": {"valid": False, "plan": None},
                    "job": None,
                    "loss": None,
                    "approval": None,
                    "throughput": None,
                    "evaluation": None,
                    "failure": None,
                    "cleanup": None,
                },
                "Next": "Check the run spec and datasets",
            },
            "Check the run spec and datasets": {
                "Type": "Pass",
                "Result": {"valid": True, "runId": run_id, "summary": "VALID: 2 files", "plan": plan},
                "ResultPath": "$.preflight",
                "Next": "Train the custom model (with validation data)",
            },
            "Train the custom model (with validation data)": {
                "Type": "Pass",
                "Result": {
                    "JobName": plan["job"]["JobName"],
                    "Status": "Completed",
                    "OutputModelArn": MODEL_ARN,
                },
                "ResultPath": "$.job",
                "Next": "Read training and validation loss",
            },
            "Read training and validation loss": {
                "Type": "Pass",
                "Result": loss_result(),
                "ResultPath": "$.loss",
                "Next": "Ask for approval",
            },
            "Ask for approval": {
                # The real state invokes the approval_request Lambda with the task token; here the
                # token is parked in S3 and tests/operate plays the handler (see answer_approval_request).
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:s3:putObject.waitForTaskToken",
                "Parameters": {
                    "Bucket": BUCKET,
                    "Key.$": "States.Format('test/{}/token', $$.Execution.Name)",
                    "Body.$": "$$.Task.Token",
                },
                "TimeoutSeconds": 120,
                "ResultPath": "$.approval",
                "Next": "Was the purchase approved?",
            },
            "Was the purchase approved?": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.approval.approved",
                        "BooleanEquals": True,
                        "Next": "Buy provisioned throughput (no commitment)",
                    }
                ],
                "Default": "Purchase rejected",
            },
            "Buy provisioned throughput (no commitment)": {
                "Type": "Pass",
                "Result": {"ProvisionedModelArn": PT_ARN},
                "ResultPath": "$.throughput",
                "Next": "Run complete",
            },
            "Run complete": {"Type": "Succeed"},
            "Purchase rejected": {
                "Type": "Pass",
                "Parameters": {"Error": "ApprovalRejected", "Cause.$": "$.approval.reason"},
                "ResultPath": "$.failure",
                "Next": "Release what this run bought",
            },
            "Release what this run bought": {
                "Type": "Pass",
                "Result": {
                    "deleted": [],
                    "kept": [],
                    "jobStopped": False,
                    "summary": "Cleanup: nothing to release.",
                },
                "ResultPath": "$.cleanup",
                "Next": "Run failed",
            },
            "Run failed": {"Type": "Fail", "Error": "ApprovalRejected", "Cause": "the purchase was rejected"},
        },
    }


def answer_approval_request(plan: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """Play the approval_request handler: the real handler, fed the token the execution parked."""
    from lambdas.approval_request import handler

    run_id = plan["runId"]
    s3 = boto3.client("s3", region_name=REGION)

    def token() -> str | None:
        try:
            return s3.get_object(Bucket=BUCKET, Key=f"test/{run_id}/token")["Body"].read().decode()
        except s3.exceptions.NoSuchKey:
            return None

    task_token = wait_for(token, what="the execution to reach the approval wait")
    monkeypatch.setenv("TRAINING_BUCKET", BUCKET)
    monkeypatch.setenv("TOPIC_ARN", TOPIC_ARN)
    runtime.reset_clients()
    handler.lambda_handler(
        {"taskToken": task_token, "runId": run_id, "plan": plan, "loss": loss_result()}, None
    )
    runtime.reset_clients()
    return str(task_token)


def execution_status(run_id: str) -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + f":{run_id}"
    return str(sfn.describe_execution(executionArn=arn)["status"])


def pt_summary(
    *,
    arn: str = PT_ARN,
    run_id: str | None = None,
    commitment: str | None = None,
    expires: dt.datetime | None = None,
    created: dt.datetime,
    status: str = "InService",
    units: int = 1,
    model_arn: str = MODEL_ARN,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "provisionedModelName": f"{run_id or 'other'}-pt",
        "provisionedModelArn": arn,
        "modelArn": model_arn,
        "desiredModelArn": model_arn,
        "foundationModelArn": EXPRESS_FM_ARN,
        "modelUnits": units,
        "desiredModelUnits": units,
        "status": status,
        "creationTime": created,
        "lastModifiedTime": created,
    }
    if commitment:
        item["commitmentDuration"] = commitment
        item["commitmentExpirationTime"] = expires
    return item


def tags(run_id: str | None, commitment: str = "none") -> dict[str, Any]:
    if run_id is None:
        return {"tags": [{"key": "team", "value": "search"}]}
    return {
        "tags": [
            {"key": "bedrock-customization:run-id", "value": run_id},
            {"key": "bedrock-customization:run-name", "value": run_id.rsplit("-", 1)[0]},
            {"key": "bedrock-customization:commitment", "value": commitment},
        ]
    }
