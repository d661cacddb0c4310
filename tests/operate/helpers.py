"""Test doubles for the operations commands: a CLI runner, a partial Stubber, a workflow double.

The workflow double is a Step Functions state machine that moto executes: it has the real state
names of infra/constructs/customization_workflow.py along the path a plan takes (evaluation vehicle,
approvals, serving) and produces the real state document (the plan from pipeline.plan, the approval
requests from the approval_request handler, the evaluation priced by pipeline.evaluation), with
Pass states where the deployed workflow would call Bedrock or a handler.
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
from pipeline.operate.approvals import UrlCaller
from pipeline.plan import RUN_SLOTS, PlanContext, build_plan
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
APPROVAL_URL: Final = "https://q7x2m9k4v1b8n3c6z5w0r2t7y4u9i1o3.lambda-url.us-east-1.on.aws/"
APPROVER_ROLE_ARN: Final = f"arn:aws:iam::{ACCOUNT}:role/BedrockCustomization-dev-ApproverRole"
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
    "approvalUrl": APPROVAL_URL,
    "approverRoleArn": APPROVER_ROLE_ARN,
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


class ApprovalFunctionUrl(UrlCaller):
    """The approval-answer function behind its IAM-authenticated URL, in-process: Lambda's part (the
    caller is whoever moto's STS says the signing access key is), then the real handler
    (lambdas/approval_answer), which checks the caller's identity proof against moto's STS. The
    stack's approver role exists in moto; the run double has no starter record, so the handler runs
    as a stack that allows self-approval."""

    def __init__(self) -> None:
        super().__init__(REGION)
        self.calls: list[dict[str, Any]] = []

    def send(self, request: Any) -> Any:
        import os

        from lambdas.approval_answer import handler
        from pipeline.operate.approvals import UrlResponse
        from pipeline.simulation.function_urls import caller_arn, signed_for, url_event

        role_id = approver_role_id()
        signed = signed_for(str(request.headers.get("Authorization", "")))
        assert signed is not None and signed[2] == "lambda", request.headers
        caller = caller_arn(signed[0], REGION, ACCOUNT)
        body = request.data.decode("utf-8")
        payload = {k: v for k, v in json.loads(body).items() if k != "proof"}
        self.calls.append({"url": request.url, "payload": payload, "caller": caller})
        event = url_event(
            method="POST", path="/", query="", headers={}, body=body, caller=caller, access_key=signed[0],
            account=ACCOUNT,
        )  # fmt: skip
        settings = {
            "TRAINING_BUCKET": BUCKET,
            "ALLOW_SELF_APPROVAL": "true",
            "APPROVER_ROLE_ARN": APPROVER_ROLE_ARN,
            "APPROVER_ROLE_ID": role_id,
        }
        previous = {name: os.environ.get(name) for name in settings}
        os.environ.update(settings)
        runtime.reset_clients()
        try:
            response = handler.lambda_handler(event, None)
        finally:
            runtime.reset_clients()
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        return UrlResponse(int(response["statusCode"]), json.loads(response["body"]))


def approver_role_id() -> str:
    """The stack's approver role in moto (created on first use): its role id."""
    iam = boto3.client("iam", region_name=REGION)
    name = APPROVER_ROLE_ARN.rsplit("/", 1)[-1]
    try:
        return str(iam.get_role(RoleName=name)["Role"]["RoleId"])
    except iam.exceptions.NoSuchEntityException:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["RoleId"])


def maker_with(overrides: dict[str, Any]) -> aws.ClientMaker:
    """moto for every AWS service, the given overrides, and the approval URL played in-process."""

    def maker(service: str, region: str) -> Any:
        if service in overrides:
            return overrides[service]
        if service == "approval-url":
            return ApprovalFunctionUrl()
        return boto3.client(service, region_name=region)

    return maker


@contextmanager
def clients_with(**overrides: Any) -> Iterator[None]:
    """Route clients through moto except the services given (e.g. a stubbed bedrock client)."""
    with aws.client_maker(maker_with(overrides)):
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

EVAL_PT_ARN: Final = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/e7v2a9l4q1xz"
DEPLOYMENT_ARN: Final = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/d4p8o2y6m1nq"
NOVA: Final = "amazon.nova-micro-v1:0:128k"
# A day Titan Text Express (the one catalog model with a known Provisioned Throughput price, $20.50
# per MU-hour without commitment) was still offered for customization.
EXPRESS_OFFERED_ON: Final = dt.date(2026, 3, 9)


