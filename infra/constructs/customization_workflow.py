"""The Step Functions workflow that drives one customization run, safe with money.

Preflight -> train (native ``.sync`` wait) -> loss gate -> approval gate -> buy provisioned
throughput -> wait until InService -> compare with the base model -> record and notify. Every
failure, whatever its source, takes one path: release what the run bought (never a commitment),
record the run, notify, fail with the reason.

The data each state reads and writes is described in docs/workflow-contract.md.
"""

from __future__ import annotations

from typing import Any, Final

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import VpcSettings
from infra.constructs.bedrock_service_role import BedrockServiceRole
from infra.constructs.notifications import Notifications
from infra.constructs.training_storage import TrainingStorage
from infra.constructs.workflow_functions import WorkflowFunctions
from infra.nag import acknowledge, finding_value, resource_ref

CREATE_JOB_SYNC: Final = "arn:{partition}:states:::bedrock:createModelCustomizationJob.sync"
PLAN: Final = "$.preflight.plan"
EXECUTION_NAME: Final = "$$.Execution.Name"

# The slots every later state and the failure path read. They must exist as JSON null from the
# first state: a failure before (say) the purchase still hands "$.throughput" to the cleanup, and a
# missing path is a States.Runtime error that would skip cleanup, record and notice. CDK drops a
# Python None from Parameters and Result, so the null comes from an intrinsic function instead.
RUN_SLOTS: Final = ("job", "loss", "approval", "throughput", "evaluation", "failure", "cleanup")
NULL_KEY: Final = ".$"
NULL: Final = "States.StringToJson('null')"

# Errors worth retrying: throttling and transient service faults. Retrying a create call is safe
# because every create carries an idempotency token derived from the run.
BEDROCK_TRANSIENT: Final = (
    "Bedrock.ThrottlingException",
    "Bedrock.InternalServerException",
    "Bedrock.ServiceUnavailableException",
    "Bedrock.TooManyRequestsException",
)
HANDLER_TRANSIENT: Final = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    # A handler lets throttling from the APIs it calls escape, named after the botocore error.
    "ThrottlingException",
    "TooManyRequestsException",
    "ServiceUnavailableException",
    "InternalServerException",
    "SlowDown",
    # Converse on a throughput that has only just come online can briefly refuse.
    "ModelNotReadyException",
    "ModelTimeoutException",
)


