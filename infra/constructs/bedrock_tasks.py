"""The Bedrock tasks of the workflow: the customization job (``.sync``), the on-demand deployment
and the throughput purchases, each idempotent by a token derived from the run.
"""

from __future__ import annotations

from typing import Any, Final

from aws_cdk import Stack
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import VpcSettings
from infra.constructs.bedrock_service_role import BedrockServiceRole
from infra.constructs.training_storage import TrainingStorage
from infra.constructs.workflow_states import EXECUTION_NAME, PLAN, StateKit
from pipeline.retries import JOB_QUOTA_ERROR
from pipeline.workflow_names import (
    DEPLOY_EVALUATION,
    STEP_ERRORS,
    TRAINING_JOB_FAILED,
    TRAINING_QUOTA_EXCEEDED,
    TRAINING_TIMED_OUT,
)

CREATE_JOB_SYNC: Final = "arn:{partition}:states:::bedrock:createModelCustomizationJob.sync"


def bedrock_arn(scope: Construct, resource: str, *, account: str | None = None) -> str:
    """``arn:<partition>:bedrock:<region>:<account>:<kind>/<name>`` of the scope's stack."""
    kind, _, name = resource.partition("/")
    return Stack.of(scope).format_arn(service="bedrock", account=account, resource=kind, resource_name=name)


def customization_job(
    kit: StateKit,
    name: str,
    variant: str,
    *,
    storage: TrainingStorage,
    bedrock_role: BedrockServiceRole,
    vpc: VpcSettings | None,
) -> sfn.CustomState:
    """``createModelCustomizationJob.sync``, written out because aws-cdk-lib's task drops ``.sync``.

    Step Functions waits for the job natively: no polling transitions however long training
    takes, and stopping the execution stops the job.
    """
    job = f"{PLAN}.job"
    parameters: dict[str, Any] = {
        "JobName.$": f"{job}.JobName",
        "CustomModelName.$": f"{job}.CustomModelName",
        "BaseModelIdentifier.$": f"{job}.BaseModelIdentifier",
        "CustomizationType.$": f"{job}.CustomizationType",
        "RoleArn": bedrock_role.role_arn,
        # The execution name is the run id: a retried or re-driven execution asks for the same
        # job, and Bedrock returns it instead of starting a second one.
        "ClientRequestToken.$": EXECUTION_NAME,
        "TrainingDataConfig.$": f"{job}.TrainingDataConfig",
        "OutputDataConfig.$": f"{job}.OutputDataConfig",
        "CustomModelKmsKeyId": storage.key.key_arn,
        "JobTags.$": f"{job}.JobTags",
        "CustomModelTags.$": f"{job}.CustomModelTags",
    }
    # Distillation: the teacher; reinforcement fine-tuning: the grader and its typed hyperparameters
    # (CustomizationConfig.RftConfig [BC]), with no string HyperParameters at all. That the optimized
    # integration passes RftConfig through is UNCONFIRMED (it matches botocore's shape: test_contracts).
    if variant in ("DISTILLATION", "REINFORCEMENT_FINE_TUNING"):
        parameters["CustomizationConfig.$"] = f"{job}.CustomizationConfig"
    else:
        parameters["HyperParameters.$"] = f"{job}.HyperParameters"
    if variant == "WITH_VALIDATION":
        parameters["ValidationDataConfig.$"] = f"{job}.ValidationDataConfig"
    if vpc is not None:
        parameters["VpcConfig"] = {
            "SubnetIds": list(vpc.subnet_ids),
            "SecurityGroupIds": list(vpc.security_group_ids),
        }
    state = sfn.CustomState(
        kit.scope,
        name,
        state_json={
            "Type": "Task",
            "Resource": CREATE_JOB_SYNC.format(partition=Stack.of(kit.scope).partition),
            "Parameters": parameters,
            "TimeoutSecondsPath": f"{PLAN}.jobTimeoutSeconds",
            "ResultPath": "$.job",
        },
    )
    kit.retry_bedrock(state)
    # No training slot free: the run waits in line (pipeline.retries.JOB_QUEUE_SCHEDULE), then gives up
    # under its own name rather than as a failed job.
    kit.retry_job_quota(state)
    # The job's own end (Failed, Stopped) and the plan's timeout, each under the project's name.
    state.add_catch(kit.failed_as(TRAINING_TIMED_OUT), errors=["States.Timeout"], result_path="$.failure")
    state.add_catch(kit.failed_as(TRAINING_QUOTA_EXCEEDED), errors=[JOB_QUOTA_ERROR], result_path="$.failure")
    kit.catch(state, TRAINING_JOB_FAILED)
    return state


def create_deployment(kit: StateKit) -> tasks.LambdaInvoke:
    """CreateCustomModelDeployment: on-demand serving of the custom model, no purchase.

    Through the deploy handler, not a Step Functions SDK integration: the API is from 2025 and its
    SDK integration is UNCONFIRMED (pipeline.deployment). Idempotent by the plan's token; a refusal
    (account, region, model) is the run's DeploymentCreateError on the failure path.
    """
    return kit.lambda_task(
        DEPLOY_EVALUATION,
        "deploy",
        {
            "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
            "plan": sfn.JsonPath.object_at(PLAN),
            "modelArn": sfn.JsonPath.string_at("$.loss.outputModelArn"),
            "mode": "create",
        },
        result_path="$.vehicle",
    )


def buy_throughput(
    kit: StateKit,
    name: str,
    *,
    plan_path: str,
    with_commitment: bool,
    result_selector: dict[str, Any],
    result_path: str,
) -> tasks.CallAwsService:
    parameters: dict[str, Any] = {
        "ModelUnits": sfn.JsonPath.number_at(f"{plan_path}.ModelUnits"),
        "ModelId": sfn.JsonPath.string_at("$.loss.outputModelArn"),
        "ProvisionedModelName": sfn.JsonPath.string_at(f"{plan_path}.ProvisionedModelName"),
        # One purchase per run, however often this state is retried or the run re-driven.
        "ClientRequestToken": sfn.JsonPath.string_at(f"{plan_path}.ClientRequestToken"),
        "Tags": sfn.JsonPath.list_at(f"{plan_path}.Tags"),
    }
    if with_commitment:
        parameters["CommitmentDuration"] = sfn.JsonPath.string_at(f"{plan_path}.CommitmentDuration")
    task = tasks.CallAwsService(
        kit.scope,
        name,
        service="bedrock",
        action="createProvisionedModelThroughput",
        parameters=parameters,
        # Authorized on the model it serves [Service Authorization Reference: custom-model,
        # foundation-model]: only custom models are bought here; tags need TagResource on the
        # provisioned model (granted with the state machine's role).
        iam_resources=[bedrock_arn(kit.scope, "custom-model/*")],
        iam_action="bedrock:CreateProvisionedModelThroughput",
        result_selector=result_selector,
        result_path=result_path,
    )
    kit.retry_bedrock(task)
    kit.catch(task, STEP_ERRORS["buy-evaluation" if result_path == "$.vehicle" else "buy-serving"])
    return task
