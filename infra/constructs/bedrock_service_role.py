"""The IAM role Amazon Bedrock assumes to run this pipeline's model customization jobs."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import VpcSettings
from infra.constructs.training_storage import DATASETS_PREFIX, OUTPUTS_PREFIX, TrainingStorage
from infra.nag import acknowledge, finding_value, resource_ref
from pipeline.catalog import Teacher

BEDROCK_SERVICE = "bedrock.amazonaws.com"
# Bedrock tags every network interface it creates for a job with these two keys.
BEDROCK_MANAGED_TAG = "BedrockManaged"
BEDROCK_JOB_TAG = "BedrockModelCustomizationJobArn"


class BedrockServiceRole(Construct):
    """Least-privilege service role for customization jobs.

    Trusted only by ``bedrock.amazonaws.com`` acting for a model-customization job of this account
    and region (confused-deputy protection through ``aws:SourceAccount`` and ``aws:SourceArn``).
    It may read ``datasets/``, write ``outputs/`` and use the storage key through S3; nothing else.
    With ``vpc``, it may also manage the network interfaces Bedrock puts in the configured subnets.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: TrainingStorage,
        vpc: VpcSettings | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        job_arns = stack.format_arn(service="bedrock", resource="model-customization-job", resource_name="*")
        self._job_arns = job_arns

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
        if vpc is not None:
            self._allow_vpc(vpc)

    def _allow_vpc(self, vpc: VpcSettings) -> None:
        """What a customization job in a VPC needs: the Bedrock user guide's policy, statement by statement.

        Source: Amazon Bedrock User Guide, "Protect model customization jobs using a VPC", section
        "Attach VPC permissions to a model customization role",
        https://docs.aws.amazon.com/bedrock/latest/userguide/vpc-model-customization.html. Bedrock
        creates one network interface per job in one of the subnets, tagged ``BedrockManaged=true``
        and ``BedrockModelCustomizationJobArn=<job>``; every statement below is tied to those tags,
        to this account's jobs and to the configured subnets and security groups.
        """
        stack = Stack.of(self)

        def ec2_arn(resource: str, name: str) -> str:
            return stack.format_arn(service="ec2", resource=resource, resource_name=name)

        network_interfaces = ec2_arn("network-interface", "*")
        subnets = [ec2_arn("subnet", s) for s in vpc.subnet_ids]
        security_groups = [ec2_arn("security-group", g) for g in vpc.security_group_ids]
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DescribeTheJobNetwork",
                actions=[
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                # EC2 Describe* actions support no resource-level permissions: "*" is the only
                # resource they accept (Service Authorization Reference, Amazon EC2).
                resources=["*"],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="CreateBedrockManagedNetworkInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                # The interface's id is assigned by EC2 at creation: only the request tags Bedrock
                # sets can narrow which interfaces this role may create.
                resources=[network_interfaces],
                conditions={
                    "StringEquals": {f"aws:RequestTag/{BEDROCK_MANAGED_TAG}": "true"},
                    "ArnEquals": {f"aws:RequestTag/{BEDROCK_JOB_TAG}": self._job_arns},
                },
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="CreateNetworkInterfacesInTheConfiguredSubnets",
                actions=["ec2:CreateNetworkInterface"],
                resources=[*subnets, *security_groups],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ManageOnlyBedrockManagedNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                # The guide has "*" here; all three actions authorize on the network-interface
                # resource type only, so this is the same grant, narrowed to this account and region.
                resources=[network_interfaces],
                conditions={
                    "ArnEquals": {
                        "ec2:Subnet": subnets,
                        f"ec2:ResourceTag/{BEDROCK_JOB_TAG}": self._job_arns,
                    },
                    "StringEquals": {f"ec2:ResourceTag/{BEDROCK_MANAGED_TAG}": "true"},
                },
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="TagNetworkInterfacesOnlyWhenCreatingThem",
                actions=["ec2:CreateTags"],
                resources=[network_interfaces],
                conditions={
                    "StringEquals": {"ec2:CreateAction": "CreateNetworkInterface"},
                    "ForAllValues:StringEquals": {"aws:TagKeys": [BEDROCK_MANAGED_TAG, BEDROCK_JOB_TAG]},
                },
            )
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "EC2 Describe* actions (network interfaces, VPCs, DHCP options, subnets, security groups) "
            "support no resource-level permissions; the Bedrock guide grants them on *",
        )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::{finding_value(self, network_interfaces)}]",
            "network interface ids are assigned by EC2 when Bedrock creates them; every statement on "
            "them requires the BedrockManaged and job-ARN tags Bedrock sets",
        )

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

    def allow_graders(self, builtin_graders: Iterable[str], team_function_names: Iterable[str] = ()) -> None:
        """Let Bedrock invoke the reinforcement fine-tuning graders, and no other Lambda function.

        The guide's RFT permission is ``lambda:InvokeFunction`` on the grader function
        [UG:rft-access-security]. ``builtin_graders``: the alias ARNs of the stack's built-in grader,
        granted exactly. ``team_function_names``: the function names (``*`` patterns) a deployment
        configures in cdk.json (``graderFunctionNames``) for teams' own graders, whose ARNs are only
        known per run; granted in this account and region only, unqualified and with any qualifier
        (a version or alias: IAM matches an invocation through ``:alias`` only with a qualified
        resource). Nothing is granted for team graders unless the deployment names them.
        """
        stack = Stack.of(self)
        resources = list(builtin_graders)
        for name in team_function_names:
            function = stack.format_arn(
                service="lambda",
                resource="function",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            resources += [function, f"{function}:*"]
            for arn in (function, f"{function}:*"):
                acknowledge(
                    self.role,
                    f"AwsSolutions-IAM5[Resource::{finding_value(self, arn)}]",
                    "a team's own grader is named per run; this deployment's cdk.json allows graders named "
                    f"{name!r} (graderFunctionNames), in this account and region, with any version or alias",
                )
        if resources:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="InvokeReinforcementFineTuningGraders",
                    actions=["lambda:InvokeFunction"],
                    resources=resources,
                )
            )

    @property
    def role_arn(self) -> str:
        return self.role.role_arn

    def grant_pass_role(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``grantee`` to hand this role to Bedrock, and to no other service."""
        return grant_pass_to_bedrock(self.role, grantee)


def grant_pass_to_bedrock(role: iam.IRole, grantee: iam.IGrantable) -> iam.Grant:
    """``iam:PassRole`` on ``role`` for ``grantee``, only when it is passed to Bedrock."""
    return iam.Grant.add_to_principal(
        grantee=grantee,
        actions=["iam:PassRole"],
        resource_arns=[role.role_arn],
        conditions={"StringEquals": {"iam:PassedToService": BEDROCK_SERVICE}},
    )
