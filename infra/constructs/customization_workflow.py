"""The Step Functions workflow that drives one customization run, safe with money.

Preflight -> train (native ``.sync`` wait) -> loss gate -> evaluation vehicle (an on-demand custom
model deployment where the base allows it, else a 1-MU no-commitment throughput) -> wait until it
is ready -> compare with the base model -> release the vehicle at once unless it is exactly what
serves -> quality gate (and the LLM judge's, where planned) -> only then serve: keep the deployment,
or buy throughput (after approval where the policy asks; a commitment only here), each purchase
behind a runtime guard that re-reads the verdicts -> wait until InService -> smoke check -> record
and notify. Every failure, whatever its source, takes one path: release what the run bought (never
a commitment), record the run, notify, fail with the reason.

The data each state reads and writes is described in docs/workflow-contract.md.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import VpcSettings
from infra.constructs import bedrock_tasks
from infra.constructs.bedrock_service_role import BedrockServiceRole
from infra.constructs.notifications import Notifications
from infra.constructs.training_storage import TrainingStorage
from infra.constructs.workflow_functions import WorkflowFunctions
from infra.constructs.workflow_states import EXECUTION_IDENTITY, EXECUTION_NAME, PLAN, StateKit
from infra.nag import acknowledge, finding_value, resource_ref
from pipeline.evaluation import VERDICT_PASSED
from pipeline.judge import JUDGE_BELOW_BAR, JUDGE_JOB_FAILED, JUDGE_TIMEOUT
from pipeline.plan import RUN_SLOTS
from pipeline.workflow_names import (
    BUY_COMMITMENT,
    BUY_EVALUATION,
    BUY_SERVING,
    EVALUATE,
    GUARD_BUY_COMMITMENT,
    GUARD_BUY_SERVING,
    GUARD_KEEP_DEPLOYMENT,
    GUARD_REUSE,
    JUDGE_GATE,
    JUDGE_START,
    JUDGE_VERDICT,
    PURCHASE_WITHOUT_VERDICT,
    PURCHASE_WITHOUT_VERDICT_STATE,
    QUALITY_GATE,
    RELEASE_ALL,
    RELEASE_VEHICLE,
    RUN_FAILED,
    SERVE_ON_DEPLOYMENT,
    SERVE_ON_EVALUATION_THROUGHPUT,
    VEHICLE_SERVES,
)

# Every slot of RUN_SLOTS (pipeline.plan) must exist as JSON null from the first state: a failure
# before (say) the purchase still hands "$.throughput" to the cleanup, and a missing path is a
# States.Runtime error that would skip cleanup, record and notice. CDK drops a Python None from
# Parameters and Result, so the null comes from an intrinsic function instead.
NULL_KEY: Final = ".$"
NULL: Final = "States.StringToJson('null')"


def verdict_condition(*, for_purchase: bool) -> sfn.Condition:
    """The verdicts a serving purchase needs, read from the run's state (IsPresent first: a path that
    finds nothing fails a Choice with States.Runtime, which no Catch sees).

    A purchase needs a quality bar that was set and passed (``evaluation.verdict`` = passed); keeping
    the on-demand deployment needs a passing evaluation (a spec may serve on demand without a bar,
    with a warning). Either way, with a judge in the plan, the judge's bars must have passed too.
    """
    if for_purchase:
        quality = sfn.Condition.and_(
            sfn.Condition.is_present("$.evaluation.verdict"),
            sfn.Condition.string_equals("$.evaluation.verdict", VERDICT_PASSED),
        )
    else:
        quality = sfn.Condition.and_(
            sfn.Condition.is_present("$.evaluation.passed"),
            sfn.Condition.boolean_equals("$.evaluation.passed", True),
        )
    judge = sfn.Condition.or_(
        sfn.Condition.is_null(f"{PLAN}.judge"),
        sfn.Condition.and_(
            sfn.Condition.is_present("$.judge.passed"), sfn.Condition.boolean_equals("$.judge.passed", True)
        ),
    )
    return sfn.Condition.and_(quality, judge)


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
        self._kit = StateKit(self, functions)
        self._notifications = notifications

        failure = self._failure_path()
        self._kit.catch_all = failure

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
        preflight = self._kit.lambda_task(
            "Check the run spec and datasets",
            "preflight",
            {
                "runSpec": sfn.JsonPath.object_at("$.runSpec"),
                "executionName": sfn.JsonPath.string_at(EXECUTION_NAME),
                # Everything the run creates is tagged with its execution (pipeline.ownership).
                **EXECUTION_IDENTITY,
            },
            result_path="$.preflight",
        )
        preflight_failed = self._kit.gate_failure(
            "Preflight failed", "PreflightFailed", "$.preflight.summary"
        )

        jobs = {
            variant: bedrock_tasks.customization_job(
                self._kit, name, variant, storage=storage, bedrock_role=bedrock_role, vpc=vpc
            )
            for variant, name in (
                ("WITH_VALIDATION", "Train the custom model (with validation data)"),
                ("WITHOUT_VALIDATION", "Train the custom model"),
                ("DISTILLATION", "Distill the teacher model into the custom model"),
                ("REINFORCEMENT_FINE_TUNING", "Train the custom model with reinforcement (grader)"),
            )
        }
        self.job_states = jobs

        read_loss = self._kit.lambda_task(
            "Read training and validation loss",
            "evaluate_loss",
            {
                "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
                "plan": sfn.JsonPath.object_at(PLAN),
                "job": sfn.JsonPath.object_at("$.job"),
            },
            result_path="$.loss",
        )
        loss_failed = self._kit.gate_failure("Loss above the bar", "LossAboveBar", "$.loss.summary")

        vehicle_plan = f"{PLAN}.vehicle"
        serving_plan = f"{PLAN}.serving"

        # -- the evaluation vehicle: an on-demand deployment, or a 1-MU throughput -------------------
        deploy = bedrock_tasks.create_deployment(self._kit)
        buy_for_evaluation = bedrock_tasks.buy_throughput(
            self._kit,
            BUY_EVALUATION,
            plan_path=vehicle_plan,
            with_commitment=False,
            result_selector={
                "Kind": "throughput",
                "Arn": sfn.JsonPath.string_at("$.ProvisionedModelArn"),
                "FailedError": "ThroughputFailed",
                "TimeoutError": "ThroughputTimeout",
            },
            result_path="$.vehicle",
        )
        ask_to_evaluate, evaluation_approved = self._kit.approval(
            "evaluation",
            "Ask for approval to evaluate",
            "Was the evaluation purchase approved?",
            result_path="$.evaluationApproval",
        )
        how_evaluated = sfn.Choice(
            self,
            "How is the custom model evaluated?",
            comment="Chosen by the plan: on demand where Bedrock deploys this base, else on a 1-MU "
            "no-commitment throughput; nothing to judge, nothing created",
        )
        evaluate = self._kit.lambda_task(
            EVALUATE,
            "evaluate_model",
            {
                "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
                "plan": sfn.JsonPath.object_at(PLAN),
                "modelId": sfn.JsonPath.string_at("$.vehicle.Arn"),
                "vehicle": sfn.JsonPath.string_at("$.vehicle.Kind"),
                "mode": "evaluate",
            },
            result_path="$.evaluation",
        )
        vehicle_wait = self._kit.wait_loop(
            "the evaluation vehicle",
            kind=sfn.JsonPath.string_at("$.vehicle.Kind"),
            arn=sfn.JsonPath.string_at("$.vehicle.Arn"),
            plan_path=vehicle_plan,
            status_path="$.vehicleStatus",
            ready=evaluate,
            failed=self._kit.gate_failure(
                "Evaluation vehicle failed",
                None,
                None,
                error_path="$.vehicle.FailedError",
                cause=sfn.JsonPath.format(
                    "{} reported status Failed: {}",
                    sfn.JsonPath.string_at("$.vehicle.Arn"),
                    sfn.JsonPath.string_at("$.vehicleStatus.failureMessage"),
                ),
            ),
            timed_out=self._kit.gate_failure(
                "Evaluation vehicle not ready in time",
                None,
                None,
                error_path="$.vehicle.TimeoutError",
                cause=sfn.JsonPath.format(
                    "{} was not ready after {} status checks",
                    sfn.JsonPath.string_at("$.vehicle.Arn"),
                    sfn.JsonPath.string_at("$.vehicleStatus.attempt"),
                ),
            ),
        )
        deploy.next(vehicle_wait)
        buy_for_evaluation.next(vehicle_wait)

        # -- right after the comparison: the vehicle has served its purpose -------------------------
        # Released before any verdict, judge or human wait, unless it is exactly what serves
        # (the deployment kept on demand, or the evaluation throughput reused): nothing bills for
        # an evaluation that is over. A release that fails takes the failure path, which releases
        # again: before the purchase nothing serves that a failed run could lose.
        release = self._kit.lambda_task(
            RELEASE_VEHICLE,
            "cleanup",
            {
                "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
                **EXECUTION_IDENTITY,
                "plan": sfn.JsonPath.object_at(PLAN),
                "vehicle": sfn.JsonPath.object_at("$.vehicle"),
                "throughput": sfn.JsonPath.object_at("$.throughput"),
                "mode": "release-evaluation",
            },
            result_path="$.released",
        )
        bar = sfn.Choice(self, QUALITY_GATE)
        release.next(bar)
        evaluate.next(
            sfn.Choice(
                self,
                VEHICLE_SERVES,
                comment="Kept only when it is exactly what serves; otherwise released now, before the "
                "verdict, the judge and any approval wait",
            )
            .when(sfn.Condition.boolean_equals(f"{vehicle_plan}.servesAfterwards", True), bar)
            .otherwise(release)
        )

        # -- serving: only once the bar passed ---------------------------------------------------------
        how_served = sfn.Choice(
            self,
            "How is the custom model served?",
            comment="Keep the deployment, buy throughput (after approval where the policy asks), or "
            "serve nothing; a commitment is only ever bought here, after the bar",
        )
        ask_to_serve, serving_approved = self._kit.approval(
            "serving", "Ask for approval to serve", "Was the purchase approved?", result_path="$.approval"
        )
        buy = {
            commitment: bedrock_tasks.buy_throughput(
                self._kit,
                name,
                plan_path=serving_plan,
                with_commitment=commitment,
                result_selector={"ProvisionedModelArn": sfn.JsonPath.string_at("$.ProvisionedModelArn")},
                result_path="$.throughput",
            )
            for commitment, name in ((False, BUY_SERVING), (True, BUY_COMMITMENT))
        }
        reuse = sfn.Pass(
            self,
            SERVE_ON_EVALUATION_THROUGHPUT,
            comment="The evaluation throughput is exactly what the spec serves with: one purchase, kept",
            parameters={"ProvisionedModelArn": sfn.JsonPath.string_at("$.vehicle.Arn")},
            result_path="$.throughput",
        )
        keep_deployment = sfn.Pass(
            self,
            SERVE_ON_DEPLOYMENT,
            comment="The evaluation deployment becomes the serving one: from here a success keeps it",
            result_path=sfn.JsonPath.DISCARD,
        )
        smoke_failed = self._kit.gate_failure("Smoke check failed", "SmokeCheckFailed", "$.smoke.summary")
        smoke_throughput = self._smoke(
            "Smoke-check the provisioned throughput", "$.throughput.ProvisionedModelArn"
        )
        smoke_deployment = self._smoke("Smoke-check the on-demand deployment", "$.vehicle.Arn")
        keep_deployment.next(smoke_deployment)
        throughput_wait = self._kit.wait_loop(
            "the throughput",
            kind="throughput",
            arn=sfn.JsonPath.string_at("$.throughput.ProvisionedModelArn"),
            plan_path=serving_plan,
            status_path="$.ptStatus",
            ready=smoke_throughput,
            failed=self._kit.gate_failure(
                "Throughput failed",
                "ThroughputFailed",
                None,
                cause=sfn.JsonPath.format(
                    "Provisioned throughput {} reported status Failed: {}",
                    sfn.JsonPath.string_at("$.throughput.ProvisionedModelArn"),
                    sfn.JsonPath.string_at("$.ptStatus.failureMessage"),
                ),
            ),
            timed_out=self._kit.gate_failure(
                "Throughput not in service in time",
                "ThroughputTimeout",
                None,
                cause=sfn.JsonPath.format(
                    "Provisioned throughput {} was not InService after {} status checks",
                    sfn.JsonPath.string_at("$.throughput.ProvisionedModelArn"),
                    sfn.JsonPath.string_at("$.ptStatus.attempt"),
                ),
            ),
        )
        for state in buy.values():
            state.next(throughput_wait)
        reuse.next(smoke_throughput)

        record = self._kit.lambda_task(
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
        for smoke, name in (
            (smoke_throughput, "Does the throughput answer?"),
            (smoke_deployment, "Does the deployment answer?"),
        ):
            smoke.next(
                sfn.Choice(self, name)
                .when(sfn.Condition.boolean_equals("$.smoke.passed", True), record)
                .otherwise(smoke_failed)
            )

        # A runtime guard immediately before each state that buys (or keeps) something to serve: the
        # verdicts must be in the state, whatever routed the run here. It fails closed if a later
        # change rewires the graph around the gates (tests/infra/test_money_paths.py proves the
        # gates statically; this is the check that runs).
        without_verdict = self._kit.gate_failure(
            PURCHASE_WITHOUT_VERDICT_STATE,
            PURCHASE_WITHOUT_VERDICT,
            None,
            cause="A purchase to serve was next, but the run's state holds no passing quality verdict "
            "(or no passing judge verdict where the plan has a judge, or no approval for a commitment). "
            "Nothing was bought; this is a defect of the workflow definition.",
        )
        guarded = {
            buy[False]: (GUARD_BUY_SERVING, verdict_condition(for_purchase=True)),
            buy[True]: (
                GUARD_BUY_COMMITMENT,
                sfn.Condition.and_(verdict_condition(for_purchase=True), self._kit.approved("$.approval")),
            ),
            reuse: (GUARD_REUSE, verdict_condition(for_purchase=True)),
            keep_deployment: (GUARD_KEEP_DEPLOYMENT, verdict_condition(for_purchase=False)),
        }
        guards = {
            state: sfn.Choice(self, name).when(condition, state).otherwise(without_verdict)
            for state, (name, condition) in guarded.items()
        }

        provisioned = sfn.Condition.string_equals(f"{serving_plan}.mode", "provisioned")
        how_served.when(
            sfn.Condition.and_(
                provisioned,
                sfn.Condition.boolean_equals(f"{PLAN}.approval.beforeServing", True),
                sfn.Condition.is_null("$.approval"),
            ),
            ask_to_serve,
        ).when(
            sfn.Condition.and_(
                provisioned, sfn.Condition.boolean_equals(f"{serving_plan}.reusesEvaluationThroughput", True)
            ),
            guards[reuse],
        ).when(
            sfn.Condition.and_(
                provisioned, sfn.Condition.string_equals(f"{serving_plan}.commitment", "none")
            ),
            guards[buy[False]],
        ).when(provisioned, guards[buy[True]]).when(
            sfn.Condition.string_equals(f"{serving_plan}.mode", "on-demand"), guards[keep_deployment]
        ).otherwise(record)
        serving_approved.when(self._kit.approved("$.approval"), how_served)

        is_vehicle = sfn.Condition.string_equals(f"{vehicle_plan}.kind", "throughput")
        how_evaluated.when(sfn.Condition.string_equals(f"{vehicle_plan}.kind", "deployment"), deploy).when(
            sfn.Condition.and_(
                is_vehicle,
                sfn.Condition.boolean_equals(f"{PLAN}.approval.beforeEvaluation", True),
                sfn.Condition.is_null("$.evaluationApproval"),
            ),
            ask_to_evaluate,
        ).when(is_vehicle, buy_for_evaluation).otherwise(how_served)
        evaluation_approved.when(self._kit.approved("$.evaluationApproval"), how_evaluated)

        judged_by_llm = self._judge(how_served)
        bar.when(
            sfn.Condition.boolean_equals("$.evaluation.judged", False),
            self._kit.gate_failure("Evaluation not judged", "EvaluationNotJudged", "$.evaluation.summary"),
        ).when(sfn.Condition.boolean_equals("$.evaluation.passed", True), judged_by_llm).otherwise(
            self._kit.gate_failure("Custom model below the bar", "EvaluationBelowBar", "$.evaluation.summary")
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
        self._kit.retry_sns(notify_success)
        done = sfn.Succeed(self, "Run complete")
        # The run did succeed: a notification that cannot be sent must not send it down the failure
        # path, which would release the throughput that just passed evaluation.
        notify_success.add_catch(done, errors=["States.ALL"], result_path="$.notifyError")
        record_fallback.next(notify_success)
        record.next(notify_success).next(done)

        loss_gate = (
            sfn.Choice(self, "Is the loss within the bar?")
            .when(sfn.Condition.boolean_equals("$.loss.passed", True), how_evaluated)
            .otherwise(loss_failed)
        )
        for job in jobs.values():
            job.next(read_loss)
        read_loss.next(loss_gate)

        which_job = (
            sfn.Choice(self, "Which kind of customization job?")
            .when(sfn.Condition.string_equals(f"{PLAN}.jobVariant", "DISTILLATION"), jobs["DISTILLATION"])
            .when(
                sfn.Condition.string_equals(f"{PLAN}.jobVariant", "REINFORCEMENT_FINE_TUNING"),
                jobs["REINFORCEMENT_FINE_TUNING"],
            )
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
            # Without execution data: states' inputs and outputs (an approval's task token among them)
            # stay out of CloudWatch Logs; the execution history keeps them behind IAM.
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
        )
        self._grant_state_machine(storage=storage, bedrock_role=bedrock_role)

        self.failed_alarm = cloudwatch.Alarm(
            self,
            "FailedRunsAlarm",
            alarm_description="A customization run failed, timed out or was stopped: "
            "see the notification and the run record",
            metric=cloudwatch.MathExpression(
                expression="failed + timedOut + aborted",
                using_metrics={
                    "failed": self.state_machine.metric_failed(period=Duration.minutes(5)),
                    "timedOut": self.state_machine.metric_timed_out(period=Duration.minutes(5)),
                    "aborted": self.state_machine.metric_aborted(period=Duration.minutes(5)),
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

    def _judge(self, how_served: sfn.IChainable) -> sfn.Choice:
        """The LLM judge (opt-in, after ROUGE-L passed): two evaluation jobs, a wait, the bars.

        Nothing is bought to serve before its verdict; a failed or late job and a missed bar each
        take the failure path with their own error.
        """
        run_id = sfn.JsonPath.string_at(EXECUTION_NAME)
        judge_plan = f"{PLAN}.judge"
        start = self._kit.lambda_task(
            JUDGE_START,
            "judge",
            {
                "runId": run_id,
                "plan": sfn.JsonPath.object_at(PLAN),
                "evaluation": sfn.JsonPath.object_at("$.evaluation"),
                "mode": "start",
            },
            result_path="$.judgeJobs",
        )
        read = self._kit.lambda_task(
            JUDGE_VERDICT,
            "judge",
            {
                "runId": run_id,
                "plan": sfn.JsonPath.object_at(PLAN),
                "jobs": sfn.JsonPath.object_at("$.judgeJobs.jobs"),
                "mode": "verdict",
            },
            result_path="$.judge",
        )
        wait = self._kit.wait_loop(
            "the judge",
            kind="judge",
            arn="",
            plan_path=judge_plan,
            status_path="$.judgeStatus",
            handler="judge",
            payload={"jobs": sfn.JsonPath.object_at("$.judgeJobs.jobs"), "mode": "check"},
            ready=read,
            failed=self._kit.gate_failure(
                "Judge job failed",
                JUDGE_JOB_FAILED,
                None,
                cause=sfn.JsonPath.format(
                    "An LLM-judge evaluation job ended without results: {}",
                    sfn.JsonPath.string_at("$.judgeStatus.failureMessage"),
                ),
            ),
            timed_out=self._kit.gate_failure(
                "Judge not done in time",
                JUDGE_TIMEOUT,
                None,
                cause=sfn.JsonPath.format(
                    "The LLM-judge evaluation jobs were not done after {} status checks ({})",
                    sfn.JsonPath.string_at("$.judgeStatus.attempt"),
                    sfn.JsonPath.string_at("$.judgeStatus.status"),
                ),
            ),
        )
        start.next(wait)
        read.next(
            sfn.Choice(self, JUDGE_GATE)
            .when(sfn.Condition.boolean_equals("$.judge.passed", True), how_served)
            .otherwise(
                self._kit.gate_failure(
                    "Custom model below the judge's bar", JUDGE_BELOW_BAR, "$.judge.summary"
                )
            )
        )
        return (
            sfn.Choice(
                self,
                "Is the custom model judged by an LLM?",
                comment="Opt-in (evaluation.judge): its tokens are billed; ROUGE-L has passed already",
            )
            .when(sfn.Condition.is_null(judge_plan), how_served)
            .otherwise(start)
        )

    def _smoke(self, name: str, model_path: str) -> tasks.LambdaInvoke:
        return self._kit.lambda_task(
            name,
            "evaluate_model",
            {
                "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
                "plan": sfn.JsonPath.object_at(PLAN),
                "modelId": sfn.JsonPath.string_at(model_path),
                "mode": "smoke",
            },
            result_path="$.smoke",
        )

    def _arn(self, resource: str) -> str:
        return bedrock_tasks.bedrock_arn(self, resource)

    def _failure_path(self) -> sfn.IChainable:
        """Release what the run bought, record the run, notify, fail with the reason."""
        run_id = sfn.JsonPath.string_at(EXECUTION_NAME)
        cleanup = self._kit.lambda_task(
            RELEASE_ALL,
            "cleanup",
            {
                "runId": run_id,
                **EXECUTION_IDENTITY,
                "plan": sfn.JsonPath.object_at(PLAN),
                "vehicle": sfn.JsonPath.object_at("$.vehicle"),
                "throughput": sfn.JsonPath.object_at("$.throughput"),
                "failure": sfn.JsonPath.object_at("$.failure"),
                "mode": "failure",
            },
            result_path="$.cleanup",
            catch=False,
        )
        record = self._kit.lambda_task(
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
        self._kit.retry_sns(notify)
        fail = sfn.Fail(self, RUN_FAILED, error_path="$.failure.Error", cause_path="$.failure.Cause")
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
        # CreateModelCustomizationJob is authorized on the base model [Service Authorization
        # Reference: foundation-model, custom-model], chosen per run: any foundation model of this
        # region, or a custom model of this account (customizing a customized model).
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:CreateModelCustomizationJob"],
            resource_arns=[
                self._stack.format_arn(
                    service="bedrock", account="", resource="foundation-model", resource_name="*"
                ),
                self._arn("custom-model/*"),
            ],
        )
        # The job's tags and the output model's tags ride along: TagResource on what is created.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:TagResource"],
            resource_arns=[self._arn("model-customization-job/*"), self._arn("custom-model/*")],
        )
        # What .sync needs to watch the job, and to stop it when the execution is stopped.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:GetModelCustomizationJob", "bedrock:StopModelCustomizationJob"],
            resource_arns=[self._arn("model-customization-job/*")],
        )
        # Tags ride along on the purchase (cost allocation, cleanup, sweep). The deployment is created,
        # and tagged, by the deploy function.
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["bedrock:TagResource"],
            resource_arns=[self._arn("provisioned-model/*")],
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
            bedrock_tasks.bedrock_arn(
                self, "custom-model/*"
            ): "custom model ids are generated by Bedrock per run",
            bedrock_tasks.bedrock_arn(
                self, "model-customization-job/*"
            ): "job ids are generated by Bedrock per run",
            bedrock_tasks.bedrock_arn(
                self, "provisioned-model/*"
            ): "provisioned-model ids are generated by Bedrock per purchase",
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
