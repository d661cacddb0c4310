"""Serving: only once the bars passed, and only through a guard that re-reads the verdicts.

Keep the on-demand deployment, buy throughput (after approval where the policy asks; a commitment
only here), or serve nothing. Each state that buys or keeps something to serve sits behind a runtime
guard: a Choice that re-reads the verdicts in the run's state and fails closed
(``PurchaseWithoutVerdict``) if a later change rewires the graph around the gates
(tests/infra/test_money_paths.py proves the gates statically; the guard is the check that runs).
"""

from __future__ import annotations

from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from infra.constructs import bedrock_tasks
from infra.constructs.workflow_slots import promotion, record_slot, take_slot
from infra.constructs.workflow_states import EXECUTION_NAME, PLAN, StateKit
from pipeline.evaluation import VERDICT_PASSED
from pipeline.workflow_names import (
    ASK_TO_SERVE,
    BUY_COMMITMENT,
    BUY_SERVING,
    GUARD_BUY_COMMITMENT,
    GUARD_BUY_SERVING,
    GUARD_KEEP_DEPLOYMENT,
    GUARD_PROMOTE,
    GUARD_REUSE,
    PURCHASE_WITHOUT_VERDICT,
    PURCHASE_WITHOUT_VERDICT_STATE,
    RECORD_NEW_SLOT_ON_DEPLOYMENT,
    RECORD_NEW_SLOT_ON_THROUGHPUT,
    RECORD_SLOT,
    SERVE_ON_DEPLOYMENT,
    SERVE_ON_EVALUATION_THROUGHPUT,
    SERVES_FROM_SLOT,
    SMOKE_SLOT,
)

SERVING_PLAN = f"{PLAN}.serving"


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


