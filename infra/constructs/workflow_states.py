"""Building blocks of the customization workflow's states: Lambda tasks, retries, catches, gates,
approvals and wait loops, each with the conventions every state of the run shares.

A ``StateKit`` creates states inside one construct (the workflow). Every task retries transient
errors by their botocore names and, unless told otherwise, catches the rest into the failure path
(``catch_all``, set once that path exists).
"""

from __future__ import annotations

from typing import Any, Final

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.constructs.workflow_functions import WorkflowFunctions
from pipeline.aws_retries import STATES_BEDROCK_TRANSIENT, STATES_HANDLER_TRANSIENT, STATES_SNS_TRANSIENT
from pipeline.retries import (
    JOB_QUEUE_SCHEDULE,
    JOB_QUOTA_ERROR,
    LAMBDA_UNAVAILABLE,
    LAMBDA_UNAVAILABLE_SCHEDULE,
    RetrySchedule,
)
from pipeline.workflow_names import STEP_ERROR_TEXT, STEP_ERRORS

PLAN: Final = "$.preflight.plan"
EXECUTION_NAME: Final = "$$.Execution.Name"
# Which execution this is: its ARN and its start (the ARN recurs with the name; pipeline.ownership).
EXECUTION_IDENTITY: Final = {
    "executionArn": sfn.JsonPath.string_at("$$.Execution.Id"),
    "executionStart": sfn.JsonPath.string_at("$$.Execution.StartTime"),
}

# Errors worth retrying, per kind of task, with their sources: pipeline.aws_retries. Lambda not
# running a function (throttled, or a Lambda fault) is retried first, on its own long schedule
# (pipeline.retries.LAMBDA_UNAVAILABLE); HANDLER_TRANSIENT are the other transient errors.
BEDROCK_TRANSIENT: Final = STATES_BEDROCK_TRANSIENT
HANDLER_TRANSIENT: Final = STATES_HANDLER_TRANSIENT
SNS_TRANSIENT: Final = STATES_SNS_TRANSIENT


