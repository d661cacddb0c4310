"""The IAM role Amazon Bedrock assumes to run this pipeline's LLM-judge evaluation jobs."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.bedrock_service_role import BEDROCK_SERVICE, grant_pass_to_bedrock
from infra.constructs.training_storage import RUNS_PREFIX, TrainingStorage
from infra.nag import acknowledge, finding_value, resource_ref
from pipeline.catalog import Judge

# Where a run's judge datasets and results live: runs/<run id>/judge/ (pipeline.plan._judge).
JUDGE_KEYS = f"{RUNS_PREFIX}*/judge/*"


class EvaluationJobRole(Construct):
    """Least-privilege service role for the judge's model evaluation jobs [UG:judge-service-roles].

    Trusted only by ``bedrock.amazonaws.com`` acting for an evaluation job of this account and
    region (``aws:SourceAccount``, ``aws:SourceArn``). What the guide lists, each action on the
    resource types the Service Authorization Reference gives it (tests/infra/test_iam_contract.py):

    - read and write objects under ``runs/<run id>/judge/`` (the precomputed-response datasets and
      the job's results), ``s3:GetBucketLocation``, ``s3:ListBucket`` and
      ``s3:ListBucketMultipartUploads`` on the bucket [UG:judge-service-roles];
    - the storage key through S3 only: ``kms:Decrypt``, ``kms:GenerateDataKey``,
      ``kms:DescribeKey`` [UG:model-evaluation-security-data];
    - invoke the catalog's judge models, directly or through a cross-Region inference profile of
      this account; the guide also lists ``CreateModelInvocationJob``/``StopModelInvocationJob`` (the
      job may batch the judge's calls): created for the judge models (foundation-model) as
      model-invocation-job resources of this account and region, stopped by job (the only resource
      type ``StopModelInvocationJob`` accepts).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: TrainingStorage,
        judges: Iterable[Judge],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.evaluation_job_arns = stack.format_arn(
            service="bedrock", resource="evaluation-job", resource_name="*"
        )
        self.role = iam.Role(
            self,
            "Role",
            description="Assumed by Amazon Bedrock to run the LLM-judge evaluation jobs of this pipeline",
            assumed_by=iam.ServicePrincipal(
                BEDROCK_SERVICE,
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": self.evaluation_job_arns},
                },
            ),
        )
        bucket = storage.bucket
        judge_objects = bucket.arn_for_objects(JUDGE_KEYS)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadDatasetsAndWriteResultsOfTheJudge",
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[judge_objects],
            )
        )
        # No s3:prefix condition: s3:ListBucketMultipartUploads does not support that key (a statement
        # conditioned on it never matches), and which prefix (if any) the job lists is not documented:
        # a list the job is refused fails the run after its training was paid for. Listing shows key
        # names only; reading stays limited to runs/*/judge/*.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ListTheBucketForTheJudge",
                actions=["s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[bucket.bucket_arn],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="LocateTheBucket", actions=["s3:GetBucketLocation"], resources=[bucket.bucket_arn]
            )
        )
        storage.grant_key_via_s3(
            self.role,
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "kms:DescribeKey",
            sid="UseDataKeyThroughS3Only",
        )

        # The judge: any listed judge model, by its foundation-model ARN (a cross-Region inference
        # profile routes to the same model in the other regions of its geography), or a system-defined
        # profile of it in this account and region.
        model_ids = [judge.model_id for judge in judges]
        self.judge_model_arns: list[str] = [
            stack.format_arn(
                service="bedrock", region="*", account="", resource="foundation-model", resource_name=model_id
            )
            for model_id in model_ids
        ]
        profile_arns = [
            stack.format_arn(service="bedrock", resource="inference-profile", resource_name=f"*.{model_id}")
            for model_id in model_ids
        ]
        # Batch jobs the evaluation job may create for the judge's calls: named by Bedrock.
        invocation_jobs = stack.format_arn(
            service="bedrock", resource="model-invocation-job", resource_name="*"
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="InvokeTheJudgeModelsOnly",
                actions=["bedrock:InvokeModel"],
                resources=[*self.judge_model_arns, *profile_arns],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="BatchTheJudgeModelsCallsOnly",
                actions=["bedrock:CreateModelInvocationJob"],
                resources=[*self.judge_model_arns, invocation_jobs],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="StopItsOwnBatchJobs",
                actions=["bedrock:StopModelInvocationJob"],
                resources=[invocation_jobs],
            )
        )
        model_arns = [*self.judge_model_arns, *profile_arns]
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::{resource_ref(bucket)}/{JUDGE_KEYS}]",
            "each run's judge datasets and results live under runs/<run id>/judge/, a key known at run time; "
            "Bedrock names the result files itself (<job name>/<job uuid>/models/...)",
        )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::{finding_value(self, invocation_jobs)}]",
            "batch inference jobs an evaluation job creates for its judge's calls are named by Bedrock",
        )
        for arn in model_arns:
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::{finding_value(self, arn)}]",
                "a judge model of the catalog (a named model); the region is '*' because a cross-Region "
                "inference profile routes to it in other regions, the profile prefix is the geography",
            )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    def grant_pass_role(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to hand this role to Bedrock, and to no other service."""
        return grant_pass_to_bedrock(self.role, grantee)
