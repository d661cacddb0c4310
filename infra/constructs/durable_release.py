"""The retrying release: a small state machine that deletes what a run left billing, until it is gone.

The cleanup (the workflow's failure path, the release of the evaluation vehicle) and the stopped-run
cleanup delete what they can at once and hand the rest over (pipeline.durable_release): a
throughput still Creating, which Bedrock refuses to delete for tens of minutes, and after an abort
or a timeout the whole run, so that what a create call still in flight brings into being is found.
This state machine calls the release function once per attempt, waits as it says (doubling, capped),
and ends when everything is gone, or fails at the deadline (24 h by the schedule; the state
machine's own timeout bounds even a release whose attempts all fail). A state machine rather than
EventBridge Scheduler re-invocations: its every path is checked in the template and runs in the
simulation (moto's interpreter), like the workflow's.

Who may delete what: the delete and stop rights of every function that releases (cleanup, the
stopped-run cleanup, the release) carry an ``aws:ResourceTag`` condition: the resource's
``bedrock-customization:execution-arn`` tag must name an execution of *this stack's* workflow. The
Service Authorization Reference lists ``aws:ResourceTag/${TagKey}`` for each of
DeleteProvisionedModelThroughput, DeleteCustomModelDeployment, StopModelCustomizationJob and
StopEvaluationJob (tests/infra/test_durable_release.py checks it against the reference data). Which
execution exactly (ARN and start) IAM cannot know: the handlers check it from the tags before each
call (pipeline.ownership). Those statements sit in a policy of their own, apart from each role's
default policy: they name the workflow, whose definition names the cleanup function, which must not
wait for them (a dependency cycle).

Alarms, on the notification topic: the release function's and the cleanup function's errors, a
release that failed or timed out, and anything still billing an hour after its release began
(``ResourcesStillBilling``, emitted by every attempt).
"""

from __future__ import annotations

from typing import Final

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.constructs.notifications import Notifications, executions_ended_badly
from infra.constructs.pipeline_function import PipelineFunction, service_name
from infra.constructs.workflow_states import StateKit
from infra.nag import acknowledge, finding_value, resource_ref
from lambdas.common import metric_names
from lambdas.common.release import ENVIRONMENT, RELEASE_STATE_MACHINE
from pipeline import durable_release
from pipeline.plan import EXECUTION_ARN_TAG
from pipeline.workflow_names import (
    RELEASE_ATTEMPT,
    RELEASE_DEADLINE_PASSED,
    RELEASE_DECIDE,
    RELEASE_DONE,
    RELEASE_EXPIRED,
    RELEASE_WAIT,
    RELEASE_WAIT_AFTER_ERROR,
)

ROLE_METADATA: Final = durable_release.ROLE_METADATA
ROLE_RELEASE: Final = durable_release.ROLE_RELEASE
# What the release may delete or stop, each on its resource type, only with the execution tag.
OWNED_ACTIONS: Final = (
    ("bedrock:DeleteProvisionedModelThroughput", "provisioned-model"),
    ("bedrock:DeleteCustomModelDeployment", "custom-model-deployment"),
    ("bedrock:StopModelCustomizationJob", "model-customization-job"),
    ("bedrock:StopEvaluationJob", "evaluation-job"),
)
# What it reads: ownership (tags) of everything it may touch, a throughput's commitment, a job's state.
READ_ACTIONS: Final = (
    ("bedrock:ListTagsForResource", "provisioned-model"),
    ("bedrock:ListTagsForResource", "custom-model-deployment"),
    ("bedrock:ListTagsForResource", "model-customization-job"),
    ("bedrock:ListTagsForResource", "evaluation-job"),
    ("bedrock:GetProvisionedModelThroughput", "provisioned-model"),
    ("bedrock:GetModelCustomizationJob", "model-customization-job"),
)
# List actions have no resource-level permissions in Bedrock: "*" is the only valid resource.
LIST_ACTIONS: Final = (
    "bedrock:ListProvisionedModelThroughputs",
    "bedrock:ListCustomModelDeployments",
    "bedrock:ListEvaluationJobs",
)
# Still billing for this long after a release began: alarm (a throughput leaves Creating in tens of
# minutes; every attempt emits the metric, at most MAX_WAIT_S apart, so each period has a point).
STILL_BILLING_PERIOD: Final = Duration.minutes(15)
STILL_BILLING_PERIODS: Final = 4