def smoke(kit: StateKit, name: str, model_path: str) -> tasks.LambdaInvoke:
    """A few prompts on what will serve: every one must come back with an answer."""
    return kit.lambda_task(
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


def serving_states(kit: StateKit, *, record: sfn.IChainable) -> sfn.Choice:
    """The serving branches, each ending in ``record``; returns the Choice they start from."""
    scope = kit.scope
    slot_plan = f"{PLAN}.slot"
    # A run into a serving slot records the slot (and gives its lock back) before the run record.
    in_slot = sfn.Condition.is_not_null(slot_plan)
    served = (
        sfn.Choice(scope, SERVES_FROM_SLOT)
        .when(
            sfn.Condition.and_(in_slot, sfn.Condition.boolean_equals(f"{slot_plan}.exists", True)),
            record_slot(kit, RECORD_SLOT, endpoint=None, then=record),
        )
        .when(
            sfn.Condition.and_(in_slot, sfn.Condition.is_present("$.throughput.ProvisionedModelArn")),
            record_slot(
                kit, RECORD_NEW_SLOT_ON_THROUGHPUT, endpoint="$.throughput.ProvisionedModelArn", then=record
            ),
        )
        .when(in_slot, record_slot(kit, RECORD_NEW_SLOT_ON_DEPLOYMENT, endpoint="$.vehicle.Arn", then=record))
        .otherwise(record)
    )
    how_served = sfn.Choice(
        scope,
        "How is the custom model served?",
        comment="Keep the deployment, buy throughput (after approval where the policy asks), or "
        "serve nothing; a commitment is only ever bought here, after the bar",
    )
    ask_to_serve, serving_approved = kit.approval(
        "serving", ASK_TO_SERVE, "Was the purchase approved?", result_path="$.approval"
    )
    buy = {
        commitment: bedrock_tasks.buy_throughput(
            kit,
            name,
            plan_path=SERVING_PLAN,
            with_commitment=commitment,
            result_selector={"ProvisionedModelArn": sfn.JsonPath.string_at("$.ProvisionedModelArn")},
            result_path="$.throughput",
        )
        for commitment, name in ((False, BUY_SERVING), (True, BUY_COMMITMENT))
    }
    reuse = sfn.Pass(
        scope,
        SERVE_ON_EVALUATION_THROUGHPUT,
        comment="The evaluation throughput is exactly what the spec serves with: one purchase, kept",
        parameters={"ProvisionedModelArn": sfn.JsonPath.string_at("$.vehicle.Arn")},
        result_path="$.throughput",
    )
    keep_deployment = sfn.Pass(
        scope,
        SERVE_ON_DEPLOYMENT,
        comment="The evaluation deployment becomes the serving one: from here a success keeps it",
        result_path=sfn.JsonPath.DISCARD,
    )
    smoke_failed = kit.gate_failure("Smoke check failed", "SmokeCheckFailed", "$.smoke.summary")
    smoke_throughput = smoke(
        kit, "Smoke-check the provisioned throughput", "$.throughput.ProvisionedModelArn"
    )
    smoke_deployment = smoke(kit, "Smoke-check the on-demand deployment", "$.vehicle.Arn")
    keep_deployment.next(smoke_deployment)
    throughput_wait = kit.wait_loop(
        "the throughput",
        kind="throughput",
        arn=sfn.JsonPath.string_at("$.throughput.ProvisionedModelArn"),
        plan_path=SERVING_PLAN,
        status_path="$.ptStatus",
        ready=smoke_throughput,
        failed=kit.gate_failure(
            "Throughput failed",
            "ThroughputFailed",
            None,
            cause=sfn.JsonPath.format(
                "Provisioned throughput {} reported status Failed: {}",
                sfn.JsonPath.string_at("$.throughput.ProvisionedModelArn"),
                sfn.JsonPath.string_at("$.ptStatus.failureMessage"),
            ),
        ),
        timed_out=kit.gate_failure(
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
    for checked, name in (
        (smoke_throughput, "Does the throughput answer?"),
        (smoke_deployment, "Does the deployment answer?"),
    ):
        checked.next(
            sfn.Choice(scope, name)
            .when(sfn.Condition.boolean_equals("$.smoke.passed", True), served)
            .otherwise(smoke_failed)
        )
    promote = promotion(kit, smoke=smoke(kit, SMOKE_SLOT, f"{slot_plan}.endpointArn"), record=served)

    without_verdict = kit.gate_failure(
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
            sfn.Condition.and_(verdict_condition(for_purchase=True), kit.approved("$.approval")),
        ),
        reuse: (GUARD_REUSE, verdict_condition(for_purchase=True)),
        keep_deployment: (GUARD_KEEP_DEPLOYMENT, verdict_condition(for_purchase=False)),
        # Replacing a champion in place needs a bar set and passed, the champion's included.
        promote: (GUARD_PROMOTE, verdict_condition(for_purchase=True)),
    }
    guards = {
        state: sfn.Choice(scope, name).when(condition, state).otherwise(without_verdict)
        for state, (name, condition) in guarded.items()
    }

    provisioned = sfn.Condition.string_equals(f"{SERVING_PLAN}.mode", "provisioned")
    how_served.when(
        sfn.Condition.and_(
            sfn.Condition.or_(provisioned, in_slot),
            sfn.Condition.boolean_equals(f"{PLAN}.approval.beforeServing", True),
            sfn.Condition.is_null("$.approval"),
        ),
        ask_to_serve,
    ).when(
        # One writer per slot: its lock, before anything serves from it.
        sfn.Condition.and_(in_slot, sfn.Condition.is_null("$.slotLock")),
        take_slot(kit, then=how_served),
    ).when(
        sfn.Condition.and_(in_slot, sfn.Condition.boolean_equals(f"{slot_plan}.exists", True)),
        guards[promote],
    ).when(
        sfn.Condition.and_(
            provisioned, sfn.Condition.boolean_equals(f"{SERVING_PLAN}.reusesEvaluationThroughput", True)
        ),
        guards[reuse],
    ).when(
        sfn.Condition.and_(provisioned, sfn.Condition.string_equals(f"{SERVING_PLAN}.commitment", "none")),
        guards[buy[False]],
    ).when(provisioned, guards[buy[True]]).when(
        sfn.Condition.string_equals(f"{SERVING_PLAN}.mode", "on-demand"), guards[keep_deployment]
    ).otherwise(record)
    serving_approved.when(kit.approved("$.approval"), how_served)
    return how_served
