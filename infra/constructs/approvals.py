"""Approvals a team can trust: an IAM-authenticated answer path and a role that alone may use it.

- The workflow's approval request stores the task token under ``approvals/`` (never in what a person
  reads); a bucket policy denies reading it to every principal but the answer function.
- The answer function sits behind a Lambda function URL with ``AuthType: AWS_IAM``: Lambda verifies
  the SigV4 signature and the caller's permission, and the function records the verified caller ARN
  as the approver (lambdas/approval_answer).
- The approver role is the one identity granted the URL (new function URLs need both
  ``lambda:InvokeFunctionUrl`` and ``lambda:InvokeFunction`` since October 2025 [Lambda developer
  guide, urls-auth]). People in the account who may assume it can approve; nobody else can.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.training_storage import APPROVALS_PREFIX, RUNS_PREFIX, TrainingStorage
from infra.nag import acknowledge, finding_value, resource_ref


class Approvals(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        storage: TrainingStorage,
        request_function: PipelineFunction,
        manifest_parameter_name: str,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.function = PipelineFunction(
            self,
            "Answer",
            handler="approval_answer",
            description="Answers a pending approval as the IAM-verified caller (function URL, AWS_IAM)",
            timeout=Duration.seconds(30),
            log_retention=log_retention,
            removal_policy=removal_policy,
            environment={"TRAINING_BUCKET": storage.bucket.bucket_name},
        )
        self.url = self.function.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        role = self.function.role
        storage.grant_read(role, APPROVALS_PREFIX)
        iam.Grant.add_to_principal(
            grantee=role, actions=["s3:DeleteObject"], resource_arns=[storage.prefix_arn(APPROVALS_PREFIX)]
        )
        storage.grant_write(role, RUNS_PREFIX)
        # SendTaskSuccess has no resource-level permissions ("*" is the only valid resource); what this
        # function can answer is limited by the tokens it can read: this stack's approvals/ prefix.
        iam.Grant.add_to_principal(grantee=role, actions=["states:SendTaskSuccess"], resource_arns=["*"])
        bucket = resource_ref(storage.bucket)
        for prefix, reason in (
            (APPROVALS_PREFIX, "pending approvals are stored per run under approvals/<run id>.json"),
            (RUNS_PREFIX, "each decision is recorded under runs/<run id>/, a key known only at run time"),
        ):
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{bucket}/{prefix}*]", reason)
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "states:SendTaskSuccess and X-Ray tracing support no resource-level permissions; the tokens "
            "this function can read are this stack's pending approvals only",
        )

        # The request function writes the token; the answer function alone reads it.
        storage.grant_write(request_function.role, APPROVALS_PREFIX)
        acknowledge(
            request_function.role,
            f"AwsSolutions-IAM5[Resource::{bucket}/{APPROVALS_PREFIX}*]",
            "pending approvals are stored per run under approvals/<run id>.json",
        )
        storage.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheApprovalAnswerReadsTaskTokens",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[storage.prefix_arn(APPROVALS_PREFIX)],
                conditions={"ArnNotEquals": {"aws:PrincipalArn": role.role_arn}},
            )
        )

        self.approver_role = iam.Role(
            self,
            "ApproverRole",
            description="Approves or rejects purchases of the Bedrock customization pipeline "
            "(bedrock-customize approve/reject); recorded by its verified ARN",
            # Anyone in this account whose own policy lets them assume it; nobody outside.
            assumed_by=iam.AccountPrincipal(stack.account),
            max_session_duration=Duration.hours(1),
        )
        self.url.grant_invoke_url(self.approver_role)
        self.function.function.grant_invoke(self.approver_role)
        # What `approve` reads before answering: the request, the run's state, the deployment manifest.
        storage.grant_read(self.approver_role, RUNS_PREFIX)
        executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        iam.Grant.add_to_principal(
            grantee=self.approver_role,
            actions=["states:DescribeExecution", "states:GetExecutionHistory"],
            resource_arns=[executions],
        )
        iam.Grant.add_to_principal(
            grantee=self.approver_role,
            actions=["ssm:GetParameter"],
            resource_arns=[
                stack.format_arn(
                    service="ssm", resource="parameter", resource_name=manifest_parameter_name.lstrip("/")
                )
            ],
        )
        acknowledge(
            self.approver_role,
            f"AwsSolutions-IAM5[Resource::{bucket}/{RUNS_PREFIX}*]",
            "approvers read the approval request of the run they answer, under runs/<run id>/",
        )
        acknowledge(
            self.approver_role,
            f"AwsSolutions-IAM5[Resource::{resource_ref(self.function.function)}:*]",
            "grant_invoke covers the function's versions and aliases too (function ARN + ':*')",
        )
        acknowledge(
            self.approver_role,
            f"AwsSolutions-IAM5[Resource::{finding_value(self, executions)}]",
            "executions of the pipeline's state machine are named per run",
        )