class StateKit:
    def __init__(self, scope: Construct, functions: WorkflowFunctions) -> None:
        self.scope = scope
        self.functions = functions
        self._catch_all: sfn.IChainable | None = None
        self._namers: dict[str, sfn.Pass] = {}

    @property
    def catch_all(self) -> sfn.IChainable:
        """The first state of the failure path, where every caught error goes."""
        if self._catch_all is None:
            raise RuntimeError("the failure path must exist before states that catch into it")
        return self._catch_all

    @catch_all.setter
    def catch_all(self, state: sfn.IChainable) -> None:
        self._catch_all = state

    def lambda_task(
        self,
        name: str,
        handler: str,
        payload: dict[str, Any],
        *,
        result_path: str,
        wait_for_task_token: bool = False,
        catch: bool = True,
        error: str | None = None,
    ) -> tasks.LambdaInvoke:
        """Invoke a handler, retrying transient errors; by default catch the rest into the failure path
        under ``error`` (default: the handler's name in STEP_ERRORS)."""
        function = self.functions.function(handler)
        input_ = sfn.TaskInput.from_object(payload)
        if wait_for_task_token:
            task = tasks.LambdaInvoke(
                self.scope,
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
                self.scope,
                name,
                lambda_function=function,
                payload=input_,
                result_path=result_path,
                # The handler's return value is the result; no Lambda response envelope to unwrap.
                payload_response_only=True,
                retry_on_service_exceptions=False,
            )
        self.retry_handler(task)
        if catch:
            self.catch(task, error or STEP_ERRORS[handler])
        return task

    def catch(self, state: sfn.TaskStateBase | sfn.CustomState, error: str) -> None:
        """Catch everything into the failure path under the project's ``error`` name."""
        state.add_catch(self.failed_as(error), errors=["States.ALL"], result_path="$.failure")

    def failed_as(self, error: str) -> sfn.Pass:
        """A step failed unexpectedly: name the failure ``error`` (one Pass per name, shared by the
        steps that fail under it), keeping what Step Functions caught as ``Original``.

        Reads ``$.failure`` as a whole only (no member path that could be missing and fail the state
        with States.Runtime, which nothing catches).
        """
        if error not in self._namers:
            if error.startswith("States."):
                raise ValueError(f"a run may not end with a Step Functions error name: {error}")
            namer = sfn.Pass(
                self.scope,
                f"Failed: {error}",
                comment="The run ends under the project's name for this failure, never a States.* name",
                parameters={
                    "Error": error,
                    "Cause": sfn.JsonPath.format(
                        f"{STEP_ERROR_TEXT[error]}. Caught: {{}}",
                        sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.failure")),
                    ),
                    "Original": sfn.JsonPath.object_at("$.failure"),
                },
                result_path="$.failure",
            )
            namer.next(self.catch_all)
            self._namers[error] = namer
        return self._namers[error]

    @staticmethod
    def retry_handler(state: sfn.TaskStateBase) -> None:
        """Lambda unavailable (throttled, service fault): for 30+ minutes; the rest: about 2 minutes.

        Step Functions takes the first retrier whose errors match, each with its own attempt count,
        so a throttle never uses up the attempts of the short schedule, nor the other way round.
        """
        _retry_on(state, LAMBDA_UNAVAILABLE, LAMBDA_UNAVAILABLE_SCHEDULE)
        _retry(state, HANDLER_TRANSIENT, first_s=2, attempts=6, cap_s=60)

    @staticmethod
    def retry_job_quota(state: sfn.CustomState) -> None:
        """In line for a training slot: the job's create call refused by the concurrent-job quota is
        tried again for hours (pipeline.retries.JOB_QUEUE_SCHEDULE)."""
        _retry_on(state, (JOB_QUOTA_ERROR,), JOB_QUEUE_SCHEDULE)

    @staticmethod
    def retry_bedrock(state: sfn.TaskStateBase | sfn.CustomState) -> None:
        _retry(state, BEDROCK_TRANSIENT, first_s=5, attempts=8, cap_s=120)

    @staticmethod
    def retry_sns(state: sfn.TaskStateBase) -> None:
        _retry(state, SNS_TRANSIENT, first_s=2, attempts=5, cap_s=60)

    def gate_failure(
        self,
        name: str,
        error: str | None,
        cause_path: str | None,
        *,
        cause: str | None = None,
        error_path: str | None = None,
    ) -> sfn.Pass:
        """A gate said no: put the reason where the failure path reads it."""
        state = sfn.Pass(
            self.scope,
            name,
            parameters={
                "Error": sfn.JsonPath.string_at(error_path) if error_path else error,
                "Cause": sfn.JsonPath.string_at(cause_path) if cause_path else cause,
            },
            result_path="$.failure",
        )
        state.next(self.catch_all)
        return state

    def approval(
        self, stage: str, name: str, decided: str, *, result_path: str
    ) -> tuple[tasks.LambdaInvoke, sfn.Choice]:
        """Ask a human (``.waitForTaskToken``), then act only on the decision of record.

        Whoever holds the task token (it is in the execution history) can answer it by hand, so the
        answer itself decides nothing: "<name>: verify the answer" replaces it at ``result_path``
        with the decision the approval-answer function recorded for this very request (run,
        execution, stage; lambdas/approval_verify). No such record, or a self-approval, fails the
        run as ``ApprovalNotVerified``; a timeout or a rejection fails it too. Nothing is bought.

        Returns the asking task and the Choice on the verified decision; the caller adds the
        "approved" branch.
        """
        execution = {
            "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
            **EXECUTION_IDENTITY,
            "stage": stage,
        }
        ask = self.lambda_task(
            name,
            "approval_request",
            {
                "taskToken": sfn.JsonPath.task_token,
                **execution,
                "plan": sfn.JsonPath.object_at(PLAN),
                "loss": sfn.JsonPath.object_at("$.loss"),
                "evaluation": sfn.JsonPath.object_at("$.evaluation"),
                "judge": sfn.JsonPath.object_at("$.judge"),
            },
            result_path=result_path,
            wait_for_task_token=True,
            # Its catches are added here: the timeout must be matched before the catch-all.
            catch=False,
        )
        timed_out = sfn.Pass(
            self.scope,
            f"{name}: timed out",
            comment="No decision in time counts as a rejection: nothing is bought",
            parameters={
                "Error": "ApprovalTimedOut",
                "Cause": sfn.JsonPath.format(
                    "No approval decision within {} seconds; treated as rejected. Nothing was bought.",
                    sfn.JsonPath.string_at(f"{PLAN}.approval.timeoutSeconds"),
                ),
            },
            result_path="$.failure",
        ).next(self.catch_all)
        ask.add_catch(timed_out, errors=["States.Timeout"], result_path="$.failure")
        self.catch(ask, STEP_ERRORS["approval_request"])
        verify = self.lambda_task(
            f"{name}: verify the answer",
            "approval_verify",
            {**execution, "answer": sfn.JsonPath.object_at(result_path)},
            result_path=result_path,
            catch=False,
        )
        # A verification that fails leaves no unverified answer behind for the failure path to record
        # as if it were the decision: the slot says "not verified", the error goes to $.failure.
        verify.add_catch(
            sfn.Pass(
                self.scope,
                f"{name}: verification failed",
                parameters={
                    "verified": False,
                    "approved": False,
                    "approver": "",
                    "reason": "the answer could not be checked against its decision of record",
                    "stage": stage,
                },
                result_path=result_path,
            ).next(self.failed_as(STEP_ERRORS["approval_verify"])),
            errors=["States.ALL"],
            result_path="$.failure",
        )
        not_verified = sfn.Pass(
            self.scope,
            f"{name}: not verified",
            comment="An answer without a matching decision of record counts as a rejection",
            parameters={
                "Error": "ApprovalNotVerified",
                "Cause": sfn.JsonPath.format(
                    "The approval answer was not verified: {}. Treated as a rejection; nothing was bought.",
                    sfn.JsonPath.string_at(f"{result_path}.reason"),
                ),
            },
            result_path="$.failure",
        ).next(self.catch_all)
        rejected = sfn.Pass(
            self.scope,
            f"{name}: rejected",
            parameters={
                "Error": "ApprovalRejected",
                "Cause": sfn.JsonPath.format(
                    "Rejected by {}: {}",
                    sfn.JsonPath.string_at(f"{result_path}.approver"),
                    sfn.JsonPath.string_at(f"{result_path}.reason"),
                ),
            },
            result_path="$.failure",
        ).next(self.catch_all)
        # The verified decision always has these fields; anything else is a rejection with a clear
        # reason rather than a failure inside a state (States.Runtime would skip cleanup and record).
        malformed = sfn.Pass(
            self.scope,
            f"{name}: answer not understood",
            parameters={
                "Error": "ApprovalRejected",
                "Cause": sfn.JsonPath.format(
                    "The approval answer was not understood (expected approved, approver and reason): {}. "
                    "Treated as a rejection; nothing was bought.",
                    sfn.JsonPath.json_to_string(sfn.JsonPath.object_at(result_path)),
                ),
            },
            result_path="$.failure",
        ).next(self.catch_all)
        choice = sfn.Choice(self.scope, decided)
        choice.when(
            sfn.Condition.and_(
                sfn.Condition.is_present(f"{result_path}.approved"),
                sfn.Condition.is_boolean(f"{result_path}.approved"),
                sfn.Condition.is_present(f"{result_path}.approver"),
                sfn.Condition.is_string(f"{result_path}.approver"),
                sfn.Condition.is_present(f"{result_path}.reason"),
                sfn.Condition.is_string(f"{result_path}.reason"),
                sfn.Condition.boolean_equals(f"{result_path}.approved", False),
            ),
            rejected,
        )
        choice.otherwise(malformed)
        verified = sfn.Choice(self.scope, f"{name}: is the answer on record?")
        verified.when(
            sfn.Condition.and_(
                sfn.Condition.is_present(f"{result_path}.verified"),
                sfn.Condition.is_boolean(f"{result_path}.verified"),
                sfn.Condition.boolean_equals(f"{result_path}.verified", True),
            ),
            choice,
        )
        verified.otherwise(not_verified)
        ask.next(verify)
        verify.next(verified)
        return ask, choice

    @staticmethod
    def approved(path: str) -> sfn.Condition:
        """A verified "yes": the decision of record approves, and names its approver."""
        return sfn.Condition.and_(
            sfn.Condition.is_present(f"{path}.verified"),
            sfn.Condition.boolean_equals(f"{path}.verified", True),
            sfn.Condition.is_present(f"{path}.approved"),
            sfn.Condition.is_boolean(f"{path}.approved"),
            sfn.Condition.boolean_equals(f"{path}.approved", True),
            sfn.Condition.is_present(f"{path}.approver"),
            sfn.Condition.is_string(f"{path}.approver"),
        )

    def wait_loop(
        self,
        what: str,
        *,
        kind: str,
        arn: str,
        plan_path: str,
        status_path: str,
        ready: sfn.IChainable,
        failed: sfn.IChainable,
        timed_out: sfn.IChainable,
        handler: str = "check_status",
        payload: dict[str, Any] | None = None,
    ) -> sfn.Wait:
        """Wait, check, decide: three transitions a poll, intervals from the plan's capped schedule.

        Neither deployments nor throughput send state-change events, so this polls; the check
        Lambda counts attempts and picks the next interval, and says when the plan's limit is up.
        ``handler`` and ``payload`` replace the status check (the judge's jobs are checked by the
        judge handler); the payload gets ``previous`` and ``schedule`` added.
        """
        first = sfn.Wait(
            self.scope, f"Wait for {what}", time=sfn.WaitTime.seconds_path(f"{plan_path}.firstWaitSeconds")
        )
        check = self.lambda_task(
            f"Check {what}",
            handler,
            {
                "runId": sfn.JsonPath.string_at(EXECUTION_NAME),
                **(payload if payload is not None else {"kind": kind, "arn": arn}),
                "previous": sfn.JsonPath.object_at(status_path),
                "schedule": sfn.JsonPath.list_at(f"{plan_path}.pollSchedule"),
            },
            result_path=status_path,
        )
        again = sfn.Wait(
            self.scope,
            f"Wait before checking {what} again",
            time=sfn.WaitTime.seconds_path(f"{status_path}.waitSeconds"),
        )
        first.next(check)
        again.next(check)
        check.next(
            sfn.Choice(self.scope, f"Is {what} ready?")
            .when(sfn.Condition.boolean_equals(f"{status_path}.ready", True), ready)
            .when(sfn.Condition.boolean_equals(f"{status_path}.failed", True), failed)
            .when(sfn.Condition.boolean_equals(f"{status_path}.timedOut", True), timed_out)
            .otherwise(again)
        )
        return first


def _retry_on(
    state: sfn.TaskStateBase | sfn.CustomState, errors: tuple[str, ...], schedule: RetrySchedule
) -> None:
    """A shared schedule (pipeline.retries), written exactly as it is computed there."""
    state.add_retry(
        errors=list(errors),
        interval=Duration.seconds(schedule.interval_s),
        max_attempts=schedule.max_attempts,
        backoff_rate=schedule.backoff_rate,
        max_delay=Duration.seconds(schedule.max_delay_s),
        jitter_strategy=sfn.JitterType.FULL,
    )


def _retry(
    state: sfn.TaskStateBase | sfn.CustomState,
    errors: tuple[str, ...],
    *,
    first_s: int,
    attempts: int,
    cap_s: int,
) -> None:
    """Capped, jittered exponential backoff on the given transient errors."""
    state.add_retry(
        errors=list(errors),
        interval=Duration.seconds(first_s),
        max_attempts=attempts,
        backoff_rate=2,
        max_delay=Duration.seconds(cap_s),
        jitter_strategy=sfn.JitterType.FULL,
    )
