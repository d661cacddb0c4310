"""Cleanup for runs whose execution ends outside the workflow's own failure path.

A ``Catch`` does not run when an execution is stopped (ABORTED), hits the state machine's timeout
(TIMED_OUT) or fails with ``States.Runtime``; Step Functions' guide points to the "Step Functions
Execution Status Change" EventBridge event for that. This rule sends those events for this state
machine to a function that releases what the run created (by the names derived from its run id),
stops its job, records and notifies (lambdas/run_ended). Events that cannot be handled after
EventBridge's and Lambda's retries land in an encrypted dead-letter queue, whose alarm goes off at
the first message: a run's end that nobody cleaned up.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.notifications import Notifications
from infra.constructs.pipeline_function import PipelineFunction
from infra.constructs.training_storage import RUNS_PREFIX, TrainingStorage
from infra.nag import acknowledge, acknowledge_checkov, resource_ref

ENDED_STATUSES = ("ABORTED", "TIMED_OUT", "FAILED")


class StoppedRunCleanup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        storage: TrainingStorage,
        notifications: Notifications,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge_checkov(
            self.dead_letters,
            "CKV_AWS_27",
            "encrypted at rest with SQS-managed keys (SqsManagedSseEnabled); a customer key would need "
            "grants for EventBridge and Lambda on a queue that holds only execution-status events",
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "this queue is itself the dead-letter queue of the stopped-run cleanup function",
        )
        self.function = PipelineFunction(
            self,
            "Handler",
            handler="run_ended",
            description="Releases what a stopped, timed-out or broken run left behind and notifies",
            # Two short retries of a refused deletion; the rest goes to the retrying release.
            timeout=Duration.minutes(2),
            log_retention=log_retention,
            removal_policy=removal_policy,
            environment={
                "TRAINING_BUCKET": storage.bucket.bucket_name,
                "TOPIC_ARN": notifications.topic.topic_arn,
            },
            dead_letter_queue=self.dead_letters,
        )
        role = self.function.role
        # Its Bedrock rights (reads, and deletes conditioned on the execution tag) and the hand-over
        # to the retrying release come from infra/constructs/durable_release.py, wired by the stack.
        storage.grant_write(role, RUNS_PREFIX)
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{resource_ref(storage.bucket)}/{RUNS_PREFIX}*]",
            "each run writes its reports under runs/<run id>/, a key known only at run time",
        )
        notifications.grant_publish(role)

        self.rule = events.Rule(
            self,
            "ExecutionEnded",
            description="Runs that end without the workflow's own cleanup: stopped, timed out, failed",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [state_machine.state_machine_arn], "status": list(ENDED_STATUSES)},
            ),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.function.function,
                dead_letter_queue=self.dead_letters,
                retry_attempts=8,
                max_event_age=Duration.hours(6),
            )
        )