class CustomizationWorkflow(Construct):
    """A STANDARD state machine (billed per transition; the training wait costs none)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        storage: TrainingStorage,
        bedrock_role: BedrockServiceRole,
        notifications: Notifications,
        functions: WorkflowFunctions,
        vpc: VpcSettings | None,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stack = Stack.of(self)
        self._functions = functions
        self._notifications = notifications

        failure = self._failure_path()
        self._catch_all = failure

        start = sfn.Pass(
            self,
            "Start the run",
            comment="Every slot a later state or the failure path reads exists from the start",
            parameters={
                "runSpec": sfn.JsonPath.object_at("$.runSpec"),
                "preflight": {"valid": False, f"plan{NULL_KEY}": NULL},
                **{f"{slot}{NULL_KEY}": NULL for slot in RUN_SLOTS},
            },
        )
        preflight = self._lambda(
            "Check the run spec and datasets",
            "preflight",
            {
                "runSpec": sfn.JsonPath.object_at("$.runSpec"),
                "executionName": sfn.JsonPath.string_at(EXECUTION_NAME),
            },
            result_path="$.preflight",
        )
        preflight_failed = self._gate_failure("Preflight failed", "PreflightFailed", "$.preflight.summary")

        jobs = {
            variant: self._customization_job(
                name, variant, storage=storage, bedrock_role=bedrock_role, vpc=vpc
            )
            for variant, name in (
                ("WITH_VALIDATION", "Train the custom model (with validation data)"),
                ("WITHOUT_VALIDATION", "Train the custom model"),
                ("DISTILLATION", "Distill the teacher model into the custom model"),
            )
        }
        self.job_states = jobs

        read_loss = self._lambda(
            "Read training and validation loss",
            "evaluate_loss",
            {
                "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
                "plan": sfn.JsonPath.object_at(PLAN),
                "job": sfn.JsonPath.object_at("$.job"),
            },
            result_path="$.loss",
        )
        loss_failed = self._gate_failure("Loss above the bar", "LossAboveBar", "$.loss.summary")

        ask_approval = self._lambda(
            "Ask for approval",
            "approval_request",
            {
                "taskToken": sfn.JsonPath.task_token,
                "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
                "plan": sfn.JsonPath.object_at(PLAN),
                "loss": sfn.JsonPath.object_at("$.loss"),
            },
            result_path="$.approval",
            wait_for_task_token=True,
            # Its catches are added below: the timeout must be matched before the catch-all.
            catch=False,
        )
        approval_timed_out = sfn.Pass(
            self,
            "Approval timed out",
            comment="No decision in time counts as a rejection: nothing is bought",
            parameters={
                "Error": "ApprovalTimedOut",
                "Cause": sfn.JsonPath.format(
                    "No approval decision within {} seconds; treated as rejected. Nothing was bought.",
                    sfn.JsonPath.string_at(f"{PLAN}.approval.timeoutSeconds"),
                ),
            },
            result_path="$.failure",
        ).next(failure)
        ask_approval.add_catch(approval_timed_out, errors=["States.Timeout"], result_path="$.failure")
        self._catch(ask_approval)
        rejected = sfn.Pass(
            self,
            "Purchase rejected",
            parameters={
                "Error": "ApprovalRejected",
                "Cause": sfn.JsonPath.format(
                    "Rejected by {}: {}",
                    sfn.JsonPath.string_at("$.approval.approver"),
                    sfn.JsonPath.string_at("$.approval.reason"),
                ),
            },
            result_path="$.failure",
        ).next(failure)

        buy = {
            commitment: self._buy_throughput(name, with_commitment=commitment)
            for commitment, name in (
                (False, "Buy provisioned throughput (no commitment)"),
                (True, "Buy provisioned throughput (commitment)"),
            )
        }
        which_commitment = (
            sfn.Choice(self, "Which commitment?")
            .when(sfn.Condition.string_equals(f"{PLAN}.throughput.commitment", "none"), buy[False])
            .otherwise(buy[True])
        )
        start_waiting = sfn.Pass(
            self,
            "Start waiting for the throughput",
            parameters={
                "attempt": 0,
                "waitSeconds": sfn.JsonPath.array_get_item(
                    sfn.JsonPath.list_at(f"{PLAN}.throughput.pollSchedule"), 0
                ),
            },
            result_path="$.ptPoll",
        )
        wait = sfn.Wait(
            self,
            "Wait for the throughput to come online",
            time=sfn.WaitTime.seconds_path("$.ptPoll.waitSeconds"),
        )
        check_status = tasks.CallAwsService(
            self,
            "Check the throughput status",
            service="bedrock",
            action="getProvisionedModelThroughput",
            parameters={"ProvisionedModelId": sfn.JsonPath.string_at("$.throughput.ProvisionedModelArn")},
            iam_resources=[self._arn("provisioned-model/*")],
            iam_action="bedrock:GetProvisionedModelThroughput",
            result_selector={"Status": sfn.JsonPath.string_at("$.Status")},
            result_path="$.ptStatus",
        )
        self._retry_bedrock(check_status)
        self._catch(check_status)
        schedule_next = sfn.Pass(
            self,
            "Schedule the next status check",
            comment="The interval grows along the plan's poll schedule, capped, so a slow purchase "
            "costs few transitions",
            parameters={
                "attempt": sfn.JsonPath.math_add(sfn.JsonPath.number_at("$.ptPoll.attempt"), 1),
                # CDK's helper cannot nest intrinsics as an array index, so this one is raw ASL.
                "waitSeconds.$": f"States.ArrayGetItem({PLAN}.throughput.pollSchedule, "
                "States.MathAdd($.ptPoll.attempt, 1))",
            },
            result_path="$.ptPoll",
        )
        pt_failed = self._gate_failure(
            "Throughput failed",
            "ThroughputFailed",
            None,
            cause=sfn.JsonPath.format(
                "Provisioned throughput {} reported status Failed",
                sfn.JsonPath.string_at("$.throughput.ProvisionedModelArn"),
            ),
        )
        pt_timeout = self._gate_failure(
            "Throughput not in service in time",
            "ThroughputTimeout",
            None,
            cause=sfn.JsonPath.format(
                "Provisioned throughput {} was not InService after {} status checks",
                sfn.JsonPath.string_at("$.throughput.ProvisionedModelArn"),
                sfn.JsonPath.string_at("$.ptPoll.attempt"),
            ),
        )

        evaluate = self._lambda(
            "Compare the custom model with its base model",
            "evaluate_model",
            {
                "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
                "plan": sfn.JsonPath.object_at(PLAN),
                "provisionedModelArn": sfn.JsonPath.string_at("$.throughput.ProvisionedModelArn"),
            },
            result_path="$.evaluation",
        )
        eval_failed = self._gate_failure(
            "Custom model below the bar", "EvaluationBelowBar", "$.evaluation.summary"
        )

        record = self._lambda(
            "Record the run",
            "record",
            {
                "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
                "status": "SUCCEEDED",
                "startedAt": sfn.JsonPath.string_at("$$.Execution.StartTime"),
                "state": sfn.JsonPath.object_at("$"),
            },
            result_path="$.recorded",
            catch=False,
        )
        # Everything the run bought passed its bar by now: a record that cannot be written (after
        # retries) is a bookkeeping fault, and the failure path would release good throughput for
        # it. Keep what was bought, say so in the notice, and point at the execution history.
        record_fallback = sfn.Pass(
            self,
            "Compose a success notice without the record",
            parameters={
                "subject": sfn.JsonPath.format(
                    "Bedrock run {} succeeded", sfn.JsonPath.string_at(EXECUTION_NAME)
                ),
                "message": sfn.JsonPath.format(
                    "Run {} succeeded and keeps what it bought, but writing its run record failed: {}: {}. "
                    "See the execution history for the evaluation and the purchase.",
                    sfn.JsonPath.string_at(EXECUTION_NAME),
                    sfn.JsonPath.string_at("$.recordError.Error"),
                    sfn.JsonPath.string_at("$.recordError.Cause"),
                ),
            },
            result_path="$.recorded",
        )
        record.add_catch(record_fallback, errors=["States.ALL"], result_path="$.recordError")
        notify_success = tasks.SnsPublish(
            self,
            "Notify: run succeeded",
            topic=notifications.topic,
            subject=sfn.JsonPath.string_at("$.recorded.subject"),
            message=sfn.TaskInput.from_json_path_at("$.recorded.message"),
            result_path=sfn.JsonPath.DISCARD,
        )
        self._retry_handler(notify_success)
        done = sfn.Succeed(self, "Run complete")
        # The run did succeed: a notification that cannot be sent must not send it down the failure
        # path, which would release the throughput that just passed evaluation.
        notify_success.add_catch(done, errors=["States.ALL"], result_path="$.notifyError")
        record_fallback.next(notify_success)

        buys_throughput = (
            sfn.Choice(self, "Does the run buy provisioned throughput?")
            .when(
                sfn.Condition.boolean_equals(f"{PLAN}.throughput.wanted", True),
                sfn.Choice(self, "Is approval required?")
                .when(
                    sfn.Condition.boolean_equals(f"{PLAN}.approval.required", True),
                    ask_approval.next(
                        sfn.Choice(self, "Was the purchase approved?")
                        .when(
                            sfn.Condition.boolean_equals("$.approval.approved", True),
                            which_commitment,
                        )
                        .otherwise(rejected)
                    ),
                )
                .otherwise(which_commitment),
            )
            .otherwise(record)
        )
        for state in buy.values():
            state.next(start_waiting)
        start_waiting.next(wait)
        wait.next(check_status)
        check_status.next(
            sfn.Choice(self, "Is the throughput in service?")
            .when(sfn.Condition.string_equals("$.ptStatus.Status", "InService"), evaluate)
            .when(sfn.Condition.string_equals("$.ptStatus.Status", "Failed"), pt_failed)
            .when(
                sfn.Condition.number_greater_than_equals_json_path(
                    "$.ptPoll.attempt", f"{PLAN}.throughput.maxPolls"
                ),
                pt_timeout,
            )
            .otherwise(schedule_next.next(wait))
        )
        evaluate.next(
            sfn.Choice(self, "Does the custom model meet the bar?")
            .when(sfn.Condition.boolean_equals("$.evaluation.passed", True), record)
            .otherwise(eval_failed)
        )
        record.next(notify_success).next(done)

        loss_gate = (
            sfn.Choice(self, "Is the loss within the bar?")
            .when(sfn.Condition.boolean_equals("$.loss.passed", True), buys_throughput)
            .otherwise(loss_failed)
        )
        for job in jobs.values():
            job.next(read_loss)
        read_loss.next(loss_gate)

        which_job = (
            sfn.Choice(self, "Which kind of customization job?")
            .when(sfn.Condition.string_equals(f"{PLAN}.jobVariant", "DISTILLATION"), jobs["DISTILLATION"])
            .when(
                sfn.Condition.string_equals(f"{PLAN}.jobVariant", "WITH_VALIDATION"), jobs["WITH_VALIDATION"]
            )
            .otherwise(jobs["WITHOUT_VALIDATION"])
        )
        definition = start.next(preflight).next(
            sfn.Choice(self, "Is the run spec valid?")
            .when(sfn.Condition.boolean_equals("$.preflight.valid", True), which_job)
            .otherwise(preflight_failed)
        )

        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            comment="Bedrock model customization: preflight, train, gate, approve, buy, evaluate, record",
            # Longest path: training (<= 14 days) + approval (<= 7 days) + throughput wait.
            timeout=Duration.days(30),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
        )
        self._grant_state_machine(storage=storage, bedrock_role=bedrock_role)

        self.failed_alarm = cloudwatch.Alarm(
            self,
            "FailedRunsAlarm",
            alarm_description="A customization run failed or timed out: "
            "see the notification and the run record",
            metric=cloudwatch.MathExpression(
                expression="failed + timedOut",
                using_metrics={
                    "failed": self.state_machine.metric_failed(period=Duration.minutes(5)),
                    "timedOut": self.state_machine.metric_timed_out(period=Duration.minutes(5)),
                },
                period=Duration.minutes(5),
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.failed_alarm.add_alarm_action(cloudwatch_actions.SnsAction(notifications.topic))

    # -- building blocks -------------------------------------------------------------------------

    def _arn(self, resource: str, *, account: str | None = None) -> str:
        kind, _, name = resource.partition("/")
        return self._stack.format_arn(service="bedrock", account=account, resource=kind, resource_name=name)

    def _lambda(
        self,
        name: str,
        handler: str,
        payload: dict[str, Any],
        *,
        result_path: str,
        wait_for_task_token: bool = False,
        catch: bool = True,
    ) -> tasks.LambdaInvoke:
        """Invoke a handler, retrying transient errors; by default catch the rest into the failure path."""
        function = self._functions.function(handler)
        input_ = sfn.TaskInput.from_object(payload)
        if wait_for_task_token:
            task = tasks.LambdaInvoke(
                self,
                name,
                lambda_function=function,
                payload=input_,
                result_path=result_path,
                integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
                task_timeout=sfn.Timeout.at(f"{PLAN}.approval.timeoutSeconds"),
                retry_on_service_exceptions=False,
            )
        else:
            task = tasks.LambdaInvoke(
                self,
                name,
                lambda_function=function,
                payload=input_,
                result_path=result_path,
                # The handler's return value is the result; no Lambda response envelope to unwrap.
                payload_response_only=True,
                retry_on_service_exceptions=False,
            )
        self._retry_handler(task)
        if catch:
            self._catch(task)
        return task

    def _catch(self, state: sfn.TaskStateBase | sfn.CustomState) -> None:
        state.add_catch(self._catch_all, errors=["States.ALL"], result_path="$.failure")

    @staticmethod
    def _retry_handler(state: sfn.TaskStateBase) -> None:
        state.add_retry(
            errors=list(HANDLER_TRANSIENT),
            interval=Duration.seconds(2),
            max_attempts=6,
            backoff_rate=2,
            max_delay=Duration.seconds(60),
            jitter_strategy=sfn.JitterType.FULL,
        )

    @staticmethod
    def _retry_bedrock(state: sfn.TaskStateBase | sfn.CustomState) -> None:
        state.add_retry(
            errors=list(BEDROCK_TRANSIENT),
            interval=Duration.seconds(5),
            max_attempts=8,
            backoff_rate=2,
            max_delay=Duration.seconds(120),
            jitter_strategy=sfn.JitterType.FULL,
        )

    def _gate_failure(
        self, name: str, error: str, cause_path: str | None, *, cause: str | None = None
    ) -> sfn.Pass:
        """A gate said no: put the reason where the failure path reads it."""
        state = sfn.Pass(
            self,
            name,
            parameters={"Error": error, "Cause": sfn.JsonPath.string_at(cause_path) if cause_path else cause},
            result_path="$.failure",
        )
        state.next(self._catch_all)
        return state

    def _customization_job(
        self,
        name: str,
        variant: str,
        *,
        storage: TrainingStorage,
        bedrock_role: BedrockServiceRole,
        vpc: VpcSettings | None,
    ) -> sfn.CustomState:
        """``createModelCustomizationJob.sync``, written out because aws-cdk-lib's task drops ``.sync``.

        Step Functions waits for the job natively: no polling transitions however long training
        takes, and stopping the execution stops the job.
        """
        job = f"{PLAN}.job"
        parameters: dict[str, Any] = {
            "JobName.$": f"{job}.JobName",
            "CustomModelName.$": f"{job}.CustomModelName",
            "BaseModelIdentifier.$": f"{job}.BaseModelIdentifier",
            "CustomizationType.$": f"{job}.CustomizationType",
            "RoleArn": bedrock_role.role_arn,
            # The execution name is the run id: a retried or re-driven execution asks for the same
            # job, and Bedrock returns it instead of starting a second one.
            "ClientRequestToken.$": EXECUTION_NAME,
            "TrainingDataConfig.$": f"{job}.TrainingDataConfig",
            "OutputDataConfig.$": f"{job}.OutputDataConfig",
            "CustomModelKmsKeyId": storage.key.key_arn,
            "JobTags.$": f"{job}.JobTags",
            "CustomModelTags.$": f"{job}.CustomModelTags",
        }
        if variant == "DISTILLATION":
            parameters["CustomizationConfig.$"] = f"{job}.CustomizationConfig"
        else:
            parameters["HyperParameters.$"] = f"{job}.HyperParameters"
        if variant == "WITH_VALIDATION":
            parameters["ValidationDataConfig.$"] = f"{job}.ValidationDataConfig"
        if vpc is not None:
            parameters["VpcConfig"] = {
                "SubnetIds": list(vpc.subnet_ids),
                "SecurityGroupIds": list(vpc.security_group_ids),
            }
        state = sfn.CustomState(
            self,
            name,
            state_json={
                "Type": "Task",
                "Resource": CREATE_JOB_SYNC.format(partition=self._stack.partition),
                "Parameters": parameters,
                "TimeoutSecondsPath": f"{PLAN}.jobTimeoutSeconds",
                "ResultPath": "$.job",
            },
        )
        self._retry_bedrock(state)
        self._catch(state)
        return state

    def _buy_throughput(self, name: str, *, with_commitment: bool) -> tasks.CallAwsService:
        pt = f"{PLAN}.throughput"
        parameters: dict[str, Any] = {
            "ModelUnits": sfn.JsonPath.number_at(f"{pt}.ModelUnits"),
            "ModelId": sfn.JsonPath.string_at("$.loss.outputModelArn"),
            "ProvisionedModelName": sfn.JsonPath.string_at(f"{pt}.ProvisionedModelName"),
            # One purchase per run, however often this state is retried or the run re-driven.
            "ClientRequestToken": sfn.JsonPath.string_at(f"{pt}.ClientRequestToken"),
            "Tags": sfn.JsonPath.list_at(f"{pt}.Tags"),
        }
        if with_commitment:
            parameters["CommitmentDuration"] = sfn.JsonPath.string_at(f"{pt}.CommitmentDuration")
        task = tasks.CallAwsService(
            self,
            name,
            service="bedrock",
            action="createProvisionedModelThroughput",
            parameters=parameters,
            iam_resources=[self._arn("custom-model/*"), self._arn("provisioned-model/*")],
            iam_action="bedrock:CreateProvisionedModelThroughput",
            result_selector={"ProvisionedModelArn": sfn.JsonPath.string_at("$.ProvisionedModelArn")},
            result_path="$.throughput",
        )
        self._retry_bedrock(task)
        self._catch(task)
        return task

    def _failure_path(self) -> sfn.IChainable:
        """Release what the run bought, record the run, notify, fail with the reason."""
        run_id = sfn.JsonPath.string_at(EXECUTION_NAME)
        cleanup = self._lambda(
            "Release what this run bought",
            "cleanup",
            {
                "runId": run_id,
                "plan": sfn.JsonPath.object_at(PLAN),
                "throughput": sfn.JsonPath.object_at("$.throughput"),
                "failure": sfn.JsonPath.object_at("$.failure"),
            },
            result_path="$.cleanup",
            catch=False,
        )
        record = self._lambda(
            "Record the failed run",
            "record",
            {
                "runId": run_id,
                "status": "FAILED",
                "startedAt": sfn.JsonPath.string_at("$$.Execution.StartTime"),
                "state": sfn.JsonPath.object_at("$"),
            },
            result_path="$.recorded",
            catch=False,
        )
        fallback = sfn.Pass(
            self,
            "Compose a notice without the record",
            parameters={
                # SNS subjects stay under 100 characters; execution names may use 80 of them.
                "subject": sfn.JsonPath.format("Bedrock run {} failed", run_id),
                "message": sfn.JsonPath.format(
                    "Run {} failed: {}: {}. Writing the run record also failed; see the execution history.",
                    run_id,
                    sfn.JsonPath.string_at("$.failure.Error"),
                    sfn.JsonPath.string_at("$.failure.Cause"),
                ),
            },
            result_path="$.recorded",
        )
        notify = tasks.SnsPublish(
            self,
            "Notify: run failed",
            topic=self._notifications.topic,
            subject=sfn.JsonPath.string_at("$.recorded.subject"),
            message=sfn.TaskInput.from_json_path_at("$.recorded.message"),
            result_path=sfn.JsonPath.DISCARD,
        )
        self._retry_handler(notify)
        fail = sfn.Fail(self, "Run failed", error_path="$.failure.Error", cause_path="$.failure.Cause")
        # The notification is best effort once retries are spent: the run must still end failed
        # with its reason, not with a notification error.
        notify.add_catch(fail, errors=["States.ALL"], result_path="$.notifyError")
        # A failed cleanup must not hide the original failure: record it next to it and go on.
        cleanup.add_catch(record, errors=["States.ALL"], result_path="$.cleanupError")
        record.add_catch(fallback, errors=["States.ALL"], result_path="$.recordError")
        fallback.next(notify)
        cleanup.next(record).next(notify).next(fail)
        return cleanup

    def _grant_state_machine(self, *, storage: TrainingStorage, bedrock_role: BedrockServiceRole) -> None:
        role = self.state_machine.role
        bedrock_role.grant_pass_role(role)
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:CreateModelCustomizationJob", "bedrock:TagResource"],
            resource_arns=[
                # The base model is chosen per run: any foundation model of this region, or a
                # custom model of this account (customizing a customized model).
                self._stack.format_arn(
                    service="bedrock", account="", resource="foundation-model", resource_name="*"
                ),
                self._arn("custom-model/*"),
                self._arn("model-customization-job/*"),
            ],
        )
        # What .sync needs to watch the job, and to stop it when the execution is stopped.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"],
            resource_arns=[self._arn("model-customization-job/*")],
        )
        # Tags ride along on the purchase (cost allocation).
        iam.Grant.add_to_principal(
            grantee=role, actions=["bedrock:TagResource"], resource_arns=[self._arn("provisioned-model/*")]
        )
        # The custom model is encrypted with the project key: creating it and buying throughput
        # for it go through Bedrock, which needs these on the key (UNCONFIRMED which of them the
        # caller needs in addition to the service role; all stay behind kms:ViaService=bedrock).
        storage.grant_key_via(
            role,
            "bedrock",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "kms:DescribeKey",
            "kms:CreateGrant",
            sid="UseCustomModelKeyThroughBedrock",
        )
        self._notifications.grant_publish(role)
        findings = {
            self._stack.format_arn(
                service="bedrock", account="", resource="foundation-model", resource_name="*"
            ): "the base model is chosen per run (validated against the catalog), any foundation model "
            "of this region can be one",
            self._arn("custom-model/*"): "custom model ids are generated by Bedrock per run",
            self._arn("model-customization-job/*"): "job ids are generated by Bedrock per run",
            self._arn("provisioned-model/*"): "provisioned-model ids are generated by Bedrock per purchase",
        }
        for arn, reason in findings.items():
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{finding_value(self, arn)}]", reason)
        for handler in self._functions.all:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[Resource::{resource_ref(handler.function)}:*]",
                "LambdaInvoke grants the function's versions and aliases too (function ARN + ':*')",
            )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing (xray:PutTraceSegments, ...) and Step Functions log delivery "
            "(logs:CreateLogDelivery, ..., as CDK renders them) support no resource-level permissions",
        )
