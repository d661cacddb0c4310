"""Serving slots: their one-writer lock table, their SSM documents, and who may change them.

A slot's document is an SSM String parameter under the deployment manifest's prefix
(``/bedrock-customization/<env>/slots/<name>``, pipeline.slots); applications and the CLI read it.
Only the workflow's slots function writes it, and only that function may change the model behind an
endpoint in place, and only for endpoints tagged as a slot's (``bedrock-customization:slot``).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.training_storage import TrainingStorage
from infra.nag import acknowledge, acknowledge_checkov, finding_value
from pipeline.slots import SLOT_TAG


class ServingSlots(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment: str,
        storage: TrainingStorage,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._storage = storage
        # One item per slot while a promotion holds it (pipeline.slots, lambdas/slots): written only
        # if absent, expired, or already the same run's.
        self.lock_table = dynamodb.Table(
            self,
            "Locks",
            partition_key=dynamodb.Attribute(name="slot", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=removal_policy,
        )
        acknowledge_checkov(
            self.lock_table,
            "CKV_AWS_119",
            "a lock item holds a slot name, a run id and two times, nothing secret: encrypted at rest with "
            "the AWS managed key, so the slots and cleanup functions need no grant on the project key",
        )
        self.parameters_arn = stack.format_arn(
            service="ssm", resource="parameter", resource_name=f"bedrock-customization/{environment}/slots/*"
        )
        self._deployments = stack.format_arn(
            service="bedrock", resource="custom-model-deployment", resource_name="*"
        )
        self._throughputs = stack.format_arn(
            service="bedrock", resource="provisioned-model", resource_name="*"
        )
        self._models = stack.format_arn(service="bedrock", resource="custom-model", resource_name="*")

    def grant_read(self, role: iam.IRole) -> None:
        """Read the slots' documents (the preflight compares the run with the slot as it is)."""
        iam.Grant.add_to_principal(
            grantee=role, actions=["ssm:GetParameter"], resource_arns=[self.parameters_arn]
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{finding_value(self, self.parameters_arn)}]",
            "slot documents are named per slot by the run specs: every slot of this environment",
        )

    def grant_release(self, function: PipelineFunction, *, by_execution: bool = False) -> None:
        """A cleanup ``function`` gives a failed or stopped run's slot lock back (pipeline.slot_lock:
        every delete is conditioned on the holder); ``by_execution``: it finds the lock by the
        execution's ARN (a stopped run has no plan at hand), which needs a scan of the table.

        And it can never delete a slot's endpoint: a first promotion makes the run's own deployment
        or throughput the slot's, so the run's names and tags would otherwise still lead its cleanup
        (or a later run's with the same id) to it. The deny wins over any allow, present or future.
        """
        function.function.add_environment("SLOT_LOCK_TABLE", self.lock_table.table_name)
        actions = ["dynamodb:DeleteItem"]
        if by_execution:
            actions.append("dynamodb:Scan")
        self.lock_table.grant(function.role, *actions)
        self.deny_deleting_endpoints(function.role)

    def deny_deleting_endpoints(self, role: iam.IRole) -> None:
        """``role`` can never delete an endpoint that carries the slot tag (the retrying release
        too: it deletes what a run left, and a run's endpoint may have become a slot's since)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="NeverDeleteAServingSlotsEndpoint",
                effect=iam.Effect.DENY,
                actions=["bedrock:DeleteCustomModelDeployment", "bedrock:DeleteProvisionedModelThroughput"],
                resources=[self._deployments, self._throughputs],
                conditions={"Null": {f"aws:ResourceTag/{SLOT_TAG}": "false"}},
            )
        )

    def grant_change(self, role: iam.IRole) -> None:
        """Everything the slots function does: the lock, the documents, the in-place model change."""
        # The lock's own calls (pipeline.slot_lock), no more: no stream, no scan, no batch.
        self.lock_table.grant(role, "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem")
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["ssm:GetParameter", "ssm:PutParameter"],
            resource_arns=[self.parameters_arn],
        )
        # The endpoint may be changed only when it carries the slot tag (a slot's endpoint); the
        # custom model it changes to is authorized apart (a statement with the tag condition on it
        # would never match: the run's custom model carries no slot tag). One statement per action:
        # each has its own resource types.
        for action, endpoints in (
            ("bedrock:UpdateCustomModelDeployment", self._deployments),
            ("bedrock:UpdateProvisionedModelThroughput", self._throughputs),
        ):
            iam.Grant.add_to_principal(
                grantee=role,
                actions=[action],
                resource_arns=[endpoints],
                conditions={"StringLike": {f"aws:ResourceTag/{SLOT_TAG}": "*"}},
            )
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:UpdateCustomModelDeployment", "bedrock:UpdateProvisionedModelThroughput"],
            resource_arns=[self._models],
        )
        for action, endpoints in (
            ("bedrock:GetCustomModelDeployment", self._deployments),
            ("bedrock:GetProvisionedModelThroughput", self._throughputs),
        ):
            iam.Grant.add_to_principal(grantee=role, actions=[action], resource_arns=[endpoints])
        # A first promotion tags the run's own endpoint as the slot's; only that tag key.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:TagResource"],
            resource_arns=[self._deployments, self._throughputs],
            conditions={"ForAllValues:StringEquals": {"aws:TagKeys": [SLOT_TAG]}},
        )
        # Serving a custom model encrypted with the project key goes through Bedrock, which uses the
        # key on the caller's behalf (which of these it needs is UNCONFIRMED; all via Bedrock only).
        self._storage.grant_key_via(
            role,
            "bedrock",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "kms:DescribeKey",
            "kms:CreateGrant",
            sid="ChangeTheSlotsModelThroughBedrock",
        )
        for arn, why in (
            (self.parameters_arn, "slot documents are named per slot by the run specs"),
            (self._deployments, "a slot's deployment is created by the run that first promotes into it"),
            (self._throughputs, "a slot's throughput is bought by the run that first promotes into it"),
            (self._models, "the custom model promoted is created per run, its id generated by Bedrock"),
        ):
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{finding_value(self, arn)}]", why)
