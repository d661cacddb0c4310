"""The Step Functions workflow that drives one customization run, safe with money.

Preflight -> train (native ``.sync`` wait) -> loss gate -> evaluation (workflow_evaluation: the
vehicle, the comparison with the base model, the vehicle released at once unless it is exactly what
serves, the quality gate and the LLM judge's) -> serving (workflow_serving: each purchase behind a
runtime guard that re-reads the verdicts) -> record and notify (workflow_outcomes). Every failure,
whatever its source, takes one path: release what the run bought (never a commitment), record the
run, notify, fail with the reason.

This module composes the steps, builds the state machine and grants it what its own states call.
The data each state reads and writes is described in docs/workflow-contract.md.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.config import VpcSettings
from infra.constructs import bedrock_tasks
from infra.constructs.bedrock_service_role import BedrockServiceRole
from infra.constructs.notifications import Notifications, executions_ended_badly
from infra.constructs.training_storage import TrainingStorage
from infra.constructs.workflow_evaluation import evaluation_states
from infra.constructs.workflow_functions import WorkflowFunctions
from infra.constructs.workflow_outcomes import failure_path, success_path
from infra.constructs.workflow_serving import serving_states
from infra.constructs.workflow_states import EXECUTION_IDENTITY, EXECUTION_NAME, PLAN, StateKit
from infra.nag import acknowledge, finding_value, resource_ref
from pipeline.plan import PROMOTION_VARIANT, RUN_SLOTS
from pipeline.workflow_names import USE_EARLIER_MODEL

# Every slot of RUN_SLOTS (pipeline.plan) must exist as JSON null from the first state: a failure
# before (say) the purchase still hands "$.throughput" to the cleanup, and a missing path is a
# States.Runtime error that would skip cleanup, record and notice. CDK drops a Python None from
# Parameters and Result, so the null comes from an intrinsic function instead.
NULL_KEY: Final = ".$"
NULL: Final = "States.StringToJson('null')"
JOBS: Final = (
    ("WITH_VALIDATION", "Train the custom model (with validation data)"),
    ("WITHOUT_VALIDATION", "Train the custom model"),
    ("DISTILLATION", "Distill the teacher model into the custom model"),
    ("REINFORCEMENT_FINE_TUNING", "Train the custom model with reinforcement (grader)"),
)


class CustomizationWorkflow(Construct):
    """A STANDARD state machine (billed per transition; the training wait costs none)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: TrainingStorage,
        bedrock_role: BedrockServiceRole,
        notifications: Notifications,
        functions: WorkflowFunctions,
        vpc: VpcSettings | None,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stack = Stack.of(self)
        self._functions = functions
        self._kit = StateKit(self, functions)
        self._notifications = notifications

        # Built from the end: each step is handed the state it continues to.
        self._kit.catch_all = failure_path(self._kit, notifications.topic)
        record = success_path(self._kit, notifications.topic)
        how_served = serving_states(self._kit, record=record)
        how_evaluated = evaluation_states(self._kit, how_served=how_served)
        which_job = self._training(how_evaluated, storage=storage, bedrock_role=bedrock_role, vpc=vpc)
        definition = self._preflight(which_job)

        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            comment="Bedrock model customization: preflight, train, gate, approve, buy, evaluate, record",
            # Longest path: training (<= 14 days) + approval (<= 7 days) + throughput wait.
            timeout=Duration.days(30),
            tracing_enabled=True,
            # Without execution data: states' inputs and outputs (an approval's task token among them)
            # stay out of CloudWatch Logs; the execution history keeps them behind IAM.
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        self._grant_state_machine(storage=storage, bedrock_role=bedrock_role)
        self.failed_alarm = self._failed_runs_alarm()

    # -- the steps before evaluation ------------------------------------------------------------

    def _preflight(self, which_job: sfn.IChainable) -> sfn.Chain:
        """Every slot exists from the start; the run spec and datasets are checked before any job."""
        start = sfn.Pass(
            self,
            "Start the run",
            comment="Every slot a later state or the failure path reads exists from the start",
            parameters={
                "runSpec": sfn.JsonPath.object_at("$.runSpec"),
                "preflight": {"valid": False, f"plan{NULL_KEY}": NULL},
                **{f"{slot}{NULL_KEY}": NULL for slot in RUN_SLOTS},
            },
        )
        preflight = self._kit.lambda_task(
            "Check the run spec and datasets",
            "preflight",
            {
                "runSpec": sfn.JsonPath.object_at("$.runSpec"),
                "executionName": sfn.JsonPath.string_at(EXECUTION_NAME),
                # Everything the run creates is tagged with its execution (pipeline.ownership).
                **EXECUTION_IDENTITY,
                # The whole input, from the context object (always there, unlike an optional key):
                # a promotion names its earlier run in it (pipeline.promotion).
                "input": sfn.JsonPath.object_at("$$.Execution.Input"),
            },
            result_path="$.preflight",
        )
        preflight_failed = self._kit.gate_failure(
            "Preflight failed", "PreflightFailed", "$.preflight.summary"
        )
        return start.next(preflight).next(
            sfn.Choice(self, "Is the run spec valid?")
            .when(sfn.Condition.boolean_equals("$.preflight.valid", True), which_job)
            .otherwise(preflight_failed)
        )

    def _training(
        self,
        how_evaluated: sfn.IChainable,
        *,
        storage: TrainingStorage,
        bedrock_role: BedrockServiceRole,
        vpc: VpcSettings | None,
    ) -> sfn.Choice:
        """The customization job of the plan's variant, then the loss gate (free) before evaluation."""
        jobs = {
            variant: bedrock_tasks.customization_job(
                self._kit, name, variant, storage=storage, bedrock_role=bedrock_role, vpc=vpc
            )
            for variant, name in JOBS
        }
        self.job_states = jobs
        read_loss = self._kit.lambda_task(
            "Read training and validation loss",
            "evaluate_loss",
            {
                "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
                "plan": sfn.JsonPath.object_at(PLAN),
                "job": sfn.JsonPath.object_at("$.job"),
            },
            result_path="$.loss",
        )
        loss_failed = self._kit.gate_failure("Loss above the bar", "LossAboveBar", "$.loss.summary")
        loss_gate = (
            sfn.Choice(self, "Is the loss within the bar?")
            .when(sfn.Condition.boolean_equals("$.loss.passed", True), how_evaluated)
            .otherwise(loss_failed)
        )
        for job in jobs.values():
            job.next(read_loss)
        read_loss.next(loss_gate)
        variant = f"{PLAN}.jobVariant"
        # A promotion serves an earlier run's model: no job; the loss gate reads that run's job again
        # against this spec's bar, and the evaluation compares the model with today's champion.
        earlier = sfn.Pass(
            self,
            USE_EARLIER_MODEL,
            comment="A promotion (pipeline.promotion): the plan's job is the earlier run's; nothing trains",
            result_path=sfn.JsonPath.DISCARD,
        )
        earlier.next(read_loss)
        return (
            sfn.Choice(self, "Which kind of customization job?")
            .when(sfn.Condition.string_equals(variant, PROMOTION_VARIANT), earlier)
            .when(sfn.Condition.string_equals(variant, "DISTILLATION"), jobs["DISTILLATION"])
            .when(
                sfn.Condition.string_equals(variant, "REINFORCEMENT_FINE_TUNING"),
                jobs["REINFORCEMENT_FINE_TUNING"],
            )
            .when(sfn.Condition.string_equals(variant, "WITH_VALIDATION"), jobs["WITH_VALIDATION"])
            .otherwise(jobs["WITHOUT_VALIDATION"])
        )

    # -- the state machine's own alarm and permissions -------------------------------------------

    def _failed_runs_alarm(self) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            "FailedRunsAlarm",
            alarm_description="A customization run failed, timed out or was stopped: "
            "see the notification and the run record",
            metric=executions_ended_badly(self.state_machine),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self._notifications.topic))
        return alarm

    def _arn(self, resource: str) -> str:
        return bedrock_tasks.bedrock_arn(self, resource)

    def _grant_state_machine(self, *, storage: TrainingStorage, bedrock_role: BedrockServiceRole) -> None:
        role = self.state_machine.role
        bedrock_role.grant_pass_role(role)
        # CreateModelCustomizationJob is authorized on the base model [Service Authorization
        # Reference: foundation-model, custom-model], chosen per run: any foundation model of this
        # region, or a custom model of this account (customizing a customized model).
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:CreateModelCustomizationJob"],
            resource_arns=[
                self._stack.format_arn(
                    service="bedrock", account="", resource="foundation-model", resource_name="*"
                ),
                self._arn("custom-model/*"),
            ],
        )
        # The job's tags and the output model's tags ride along: TagResource on what is created.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:TagResource"],
            resource_arns=[self._arn("model-customization-job/*"), self._arn("custom-model/*")],
        )
        # What .sync needs to watch the job, and to stop it when the execution is stopped.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"],
            resource_arns=[self._arn("model-customization-job/*")],
        )
        # Tags ride along on the purchase (cost allocation, cleanup, sweep). The deployment is created,
        # and tagged, by the deploy function.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:TagResource"],
            resource_arns=[self._arn("provisioned-model/*")],
        )
        # The custom model is encrypted with the project key: creating it and buying throughput
        # for it go through Bedrock, which needs these on the key (UNCONFIRMED which of them the
        # caller needs in addition to the service role; all stay behind kms:ViaService=bedrock).
        storage.grant_key_via(
            role,
            "bedrock",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "kms:DescribeKey",
            "kms:CreateGrant",
            sid="UseCustomModelKeyThroughBedrock",
        )
        self._notifications.grant_publish(role)
        findings = {
            self._stack.format_arn(
                service="bedrock", account="", resource="foundation-model", resource_name="*"
            ): "the base model is chosen per run (validated against the catalog), any foundation model "
            "of this region can be one",
            bedrock_tasks.bedrock_arn(
                self, "custom-model/*"
            ): "custom model ids are generated by Bedrock per run",
            bedrock_tasks.bedrock_arn(
                self, "model-customization-job/*"
            ): "job ids are generated by Bedrock per run",
            bedrock_tasks.bedrock_arn(
                self, "provisioned-model/*"
            ): "provisioned-model ids are generated by Bedrock per purchase",
        }
        for arn, reason in findings.items():
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{finding_value(self, arn)}]", reason)
        for handler in self._functions.all:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{resource_ref(handler.function)}:*]",
                "LambdaInvoke grants the function's versions and aliases too (function ARN + ':*')",
            )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing (xray:PutTraceSegments, ...) and Step Functions log delivery "
            "(logs:CreateLogDelivery, ..., as CDK renders them) support no resource-level permissions",
        )
