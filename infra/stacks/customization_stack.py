"""The deployable unit: one per configured environment."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aspects, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import LOG_RETENTION, EnvironmentConfig
from infra.constructs.approvals import Approvals
from infra.constructs.bedrock_service_role import BedrockServiceRole
from infra.constructs.customization_workflow import CustomizationWorkflow
from infra.constructs.dashboard import PipelineDashboard
from infra.constructs.deployment_manifest import DeploymentManifest
from infra.constructs.durable_release import DurableRelease
from infra.constructs.evaluation_job_role import EvaluationJobRole
from infra.constructs.grader import BuiltinGrader
from infra.constructs.notifications import Notifications
from infra.constructs.platform_load import LambdaConcurrency
from infra.constructs.serving_slots import ServingSlots
from infra.constructs.stopped_runs import StoppedRunCleanup
from infra.constructs.training_storage import TrainingStorage
from infra.constructs.workflow_functions import WorkflowFunctions
from pipeline.catalog import JUDGES, TEACHERS


class CustomizationStack(Stack):
    """Storage, the Bedrock role, the workflow with its functions and topic, and the manifest."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            config.stack_name,
            description=f"Bedrock model customization pipeline: storage, roles and workflow ({config.name})",
            **kwargs,
        )
        self.config = config
        for key, value in config.tags.items():
            Tags.of(self).add(key, value)
        # Every function of the stack, those added later included, follows the reservation setting.
        Aspects.of(self).add(LambdaConcurrency(config.reserved_concurrency))

        removal = RemovalPolicy.RETAIN if config.removal_policy == "retain" else RemovalPolicy.DESTROY
        self.storage = TrainingStorage(
            self,
            "Storage",
            removal_policy=removal,
            noncurrent_version_expiration=Duration.days(config.noncurrent_version_expiration_days),
        )
        self.bedrock_role = BedrockServiceRole(
            self, "BedrockServiceRole", storage=self.storage, vpc=config.vpc
        )
        # The custom model is encrypted with the project key (customModelKmsKeyId).
        self.bedrock_role.allow_custom_model_encryption(self.storage)
        self.bedrock_role.allow_distillation_teachers(TEACHERS.values())
        retention = logs.RetentionDays[LOG_RETENTION[config.log_retention_days]]
        self.notifications = Notifications(
            self, "Notifications", storage=self.storage, email=config.notification_email
        )
        # Reinforcement fine-tuning: the built-in grader, and exactly the graders Bedrock may invoke.
        self.grader = BuiltinGrader(self, "Grader", log_retention=retention, removal_policy=removal)
        self.bedrock_role.allow_graders(self.grader.alias_arns.values(), config.grader_function_names)
        # The LLM judge's evaluation jobs: their own service role, trusted for evaluation jobs only.
        self.evaluation_job_role = EvaluationJobRole(
            self, "EvaluationJobRole", storage=self.storage, judges=JUDGES.values()
        )
        # Serving slots: one stable endpoint per use case, changed in place by promotions.
        self.slots = ServingSlots(
            self, "ServingSlots", environment=config.name, storage=self.storage, removal_policy=removal
        )
        self.functions = WorkflowFunctions(
            self,
            "Functions",
            storage=self.storage,
            notifications=self.notifications,
            log_retention=retention,
            removal_policy=removal,
            grader=self.grader,
            grader_function_names=config.grader_function_names,
            judge_role=self.evaluation_job_role,
            slots=self.slots,
            environment=config.name,
            slots_require_approval=config.slots_require_approval,
        )
        self.workflow = CustomizationWorkflow(
            self,
            "Workflow",
            storage=self.storage,
            bedrock_role=self.bedrock_role,
            notifications=self.notifications,
            functions=self.functions,
            vpc=config.vpc,
            log_retention=retention,
            removal_policy=removal,
        )
        self.dashboard = PipelineDashboard(
            self,
            "Dashboard",
            state_machine=self.workflow.state_machine,
            failed_alarm=self.workflow.failed_alarm,
        )

        self.stopped_runs = StoppedRunCleanup(
            self,
            "StoppedRuns",
            state_machine=self.workflow.state_machine,
            storage=self.storage,
            notifications=self.notifications,
            log_retention=retention,
            removal_policy=removal,
        )
        # Both cleanups give a run's slot lock back and may never delete a slot's endpoint.
        self.slots.grant_release(self.functions.cleanup)
        self.slots.grant_release(self.stopped_runs.function, by_execution=True)
        # Cleanup that owns what it deletes and never gives up: deletes conditioned on the execution
        # tag, what cannot be deleted yet handed to a retrying release, alarms when anything is lost.
        self.release = DurableRelease(
            self,
            "Release",
            workflow=self.workflow.state_machine,
            notifications=self.notifications,
            environment_name=config.name,
            log_retention=retention,
            removal_policy=removal,
        )
        self.release.allow_release(self.functions.cleanup, "CleanupReleasesOwned")
        self.release.allow_release(self.stopped_runs.function, "StoppedRunReleasesOwned")
        self.slots.deny_deleting_endpoints(self.release.function.role)
        self.release.errors_alarm_of(self.functions.cleanup, "CleanupErrorsAlarm", "the workflow's cleanup")
        self.release.errors_alarm_of(
            self.stopped_runs.function, "StoppedRunErrorsAlarm", "the stopped-run cleanup"
        )
        self.release.dead_letters_alarm(
            self.stopped_runs.dead_letters,
            "StoppedRunDeadLettersAlarm",
            "A run's end (execution-status event)",
        )

        self.approvals = Approvals(
            self,
            "Approvals",
            state_machine=self.workflow.state_machine,
            storage=self.storage,
            request_function=self.functions.approval_request,
            verify_function=self.functions.approval_verify,
            manifest_parameter_name=config.ssm_parameter_name,
            settings=config.approvals,
            log_retention=retention,
            removal_policy=removal,
        )

        self.manifest = DeploymentManifest(
            self,
            "Manifest",
            parameter_name=config.ssm_parameter_name,
            environment=config.name,
            entries={
                "trainingBucket": self.storage.bucket.bucket_name,
                "keyArn": self.storage.key.key_arn,
                "bedrockServiceRoleArn": self.bedrock_role.role_arn,
                "stateMachineArn": self.workflow.state_machine.state_machine_arn,
                "topicArn": self.notifications.topic.topic_arn,
                "approvalUrl": self.approvals.url.url,
                "approverRoleArn": self.approvals.approver_role.role_arn,
                "approverMfa": "true" if config.approvals.require_mfa else "false",
                # `bedrock-customize start` starts runs through it, so every run's starter is on record.
                "startUrl": self.approvals.start_url.url,
                "starterPolicyArn": self.approvals.starter_policy.managed_policy_arn,
                # A run's built-in grader is <this ARN>:<grader name> (an alias per grader).
                "builtinGraderArn": self.grader.function_arn,
                # The LLM judge's evaluation jobs run under it (`compare --judge --judge-role`).
                "evaluationJobRoleArn": self.evaluation_job_role.role_arn,
                # `bedrock-customize slots` shows the promotion holding a slot's lock.
                "slotLockTable": self.slots.lock_table.table_name,
            },
        )
