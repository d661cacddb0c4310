"""The Lambda functions of the customization workflow, each with exactly the access its handler uses."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.evaluation_job_role import EvaluationJobRole
from infra.constructs.grader import BuiltinGrader
from infra.constructs.notifications import Notifications
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.quota_reading import UNSCOPED_REASON, quota_check_statements
from infra.constructs.serving_slots import ServingSlots
from infra.constructs.training_storage import DATASETS_PREFIX, OUTPUTS_PREFIX, RUNS_PREFIX, TrainingStorage
from infra.nag import acknowledge, finding_value, resource_ref
from pipeline import naming
from pipeline.poll import EVALUATE_TIME_LIMIT_S


class WorkflowFunctions(Construct):
    """Preflight, loss evaluation, approval request, model evaluation, cleanup and run record."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: TrainingStorage,
        notifications: Notifications,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        grader: BuiltinGrader | None = None,
        grader_function_names: Sequence[str] = (),
        judge_role: EvaluationJobRole | None = None,
        slots: ServingSlots | None = None,
        environment: str = "",
        slots_require_approval: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self._storage = storage
        env = {"TRAINING_BUCKET": storage.bucket.bucket_name}

        def make(
            construct_id: str, handler: str, description: str, timeout: Duration, **extra: str
        ) -> PipelineFunction:
            return PipelineFunction(
                self,
                construct_id,
                handler=handler,
                description=description,
                timeout=timeout,
                log_retention=log_retention,
                removal_policy=removal_policy,
                environment={**env, **extra},
                # Validation streams datasets of up to 10 GB: CPU-bound JSON parsing scales
                # with memory (Lambda allocates CPU in proportion).
                memory_size=1769 if handler == "preflight" else 256,
            )

        job_arns = stack.format_arn(service="bedrock", resource="model-customization-job", resource_name="*")
        provisioned_arns = stack.format_arn(
            service="bedrock", resource="provisioned-model", resource_name="*"
        )
        foundation_model_arns = stack.format_arn(
            service="bedrock", account="", resource="foundation-model", resource_name="*"
        )
        deployment_arns = stack.format_arn(
            service="bedrock", resource="custom-model-deployment", resource_name="*"
        )
        evaluation_job_arns = stack.format_arn(
            service="bedrock", resource="evaluation-job", resource_name="*"
        )
        # A system-defined cross-Region inference profile (us.<model>) of this account and region,
        # and the foundation models it routes to in the other regions of its geography.
        profile_arns = stack.format_arn(service="bedrock", resource="inference-profile", resource_name="*")
        routed_model_arns = stack.format_arn(
            service="bedrock", region="*", account="", resource="foundation-model", resource_name="*"
        )

        self.preflight = make(
            "Preflight",
            "preflight",
            "Validates a run spec and its datasets against the base model's rules "
            "before anything is paid for",
            Duration.minutes(15),
            # Reinforcement fine-tuning: the built-in grader (its aliases are <ARN>:<grader>) and the
            # team graders the Bedrock role may invoke; the preflight checks a run's grader against them.
            **({"BUILTIN_GRADER_ARN": grader.function_arn} if grader is not None else {}),
            GRADER_FUNCTION_NAMES=",".join(grader_function_names),
            # Serving slots: the preflight reads the run's slot and plans its promotion.
            **{naming.DEPLOYMENT_ENVIRONMENT_VARIABLE: environment},
            SLOTS_REQUIRE_APPROVAL="true" if slots_require_approval else "false",
        )
        if slots is not None:
            slots.grant_read(self.preflight.role)
        storage.grant_read(self.preflight.role, DATASETS_PREFIX)
        storage.grant_write(self.preflight.role, RUNS_PREFIX)
        # The live check: lifecycle and customization support of the base model and teacher.
        _allow(self.preflight.role, ["bedrock:GetFoundationModel"], [foundation_model_arns])
        # Names the run would create must be free (pipeline.ownership): each is looked up by name.
        custom_model_arns = stack.format_arn(service="bedrock", resource="custom-model", resource_name="*")
        _allow(self.preflight.role, ["bedrock:GetModelCustomizationJob"], [job_arns])
        _allow(self.preflight.role, ["bedrock:GetCustomModel"], [custom_model_arns])
        # A promotion (pipeline.promotion): the earlier run's model and its tags, and that run's
        # evaluation (listing lets a missing one read as NoSuchKey, not AccessDenied).
        _allow(self.preflight.role, ["bedrock:ListTagsForResource"], [custom_model_arns])
        storage.grant_read(self.preflight.role, RUNS_PREFIX)
        storage.grant_list(self.preflight.role, RUNS_PREFIX)
        _allow(self.preflight.role, ["bedrock:GetCustomModelDeployment"], [deployment_arns])
        _allow(self.preflight.role, ["bedrock:GetProvisionedModelThroughput"], [provisioned_arns])
        # The quota check (pipeline.quotas.check): the same reads as the CLI (infra.constructs.quota_reading).
        for statement in quota_check_statements(stack):
            self.preflight.role.add_to_principal_policy(statement)
        acknowledge(
            self.preflight.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) supports no resource-level "
            f"permissions; {UNSCOPED_REASON}",
        )
        # The grader's dry call: the same graders, no others, as the Bedrock service role may invoke.
        grader_arns = list(grader.alias_arns.values()) if grader is not None else []
        for name in grader_function_names:
            function = stack.format_arn(
                service="lambda",
                resource="function",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            grader_arns += [function, f"{function}:*"]
            for arn in (function, f"{function}:*"):
                acknowledge(
                    self.preflight.role,
                    f"AwsSolutions-IAM5[Resource::{finding_value(self, arn)}]",
                    f"the dry call of a team's grader named like {name!r} (cdk.json graderFunctionNames), "
                    "with any version or alias, in this account and region",
                )
        if grader_arns:
            _allow(self.preflight.role, ["lambda:InvokeFunction"], grader_arns)

        self.evaluate_loss = make(
            "EvaluateLoss",
            "evaluate_loss",
            "Reads the job's training and validation loss and checks them against the run's bar",
            Duration.minutes(2),
        )
        _allow(self.evaluate_loss.role, ["bedrock:GetModelCustomizationJob"], [job_arns])
        storage.grant_list(self.evaluate_loss.role, OUTPUTS_PREFIX)
        storage.grant_read(self.evaluate_loss.role, OUTPUTS_PREFIX)
        storage.grant_write(self.evaluate_loss.role, RUNS_PREFIX)

        self.approval_request = make(
            "ApprovalRequest",
            "approval_request",
            "Stores the approval task token and asks for a decision on the notification topic",
            Duration.seconds(30),
            TOPIC_ARN=notifications.topic.topic_arn,
        )
        storage.grant_write(self.approval_request.role, RUNS_PREFIX)
        notifications.grant_publish(self.approval_request.role)
        # Reads the decision of record and the starter record (granted by infra.constructs.approvals).
        self.approval_verify = make(
            "ApprovalVerify",
            "approval_verify",
            "Checks an approval answer against the decision of record before anything is bought",
            Duration.seconds(30),
        )

        self.evaluate_model = make(
            "EvaluateModel",
            "evaluate_model",
            "Compares the custom model with its base model on the run's evaluation prompts, and "
            "smoke-checks what serves it",
            Duration.seconds(EVALUATE_TIME_LIMIT_S),
        )
        # Converse is authorized as bedrock:InvokeModel. The base model (and a distillation teacher
        # answering for the references) is chosen per run: any foundation model, directly or through
        # a cross-Region inference profile (which routes to the same model in other regions); the
        # custom model only through this account's on-demand deployments and provisioned throughput.
        _allow(
            self.evaluate_model.role,
            ["bedrock:InvokeModel"],
            [foundation_model_arns, provisioned_arns, deployment_arns, profile_arns, routed_model_arns],
        )
        storage.grant_read(self.evaluate_model.role, DATASETS_PREFIX)
        # Listing lets S3 answer "no such key" instead of AccessDenied for a missing prompts file.
        storage.grant_list(self.evaluate_model.role, DATASETS_PREFIX)
        storage.grant_write(self.evaluate_model.role, RUNS_PREFIX)
        # Invoking a custom model encrypted with a customer-managed key needs kms:Decrypt.
        storage.grant_key_via(self.evaluate_model.role, "bedrock", "kms:Decrypt")

        self.check_status = make(
            "CheckStatus",
            "check_status",
            "Checks whether an on-demand deployment or a provisioned throughput is ready, "
            "and when to look again",
            Duration.seconds(30),
        )
        _allow(self.check_status.role, ["bedrock:GetCustomModelDeployment"], [deployment_arns])
        _allow(self.check_status.role, ["bedrock:GetProvisionedModelThroughput"], [provisioned_arns])

        self.deploy = make(
            "Deploy",
            "deploy",
            "Creates the run's on-demand custom model deployment (its evaluation vehicle, kept when it "
            "serves) with the plan's name, idempotency token and tags",
            Duration.seconds(30),
        )
        # CreateCustomModelDeployment is authorized on the custom model deployed [Service
        # Authorization Reference]; its tags need TagResource on the new deployment.
        _allow(self.deploy.role, ["bedrock:CreateCustomModelDeployment"], [custom_model_arns])
        _allow(self.deploy.role, ["bedrock:TagResource"], [deployment_arns])
        # The custom model is encrypted with the project key: deploying it goes through Bedrock,
        # which uses the key on the caller's behalf (which of these it needs is UNCONFIRMED; all
        # stay behind kms:ViaService=bedrock, as for the state machine's purchases).
        storage.grant_key_via(
            self.deploy.role,
            "bedrock",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "kms:DescribeKey",
            "kms:CreateGrant",
            sid="DeployTheCustomModelThroughBedrock",
        )
        acknowledge(
            self.deploy.role,
            f"AwsSolutions-IAM5[Resource::{finding_value(self, custom_model_arns)}]",
            "the custom model is created per run, its id is generated by Bedrock",
        )

        self.slots = make(
            "Slots",
            "slots",
            "A serving slot's one writer: takes its lock, changes its model in place, checks, records "
            "the slot, rolls back",
            Duration.seconds(30),
            **({"SLOT_LOCK_TABLE": slots.lock_table.table_name} if slots is not None else {}),
        )
        if slots is not None:
            slots.grant_change(self.slots.role)

        self.cleanup = make(
            "Cleanup",
            "cleanup",
            "Deletes the evaluation deployment or throughput, and on failure every no-commitment "
            "purchase of the run, and stops its job; only what its execution created, never a "
            "commitment; hands what cannot be deleted yet to the retrying release",
            # Two short retries of a refused deletion; the rest goes to the retrying release.
            Duration.minutes(2),
        )
        # Its Bedrock rights (tag-conditioned deletes) come with the retrying release
        # (infra/constructs/durable_release.py), which the stack wires to it.

        # The LLM judge: writes the two datasets, starts and watches one evaluation job per model,
        # reads their results. Evaluation jobs are named per run; the service role it passes is the
        # stack's evaluation-job role, to Bedrock only.
        self.judge = make(
            "Judge",
            "judge",
            "Has an LLM judge score both models' answers (one Bedrock evaluation job per model) and "
            "applies the run's bars per metric",
            Duration.minutes(5),
            **({"JUDGE_ROLE_ARN": judge_role.role_arn} if judge_role is not None else {}),
        )
        # CreateEvaluationJob is authorized on the models the request names [Service Authorization
        # Reference, Amazon Bedrock: custom-model, foundation-model, prompt-router,
        # default-prompt-router]: with precomputed responses, only the judge (evaluator) model, one
        # of the catalog's. Tags on the new job (jobTags) need TagResource on the job itself.
        if judge_role is not None:
            self.judge.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="StartEvaluationJobsWithTheCatalogJudges",
                    actions=["bedrock:CreateEvaluationJob"],
                    resources=judge_role.judge_model_arns,
                )
            )
            for arn in judge_role.judge_model_arns:
                acknowledge(
                    self.judge.role,
                    f"AwsSolutions-IAM5[Resource::{finding_value(self, arn)}]",
                    "a judge model of the catalog (a named model); the region is '*' because a "
                    "cross-Region inference profile routes to it in other regions",
                )
            judge_role.grant_pass_role(self.judge.role)
        _allow(
            self.judge.role,
            ["bedrock:GetEvaluationJob", "bedrock:TagResource"],
            [evaluation_job_arns],
        )
        storage.grant_read(self.judge.role, RUNS_PREFIX)
        storage.grant_list(self.judge.role, RUNS_PREFIX)
        storage.grant_write(self.judge.role, RUNS_PREFIX)
        acknowledge(
            self.judge.role,
            f"AwsSolutions-IAM5[Resource::{finding_value(self, evaluation_job_arns)}]",
            "evaluation jobs are named per run (<run id>-judge-custom|base); Bedrock generates their ids",
        )

        self.record = make(
            "Record",
            "record",
            "Writes the run record (spec, dataset versions and hashes, ARNs, metrics, decisions)",
            Duration.minutes(10),
        )
        storage.grant_read(self.record.role, DATASETS_PREFIX)
        storage.grant_read(self.record.role, RUNS_PREFIX)
        storage.grant_list(self.record.role, DATASETS_PREFIX)
        storage.grant_list(self.record.role, RUNS_PREFIX)
        storage.grant_write(self.record.role, RUNS_PREFIX)

        bucket_ref = resource_ref(storage.bucket)
        reasons = {
            DATASETS_PREFIX: "datasets are uploaded under content-addressed keys chosen per run",
            OUTPUTS_PREFIX: "Bedrock writes job metrics under keys it chooses "
            "(model-customization-job-<id>/...)",
            RUNS_PREFIX: "each run writes its reports under runs/<run id>/, a key known only at run time",
        }
        for fn in self.all:
            for prefix, reason in reasons.items():
                acknowledge(fn.role, f"AwsSolutions-IAM5[Resource::{bucket_ref}/{prefix}*]", reason)
        for arn, what in (
            (job_arns, "customization jobs are named per run"),
            (custom_model_arns, "custom models are named per run, their ids are generated by Bedrock"),
            (provisioned_arns, "throughput is bought per run, its id is generated by Bedrock"),
            (deployment_arns, "deployments are created per run, their ids are generated by Bedrock"),
            (
                evaluation_job_arns,
                "judge evaluation jobs are created per run, their ids are generated by Bedrock",
            ),
            (foundation_model_arns, "the base model is chosen per run from the catalog"),
            (profile_arns, "the base model's inference profile follows from the catalog and the region"),
            (
                routed_model_arns,
                "a cross-Region inference profile routes to the base model in other regions of its geography",
            ),
        ):
            for fn in (
                self.preflight,
                self.evaluate_loss,
                self.evaluate_model,
                self.cleanup,
                self.check_status,
                self.deploy,
            ):
                acknowledge(fn.role, f"AwsSolutions-IAM5[Resource::{finding_value(self, arn)}]", what)

    @property
    def all(self) -> tuple[PipelineFunction, ...]:
        return (
            self.preflight,
            self.evaluate_loss,
            self.approval_request,
            self.approval_verify,
            self.evaluate_model,
            self.check_status,
            self.deploy,
            self.slots,
            self.cleanup,
            self.record,
            self.judge,
        )

    def function(self, name: str) -> lambda_.IFunction:
        return getattr(self, name).function  # type: ignore[no-any-return]


def _allow(role: iam.IRole, actions: list[str], resources: list[str]) -> None:
    iam.Grant.add_to_principal(grantee=role, actions=actions, resource_arns=resources)
