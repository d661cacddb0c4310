"""How a run ends: recorded and notified on success, or released, recorded and notified on failure.

Every failure, whatever its source, takes the one failure path: release what the run bought (never
a commitment), record the run, notify, fail with the reason. A success whose record cannot be
written still succeeds: what passed its bar is kept, and the notice says where to look.
"""

from __future__ import annotations

from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from infra.constructs.workflow_states import EXECUTION_IDENTITY, EXECUTION_NAME, PLAN, StateKit
from pipeline.workflow_names import RELEASE_ALL, RUN_FAILED


def success_path(kit: StateKit, topic: sns.ITopic) -> tasks.LambdaInvoke:
    """Record the run, notify, succeed; returns the first state (what the serving branches end in)."""
    scope = kit.scope
    record = kit.lambda_task(
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
        scope,
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
        scope,
        "Notify: run succeeded",
        topic=topic,
        subject=sfn.JsonPath.string_at("$.recorded.subject"),
        message=sfn.TaskInput.from_json_path_at("$.recorded.message"),
        result_path=sfn.JsonPath.DISCARD,
    )
    kit.retry_sns(notify_success)
    done = sfn.Succeed(scope, "Run complete")
    # The run did succeed: a notification that cannot be sent must not send it down the failure
    # path, which would release the throughput that just passed evaluation.
    notify_success.add_catch(done, errors=["States.ALL"], result_path="$.notifyError")
    record_fallback.next(notify_success)
    record.next(notify_success).next(done)
    return record


def failure_path(kit: StateKit, topic: sns.ITopic) -> tasks.LambdaInvoke:
    """Release what the run bought, record the run, notify, fail with the reason."""
    scope = kit.scope
    run_id = sfn.JsonPath.string_at(EXECUTION_NAME)
    cleanup = kit.lambda_task(
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
    record = kit.lambda_task(
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
        scope,
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
        scope,
        "Notify: run failed",
        topic=topic,
        subject=sfn.JsonPath.string_at("$.recorded.subject"),
        message=sfn.TaskInput.from_json_path_at("$.recorded.message"),
        result_path=sfn.JsonPath.DISCARD,
    )
    kit.retry_sns(notify)
    fail = sfn.Fail(scope, RUN_FAILED, error_path="$.failure.Error", cause_path="$.failure.Cause")
    # The notification is best effort once retries are spent: the run must still end failed
    # with its reason, not with a notification error.
    notify.add_catch(fail, errors=["States.ALL"], result_path="$.notifyError")
    # A failed cleanup must not hide the original failure: record it next to it and go on.
    cleanup.add_catch(record, errors=["States.ALL"], result_path="$.cleanupError")
    record.add_catch(fallback, errors=["States.ALL"], result_path="$.recordError")
    fallback.next(notify)
    cleanup.next(record).next(notify).next(fail)
    return cleanup