@contextmanager
def express_offered() -> Iterator[None]:
    """The catalog's lifecycle checks as of a day Titan Text Express could still be customized."""
    from pipeline import catalog

    original = catalog.today_utc
    catalog.today_utc = lambda: EXPRESS_OFFERED_ON
    try:
        yield
    finally:
        catalog.today_utc = original


def _data() -> str:
    return f"s3://{BUCKET}/datasets/{'a' * 64}"


def express_spec(
    *, commitment: str = "none", run_name: str = "support-express", model_units: int = 1
) -> RunSpec:
    """A Titan Text Express run: no on-demand deployment for it, so it is evaluated on one model unit
    of no-commitment throughput; with 1 MU and no commitment that same throughput then serves."""
    with express_offered():
        return RunSpec.from_dict(
            {
                "name": run_name,
                "region": REGION,
                "baseModel": EXPRESS,
                "customizationType": "FINE_TUNING",
                "training": f"{_data()}/train.jsonl",
                "validation": f"{_data()}/validation.jsonl",
                "hyperParameters": {"epochCount": 2},
                "evaluation": {"maxValidationLoss": 2.0, "minImprovementOverBase": 0.0},
                "serving": {"mode": "provisioned", "modelUnits": model_units, "commitment": commitment},
                "approval": {"policy": "always"},
            }
        )


