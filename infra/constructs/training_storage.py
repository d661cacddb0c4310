"""Encrypted, versioned, access-logged storage for datasets, job output, reports and run records."""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge, acknowledge_checkov

# Prefix conventions every other part of the pipeline relies on (documented in README.md).
DATASETS_PREFIX: Final = "datasets/"
OUTPUTS_PREFIX: Final = "outputs/"
REPORTS_PREFIX: Final = "reports/"
RUNS_PREFIX: Final = "runs/"
# Pending approvals' task tokens: written by the approval request, read by the answer function only.
APPROVALS_PREFIX: Final = "approvals/"


class TrainingStorage(Construct):
    """A customer-managed KMS key and the training bucket it protects, plus its access-log bucket.

    - The key rotates yearly; the training bucket uses SSE-KMS with it (bucket keys on, to keep KMS
      request costs flat when Bedrock reads large datasets).
    - The key is retained in every environment, whatever the buckets' removal policy: every custom
      model the pipeline creates is encrypted with it (``customModelKmsKeyId``), and a deleted key
      makes those models unusable for good. Delete it deliberately (README: "Deploy, use, destroy").
    - Both buckets block all public access, refuse plain HTTP and keep versions; the training bucket
      logs every request to the log bucket.
    - Lifecycle rules expire noncurrent versions and abort incomplete multipart uploads, so retried
      uploads of multi-GB datasets do not keep billing.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        removal_policy: RemovalPolicy,
        noncurrent_version_expiration: Duration,
    ) -> None:
        super().__init__(scope, construct_id)

        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts training data, job output, run records and custom models of the "
            "Bedrock customization pipeline",
            enable_key_rotation=True,
            # Not the environment's policy: custom models outlive the stack and need this key.
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access logging can only deliver to SSE-S3 buckets, not SSE-KMS.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(365),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        acknowledge(
            self.log_bucket,
            "AwsSolutions-S1",
            "This is the access-log destination itself; logging it into itself would loop.",
        )
        acknowledge_checkov(
            self.log_bucket,
            "CKV_AWS_18",
            "This is the access-log destination itself; logging it into itself would loop.",
        )

        self.bucket = s3.Bucket(
            self,
            "TrainingBucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.log_bucket,
            server_access_logs_prefix="training-bucket/",
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=noncurrent_version_expiration,
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
        )

    def prefix_arn(self, prefix: str) -> str:
        """ARN pattern of every object under one of the prefix conventions."""
        return self.bucket.arn_for_objects(f"{prefix}*")

    def grant_key_via_s3(self, grantee: iam.IGrantable, *actions: str, sid: str | None = None) -> None:
        """Let ``grantee`` use the key for S3 requests only (``kms:ViaService``), never directly."""
        self.grant_key_via(grantee, "s3", *actions, sid=sid)

    def grant_read(self, grantee: iam.IGrantable, prefix: str) -> None:
        """Read objects (any version) under one prefix.

        Not ``Bucket.grant_read``: that grants the key without ``kms:ViaService`` and every
        ``s3:List*``/``GetBucket*`` action on the bucket.
        """
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resource_arns=[self.prefix_arn(prefix)],
        )
        self.grant_key_via_s3(grantee, "kms:Decrypt")

    def grant_write(self, grantee: iam.IGrantable, prefix: str) -> None:
        """Write objects under one prefix (SSE-KMS needs a data key per object)."""
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:PutObject"], resource_arns=[self.prefix_arn(prefix)]
        )
        self.grant_key_via_s3(grantee, "kms:GenerateDataKey")

    def grant_list(self, grantee: iam.IGrantable, prefix: str) -> None:
        """List keys under one prefix only."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[self.bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        )

    def grant_key_via(
        self, grantee: iam.IGrantable, service: str, *actions: str, sid: str | None = None
    ) -> None:
        """Let ``grantee`` use the key only through ``service`` in this region (``kms:ViaService``).

        Everything this key protects (objects, custom models, messages) is reached through a
        service; nobody needs to call KMS with it directly.
        """
        stack_region = self.key.stack.region
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid=sid,
                actions=list(actions),
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"{service}.{stack_region}.amazonaws.com"}},
            )
        )
