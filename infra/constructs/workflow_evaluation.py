"""Evaluation before anything is bought: the vehicle, the comparison, its release, the bars.

The plan picks the vehicle: an on-demand custom model deployment where Bedrock deploys this base
(nothing bought), else one model unit of no-commitment throughput bought only to evaluate (after
approval where the policy asks). The custom model is compared with its base model; right after,
the vehicle is released unless it is exactly what serves. Then the quality gate (ROUGE-L), and the
LLM judge's bars where the plan has a judge, before anything serves.
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn

from infra.constructs import bedrock_tasks
from infra.constructs.workflow_states import EXECUTION_IDENTITY, EXECUTION_NAME, PLAN, StateKit
from pipeline.judge import JUDGE_BELOW_BAR, JUDGE_JOB_FAILED, JUDGE_TIMEOUT
from pipeline.workflow_names import (
    ASK_TO_EVALUATE,
    BUY_EVALUATION,
    EVALUATE,
    JUDGE_GATE,
    JUDGE_START,
    JUDGE_VERDICT,
    QUALITY_GATE,
    RELEASE_VEHICLE,
    VEHICLE_SERVES,
)

VEHICLE_PLAN = f"{PLAN}.vehicle"


def evaluation_states(kit: StateKit, *, how_served: sfn.IChainable) -> sfn.Choice:
    """From the loss gate to serving; returns the Choice of the evaluation vehicle."""
    scope = kit.scope
    deploy = bedrock_tasks.create_deployment(kit)
    buy_for_evaluation = bedrock_tasks.buy_throughput(
        kit,
        BUY_EVALUATION,
        plan_path=VEHICLE_PLAN,
        with_commitment=False,
        result_selector={
            "Kind": "throughput",
            "Arn": sfn.JsonPath.string_at("$.ProvisionedModelArn"),
            "FailedError": "ThroughputFailed",
            "TimeoutError": "ThroughputTimeout",
        },
        result_path="$.vehicle",
    )
    ask_to_evaluate, evaluation_approved = kit.approval(
        "evaluation",
        ASK_TO_EVALUATE,
        "Was the evaluation purchase approved?",
        result_path="$.evaluationApproval",
    )
    how_evaluated = sfn.Choice(
        scope,
        "How is the custom model evaluated?",
        comment="Chosen by the plan: on demand where Bedrock deploys this base, else on a 1-MU "
        "no-commitment throughput; nothing to judge, nothing created",
    )
    evaluate = kit.lambda_task(
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
    vehicle_wait = kit.wait_loop(
        "the evaluation vehicle",
        kind=sfn.JsonPath.string_at("$.vehicle.Kind"),
        arn=sfn.JsonPath.string_at("$.vehicle.Arn"),
        plan_path=VEHICLE_PLAN,
        status_path="$.vehicleStatus",
        ready=evaluate,
        failed=kit.gate_failure(
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
        timed_out=kit.gate_failure(
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

    # Right after the comparison the vehicle has served its purpose: released before any verdict,
    # judge or human wait, unless it is exactly what serves (the deployment kept on demand, or the
    # evaluation throughput reused); nothing bills for an evaluation that is over. A release that
    # fails takes the failure path, which releases again: nothing serves yet that it could lose.
    release = kit.lambda_task(
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
    bar = sfn.Choice(scope, QUALITY_GATE)
    release.next(bar)
    evaluate.next(
        sfn.Choice(
            scope,
            VEHICLE_SERVES,
            comment="Kept only when it is exactly what serves; otherwise released now, before the "
            "verdict, the judge and any approval wait",
        )
        .when(sfn.Condition.boolean_equals(f"{VEHICLE_PLAN}.servesAfterwards", True), bar)
        .otherwise(release)
    )

    is_vehicle = sfn.Condition.string_equals(f"{VEHICLE_PLAN}.kind", "throughput")
    how_evaluated.when(sfn.Condition.string_equals(f"{VEHICLE_PLAN}.kind", "deployment"), deploy).when(
        sfn.Condition.and_(
            is_vehicle,
            sfn.Condition.boolean_equals(f"{PLAN}.approval.beforeEvaluation", True),
            sfn.Condition.is_null("$.evaluationApproval"),
        ),
        ask_to_evaluate,
    ).when(is_vehicle, buy_for_evaluation).otherwise(how_served)
    evaluation_approved.when(kit.approved("$.evaluationApproval"), how_evaluated)

    bar.when(
        sfn.Condition.boolean_equals("$.evaluation.judged", False),
        kit.gate_failure("Evaluation not judged", "EvaluationNotJudged", "$.evaluation.summary"),
    ).when(
        sfn.Condition.boolean_equals("$.evaluation.passed", True), judge_states(kit, how_served=how_served)
    ).otherwise(kit.gate_failure("Custom model below the bar", "EvaluationBelowBar", "$.evaluation.summary"))
    return how_evaluated


def judge_states(kit: StateKit, *, how_served: sfn.IChainable) -> sfn.Choice:
    """The LLM judge (opt-in, after ROUGE-L passed): one evaluation job per compared model (custom,
    base and, in a serving slot with a champion, the champion), a wait, the bars.

    Nothing is bought to serve before its verdict; a failed or late job and a missed bar each take
    the failure path with their own error.
    """
    scope = kit.scope
    run_id = sfn.JsonPath.string_at(EXECUTION_NAME)
    judge_plan = f"{PLAN}.judge"
    start = kit.lambda_task(
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
    read = kit.lambda_task(
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
    wait = kit.wait_loop(
        "the judge",
        kind="judge",
        arn="",
        plan_path=judge_plan,
        status_path="$.judgeStatus",
        handler="judge",
        payload={"jobs": sfn.JsonPath.object_at("$.judgeJobs.jobs"), "mode": "check"},
        ready=read,
        failed=kit.gate_failure(
            "Judge job failed",
            JUDGE_JOB_FAILED,
            None,
            cause=sfn.JsonPath.format(
                "An LLM-judge evaluation job ended without results: {}",
                sfn.JsonPath.string_at("$.judgeStatus.failureMessage"),
            ),
        ),
        timed_out=kit.gate_failure(
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
        sfn.Choice(scope, JUDGE_GATE)
        .when(sfn.Condition.boolean_equals("$.judge.passed", True), how_served)
        .otherwise(kit.gate_failure("Custom model below the judge's bar", JUDGE_BELOW_BAR, "$.judge.summary"))
    )
    return (
        sfn.Choice(
            scope,
            "Is the custom model judged by an LLM?",
            comment="Opt-in (evaluation.judge): its tokens are billed; ROUGE-L has passed already",
        )
        .when(sfn.Condition.is_null(judge_plan), how_served)
        .otherwise(start)
    )
