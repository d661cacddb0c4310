"""The IAM role Amazon Bedrock assumes to run this pipeline's model customization jobs."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.training_storage import DATASETS_PREFIX, OUTPUTS_PREFIX, TrainingStorage
from infra.nag import acknowledge, finding_value, resource_ref
from pipeline.catalog import Teacher

BEDROCK_SERVICE = "bedrock.amazonaws.com"


class BedrockServiceRole(Construct):
    """Least-privilege service role for customization jobs.

    Trusted only by ``bedrock.amazonaws.com`` acting for a model-customization job of this account
    and region (confused-deputy protection through ``aws:SourceAccount`` and ``aws:SourceArn``).
    It may read ``datasets/``, write ``outputs/`` and use the storage key through S3; nothing else.
    """

    def __init__(self, scope: Construct, construct_id: str, *, storage: TrainingStorage) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        job_arns = stack.format_arn(service="bedrock", resource="model-customization-job", resource_name="*")

        self.role = iam.Role(
            self,
            "Role",
            description="Assumed by Amazon Bedrock to run model customization jobs of this pipeline",
            assumed_by=iam.ServicePrincipal(
                BEDROCK_SERVICE,
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": job_arns},
                },
            ),
        )
        bucket = storage.bucket
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTrainingAndValidationData",
                actions=["s3:GetObject"],
                resources=[storage.prefix_arn(DATASETS_PREFIX)],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="WriteJobOutput",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[storage.prefix_arn(OUTPUTS_PREFIX)],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListOnlyDatasetAndOutputPrefixes",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{DATASETS_PREFIX}*", f"{OUTPUTS_PREFIX}*"]}},
            )
        )
        storage.grant_key_via_s3(
            self.role, "kms:Decrypt", "kms:GenerateDataKey", sid="UseDataKeyThroughS3Only"
        )
        bucket_ref = resource_ref(bucket)
        for prefix, why in (
            (DATASETS_PREFIX, "Bedrock reads every dataset object the run spec names under datasets/"),
            (OUTPUTS_PREFIX, "Bedrock writes job metrics under outputs/ with key names it chooses itself"),
        ):
            acknowledge(self.role, f"AwsSolutions-IAM5[Resource::{bucket_ref}/{prefix}*]", why)

    def allow_custom_model_encryption(self, storage: TrainingStorage) -> None:
        """Let Bedrock encrypt the custom model with the project key (``customModelKmsKeyId``).

        The four actions are the ones the Bedrock guide lists for the customizing role, and only
        through Bedrock (``kms:ViaService``).
        """
        storage.grant_key_via(
            self.role,
            "bedrock",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "kms:DescribeKey",
            "kms:CreateGrant",
            sid="EncryptCustomModelThroughBedrock",
        )

    def allow_distillation_teachers(self, teachers: Iterable[Teacher]) -> None:
        """Let Bedrock call the catalog's distillation teachers on the job's behalf.

        The guide requires ``bedrock:InvokeModel`` on the inference profile and on the foundation
        model in every region the profile covers when the teacher is used through a cross-Region
        profile; whether an on-demand teacher needs it too is UNCONFIRMED, so both are granted, for
        the catalog's teachers only. Profiles of the ``us`` geography, the only one the catalog's
        teacher regions belong to.
        """
        stack = Stack.of(self)
        resources: list[str] = []
        for teacher in teachers:
            any_region = stack.format_arn(
                service="bedrock",
                region="*",
                account="",
                resource="foundation-model",
                resource_name=teacher.model_id,
            )
            resources.append(any_region)
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::{finding_value(self, any_region)}]",
                "a cross-Region inference profile serves the teacher from any Region it covers, and the "
                "Bedrock guide requires InvokeModel on the foundation model in each of them",
            )
            if teacher.inference_profile:
                resources.append(
                    stack.format_arn(
                        service="bedrock",
                        resource="inference-profile",
                        resource_name=f"us.{teacher.model_id}",
                    )
                )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="InvokeDistillationTeachers", actions=["bedrock:InvokeModel"], resources=resources
            )
        )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    def grant_pass_role(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to hand this role to Bedrock, and to no other service."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["iam:PassRole"],
            resource_arns=[self.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": BEDROCK_SERVICE}},
        )