def nova_spec(*, serving: dict[str, Any] | None = None, run_name: str = "support-nova") -> RunSpec:
    """A Nova Micro run: evaluated on an on-demand deployment; by default served on 1 MU bought after
    the quality bar, once a human approves."""
    return RunSpec.from_dict(
        {
            "name": run_name,
            "region": REGION,
            "baseModel": NOVA,
            "customizationType": "FINE_TUNING",
            "training": f"{_data()}/train.jsonl",
            "validation": f"{_data()}/validation.jsonl",
            "hyperParameters": {"epochCount": 2},
            "evaluation": {"maxValidationLoss": 2.0, "minImprovementOverBase": 0.0},
            "serving": serving or {"mode": "provisioned", "modelUnits": 1, "commitment": "none"},
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


def vehicle_arn(plan: dict[str, Any]) -> str:
    """What the double creates to evaluate on: the deployment, the evaluation throughput, or (when
    the evaluation throughput also serves) the serving throughput."""
    vehicle = plan["vehicle"]
    if vehicle["kind"] == "deployment":
        return DEPLOYMENT_ARN
    return PT_ARN if vehicle["servesAfterwards"] else EVAL_PT_ARN


def evaluation_result(plan: dict[str, Any], *, passed: bool = True) -> dict[str, Any]:
    """The evaluate_model handler's result: four prompts answered by both models, priced as the
    workflow prices them (pipeline.evaluation.pricing_for)."""
    from pipeline import evaluation, scoring

    kind = plan["vehicle"]["kind"]
    custom_pricing, base_pricing = evaluation.pricing_for(plan, kind)
    answers = [scoring.Observation(0.8, 0.8, 300.0, 100, 50) for _ in range(4)]
    base_answers = [scoring.Observation(0.4, 0.4, 500.0, 100, 150) for _ in range(4)]
    return {
        "passed": passed,
        "judged": True,
        "verdict": "passed" if passed else "below-bar",
        "vehicle": kind,
        "summary": "Custom model meets the bar (rougeL): custom model quality 0.800 meets the minimum 0.600."
        if passed
        else "Custom model below the bar (rougeL): custom model quality 0.400 is below the minimum 0.600.",
        "resultsUri": f"s3://{BUCKET}/runs/{plan['runId']}/evaluation.json",
        "custom": scoring.aggregate(vehicle_arn(plan), answers, custom_pricing),
        "base": scoring.aggregate(plan["baseModelInvokeId"], base_answers, base_pricing),
    }


def _approval(stage: str, name: str, result_path: str, approved_next: str) -> dict[str, dict[str, Any]]:
    """An approval wait, its Choice and its rejection, named as the real workflow names them.

    The real state invokes the approval_request Lambda with the task token; here the token is parked
    in S3 and tests/operate plays the handler (see answer_approval_request).
    """
    decided = (
        "Was the evaluation purchase approved?" if stage == "evaluation" else "Was the purchase approved?"
    )
    return {
        name: {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:s3:putObject.waitForTaskToken",
            "Parameters": {
                "Bucket": BUCKET,
                "Key.$": f"States.Format('test/{{}}/{stage}/token', $$.Execution.Name)",
                "Body.$": "$$.Task.Token",
            },
            "TimeoutSeconds": 120,
            "ResultPath": result_path,
            "Next": decided,
        },
        decided: {
            "Type": "Choice",
            "Choices": [
                {"Variable": f"{result_path}.approved", "BooleanEquals": True, "Next": approved_next}
            ],
            "Default": f"{name}: rejected",
        },
        f"{name}: rejected": {
            "Type": "Pass",
            "Parameters": {"Error": "ApprovalRejected", "Cause.$": f"{result_path}.reason"},
            "ResultPath": "$.failure",
            "Next": "Release what this run bought",
        },
    }


def workflow(plan: dict[str, Any]) -> dict[str, Any]:
    """The customization workflow along the path the plan takes, with the real state names, Pass
    states for the Bedrock calls and handlers, and real callback waits for the approvals."""
    run_id = plan["runId"]
    vehicle, serving, approval = plan["vehicle"], plan["serving"], plan["approval"]
    kind = vehicle["kind"]
    arn = vehicle_arn(plan)
    states: dict[str, dict[str, Any]] = {
        "Start the run": {
            "Type": "Pass",
            "Parameters": {
                "runSpec.$": "$.runSpec",
                "preflight": {"valid": False, "plan": None},
                **dict.fromkeys(RUN_SLOTS),
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
            "Result": {"JobName": plan["job"]["JobName"], "Status": "Completed", "OutputModelArn": MODEL_ARN},
            "ResultPath": "$.job",
            "Next": "Read training and validation loss",
        },
        "Read training and validation loss": {
            "Type": "Pass",
            "Result": loss_result(),
            "ResultPath": "$.loss",
            "Next": "How is the custom model evaluated?",
        },
    }
    if kind == "deployment":
        create, result = "Deploy the custom model on demand", ("DeploymentFailed", "DeploymentTimeout")
        states["How is the custom model evaluated?"] = {"Type": "Pass", "Next": create}
    else:
        create, result = "Buy throughput to evaluate on", ("ThroughputFailed", "ThroughputTimeout")
        first = "Ask for approval to evaluate" if approval["beforeEvaluation"] else create
        states["How is the custom model evaluated?"] = {"Type": "Pass", "Next": first}
        if approval["beforeEvaluation"]:
            states |= _approval("evaluation", "Ask for approval to evaluate", "$.evaluationApproval", create)
    states[create] = {
        "Type": "Pass",
        "Result": {"Kind": kind, "Arn": arn, "FailedError": result[0], "TimeoutError": result[1]},
        "ResultPath": "$.vehicle",
        "Next": "Check the evaluation vehicle",
    }
    states["Check the evaluation vehicle"] = {
        "Type": "Pass",
        "Result": {
            "status": "Active" if kind == "deployment" else "InService",
            "ready": True,
            "failed": False,
            "timedOut": False,
            "attempt": 2,
            "waitSeconds": 60,
            "failureMessage": None,
        },
        "ResultPath": "$.vehicleStatus",
        "Next": "Compare the custom model with its base model",
    }
    # As the workflow does: the vehicle is released right after the comparison unless it serves.
    states["Compare the custom model with its base model"] = {
        "Type": "Pass",
        "Result": evaluation_result(plan),
        "ResultPath": "$.evaluation",
        "Next": "How is the custom model served?"
        if vehicle["servesAfterwards"]
        else "Release the evaluation vehicle",
    }
    smoke = {
        "passed": True,
        "summary": f"Smoke check passed on {arn}: 3 prompt(s) answered.",
        "modelId": arn,
        "resultsUri": f"s3://{BUCKET}/runs/{run_id}/smoke-check.json",
    }
    release = {
        "Type": "Pass",
        "Result": {
            "mode": "release-evaluation",
            "deleted": [] if kind == "deployment" or vehicle["servesAfterwards"] else [arn],
            "deletedDeployments": [arn] if kind == "deployment" and not vehicle["servesAfterwards"] else [],
            "kept": [],
            "jobStopped": False,
            "summary": "Cleanup: nothing to release."
            if vehicle["servesAfterwards"]
            else f"Cleanup: deleted {'on-demand deployment' if kind == 'deployment' else 'throughput'} "
            f"{arn}.",
        },
        "ResultPath": "$.released",
        "Next": "How is the custom model served?",
    }
    mode = serving["mode"]
    if mode == "provisioned" and serving["reusesEvaluationThroughput"]:
        states["How is the custom model served?"] = {
            "Type": "Pass",
            "Next": "Serve on the evaluation throughput",
        }
        states["Serve on the evaluation throughput"] = {
            "Type": "Pass",
            "Parameters": {"ProvisionedModelArn.$": "$.vehicle.Arn"},
            "ResultPath": "$.throughput",
            "Next": "Smoke-check the provisioned throughput",
        }
        states["Smoke-check the provisioned throughput"] = {
            "Type": "Pass",
            "Result": smoke,
            "ResultPath": "$.smoke",
            "Next": "Record the run",
        }
    elif mode == "provisioned":
        buy = "Buy provisioned throughput (no commitment)"
        first = "Ask for approval to serve" if approval["beforeServing"] else buy
        states["How is the custom model served?"] = {"Type": "Pass", "Next": first}
        if approval["beforeServing"]:
            states |= _approval("serving", "Ask for approval to serve", "$.approval", buy)
        states[buy] = {
            "Type": "Pass",
            "Result": {"ProvisionedModelArn": PT_ARN},
            "ResultPath": "$.throughput",
            "Next": "Smoke-check the provisioned throughput",
        }
        states["Smoke-check the provisioned throughput"] = {
            "Type": "Pass",
            "Result": smoke | {"modelId": PT_ARN},
            "ResultPath": "$.smoke",
            "Next": "Record the run",
        }
    elif mode == "on-demand":
        states["How is the custom model served?"] = {
            "Type": "Pass",
            "Next": "Smoke-check the on-demand deployment",
        }
        states["Smoke-check the on-demand deployment"] = {
            "Type": "Pass",
            "Result": smoke,
            "ResultPath": "$.smoke",
            "Next": "Record the run",
        }
    else:
        states["How is the custom model served?"] = {"Type": "Pass", "Next": "Record the run"}
    states |= {
        "Release the evaluation vehicle": release,
        "Record the run": {
            "Type": "Pass",
            "Result": {"recordUri": f"s3://{BUCKET}/runs/{run_id}/record.json"},
            "ResultPath": "$.recorded",
            "Next": "Run complete",
        },
        "Run complete": {"Type": "Succeed"},
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
    }
    return {"StartAt": "Start the run", "States": states}


def answer_approval_request(
    plan: dict[str, Any], monkeypatch: pytest.MonkeyPatch, *, stage: str = "evaluation"
) -> str:
    """Play the approval_request handler: the real handler, fed the token the execution parked."""
    from lambdas.approval_request import handler

    run_id = plan["runId"]
    s3 = boto3.client("s3", region_name=REGION)

    def token() -> str | None:
        try:
            return str(
                s3.get_object(Bucket=BUCKET, Key=f"test/{run_id}/{stage}/token")["Body"].read().decode()
            )
        except s3.exceptions.NoSuchKey:
            return None

    task_token = wait_for(token, what=f"the execution to reach the {stage} approval wait")
    monkeypatch.setenv("TRAINING_BUCKET", BUCKET)
    monkeypatch.setenv("TOPIC_ARN", TOPIC_ARN)
    runtime.reset_clients()
    execution_arn = STATE_MACHINE_ARN.replace(":stateMachine:", ":execution:") + f":{run_id}"
    started = boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=execution_arn)
    event: dict[str, Any] = {
        "taskToken": task_token,
        "runId": run_id,
        # What the real state passes from the context object ($$.Execution.Id, $$.Execution.StartTime).
        "executionArn": execution_arn,
        "executionStart": started["startDate"].isoformat(),
        "plan": plan,
        "loss": loss_result(),
        "stage": stage,
        "evaluation": evaluation_result(plan) if stage == "serving" else None,
    }
    handler.lambda_handler(event, None)
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
    suffix: str = "-pt",
    commitment: str | None = None,
    expires: dt.datetime | None = None,
    created: dt.datetime,
    status: str = "InService",
    units: int = 1,
    model_arn: str = MODEL_ARN,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "provisionedModelName": f"{run_id or 'other'}{suffix}",
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


def tags(run_id: str | None, commitment: str = "none", purpose: str | None = None) -> dict[str, Any]:
    if run_id is None:
        return {"tags": [{"key": "team", "value": "search"}]}
    found = [
        {"key": "bedrock-customization:run-id", "value": run_id},
        {"key": "bedrock-customization:run-name", "value": run_id.rsplit("-", 1)[0]},
        {"key": "bedrock-customization:commitment", "value": commitment},
    ]
    if purpose is not None:
        found.append({"key": "bedrock-customization:purpose", "value": purpose})
    return {"tags": found}


def deployment_summary(
    *,
    arn: str = DEPLOYMENT_ARN,
    name: str,
    created: dt.datetime,
    status: str = "Active",
    model_arn: str = MODEL_ARN,
) -> dict[str, Any]:
    """GetCustomModelDeployment's answer (list summaries name the deployment customModelDeploymentName)."""
    return {
        "customModelDeploymentArn": arn,
        "modelDeploymentName": name,
        "modelArn": model_arn,
        "createdAt": created,
        "status": status,
        "lastUpdatedAt": created,
    }