def owned_condition(workflow: sfn.StateMachine) -> dict[str, dict[str, str]]:
    """``aws:ResourceTag/<execution-arn tag>`` must be an execution ARN of ``workflow``."""
    stack = Stack.of(workflow)
    executions = stack.format_arn(
        service="states",
        resource="execution",
        resource_name=f"{workflow.state_machine_name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return {"StringLike": {f"aws:ResourceTag/{EXECUTION_ARN_TAG}": executions}}


class DurableRelease(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workflow: sfn.StateMachine,
        notifications: Notifications,
        environment_name: str,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self._workflow = workflow
        self._environment_name = environment_name
        self._notifications = notifications
        self._released: list[PipelineFunction] = []
        self.function = PipelineFunction(
            self,
            "Handler",
            handler="release",
            description="One attempt of the retrying release: deletes what a run left billing, if it "
            "created it",
            # Two short retries of a refused deletion per resource, a few calls each.
            timeout=Duration.minutes(2),
            log_retention=log_retention,
            removal_policy=removal_policy,
            environment={"TOPIC_ARN": notifications.topic.topic_arn, ENVIRONMENT: environment_name},
        )
        notifications.grant_publish(self.function.role)
        self.state_machine = self._state_machine(log_retention, removal_policy)
        self.allow_release(self.function, "ReleaseOwned", hand_over=False)
        self.still_billing_alarm = self._alarm(
            "StillBillingAlarm",
            "Something a run created is still billing an hour after its release began: see the run's "
            "notices for each ARN and the command that deletes it",
            cloudwatch.Metric(
                namespace=metric_names.NAMESPACE,
                metric_name=metric_names.STILL_BILLING,
                dimensions_map={metric_names.SERVICE: service_name(self)},
                statistic="Maximum",
                period=STILL_BILLING_PERIOD,
            ),
            periods=STILL_BILLING_PERIODS,
        )
        self.failed_alarm = self._alarm(
            "ReleaseFailedAlarm",
            "A retrying release failed, timed out or was stopped: what the run left may still bill "
            "(see the notice, or the release execution's history)",
            executions_ended_badly(self.state_machine),
        )
        self.errors_alarm = self.errors_alarm_of(self.function, "ReleaseErrorsAlarm", "the retrying release")

    # -- wiring ----------------------------------------------------------------------------------

    def allow_release(self, function: PipelineFunction, policy_id: str, *, hand_over: bool = True) -> None:
        """Let ``function`` release what this stack's runs created (and hand the rest over)."""
        role = function.role
        stack = Stack.of(self)

        def arn(kind: str) -> str:
            return stack.format_arn(service="bedrock", resource=kind, resource_name="*")

        owned = iam.Policy(
            self,
            policy_id,
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid=action.split(":")[1],
                    actions=[action],
                    resources=[arn(kind)],
                    conditions=owned_condition(self._workflow),
                )
                for action, kind in OWNED_ACTIONS
            ],
        )
        for action, kind in READ_ACTIONS:
            iam.Grant.add_to_principal(grantee=role, actions=[action], resource_arns=[arn(kind)])
        iam.Grant.add_to_principal(grantee=role, actions=list(LIST_ACTIONS), resource_arns=["*"])
        reasons = {
            "provisioned-model": "throughput is bought per run, its id is generated by Bedrock",
            "custom-model-deployment": "deployments are created per run, their ids are generated by Bedrock",
            "model-customization-job": "customization jobs are named per run",
            "evaluation-job": "judge evaluation jobs are created per run, their ids are generated by Bedrock",
        }
        for kind, reason in reasons.items():
            for holder in (role, owned):
                acknowledge(holder, f"AwsSolutions-IAM5[Resource::{finding_value(self, arn(kind))}]", reason)
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "bedrock:ListProvisionedModelThroughputs, ListCustomModelDeployments and ListEvaluationJobs "
            "support no resource-level permissions (a release lists to find what a run created by its "
            "names); X-Ray tracing neither",
        )
        function.function.add_environment(ENVIRONMENT, self._environment_name)
        if hand_over:
            self.state_machine.grant_start_execution(role)
            # Whether this execution's release is running already (pipeline.durable_release.hand_over).
            releases = stack.format_arn(
                service="states",
                resource="execution",
                resource_name=f"{self.state_machine.state_machine_name}:*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            iam.Grant.add_to_principal(
                grantee=role, actions=["states:DescribeExecution"], resource_arns=[releases]
            )
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{finding_value(self, releases)}]",
                "a release execution is named per run execution (pipeline.durable_release.execution_name); "
                "only the release state machine's executions",
            )
            function.function.add_environment(RELEASE_STATE_MACHINE, self.state_machine.state_machine_arn)
        self._released.append(function)

    def errors_alarm_of(self, function: PipelineFunction, alarm_id: str, what: str) -> cloudwatch.Alarm:
        """An alarm on the function's errors: a release that fails is never silent."""
        return self._alarm(
            alarm_id,
            f"The function of {what} failed: what a run created may still bill (see its logs)",
            function.function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
        )

    def dead_letters_alarm(self, queue: sqs.IQueue, alarm_id: str, what: str) -> cloudwatch.Alarm:
        """An alarm at the first message in a dead-letter queue: an event nobody could handle."""
        return self._alarm(
            alarm_id,
            f"{what} could not be handled after every retry and sits in the dead-letter queue: a run "
            "ended and what it created may still bill (see the message and the function's logs)",
            queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
        )

    # -- building blocks -------------------------------------------------------------------------

    def _state_machine(
        self, log_retention: logs.RetentionDays, removal_policy: RemovalPolicy
    ) -> sfn.StateMachine:
        fn: lambda_.IFunction = self.function.function
        attempt = tasks.LambdaInvoke(
            self,
            RELEASE_ATTEMPT,
            lambda_function=fn,
            payload=sfn.TaskInput.from_object(
                {
                    "request": sfn.JsonPath.object_at("$.request"),
                    "previous": sfn.JsonPath.object_at("$.attempt"),
                }
            ),
            result_path="$.attempt",
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        StateKit.retry_handler(attempt)
        after_error = sfn.Wait(
            self,
            RELEASE_WAIT_AFTER_ERROR,
            comment="An attempt failed after its retries (the function's error alarm has gone off): try "
            "again; the state machine's timeout bounds this",
            time=sfn.WaitTime.duration(Duration.seconds(durable_release.FAILED_ATTEMPT_WAIT_S)),
        )
        attempt.add_catch(after_error, errors=["States.ALL"], result_path="$.lastError")
        after_error.next(attempt)
        wait = sfn.Wait(
            self,
            RELEASE_WAIT,
            comment="As long as the last attempt says (doubling, at most MAX_WAIT_S)",
            time=sfn.WaitTime.seconds_path("$.attempt.waitSeconds"),
        )
        wait.next(attempt)
        decide = (
            sfn.Choice(self, RELEASE_DECIDE)
            .when(sfn.Condition.boolean_equals("$.attempt.done", True), sfn.Succeed(self, RELEASE_DONE))
            .when(
                sfn.Condition.boolean_equals("$.attempt.expired", True),
                sfn.Fail(
                    self,
                    RELEASE_EXPIRED,
                    error=RELEASE_DEADLINE_PASSED,
                    cause="What the run created is still there at the release's deadline and may bill: "
                    "the notice names each resource and the command that deletes it",
                ),
            )
            .otherwise(wait)
        )
        attempt.next(decide)
        log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(attempt),
            comment="Retrying release: deletes what a run left billing, until it is gone or the deadline",
            timeout=Duration.seconds(int(durable_release.STATE_MACHINE_TIMEOUT.total_seconds())),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        cfn = machine.node.default_child
        assert isinstance(cfn, sfn.CfnStateMachine)
        cfn.add_metadata(ROLE_METADATA, ROLE_RELEASE)
        acknowledge(
            machine.role,
            f"AwsSolutions-IAM5[Resource::{resource_ref(self.function.function)}:*]",
            "LambdaInvoke grants the function's versions and aliases too (function ARN + ':*')",
        )
        acknowledge(
            machine.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing (xray:PutTraceSegments, ...) and Step Functions log delivery "
            "(logs:CreateLogDelivery, ..., as CDK renders them) support no resource-level permissions",
        )
        return machine

    def _alarm(
        self, alarm_id: str, description: str, metric: cloudwatch.IMetric, *, periods: int = 1
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            alarm_id,
            alarm_description=description,
            metric=metric,
            threshold=1,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self._notifications.topic))
        return alarm
