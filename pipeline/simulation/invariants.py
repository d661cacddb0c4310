"""Money invariants: checked on every simulated run, from the simulated Bedrock's ledger and calls.

Whatever a scenario expects, a run must never spend money it should not: one job, each purchase
once, nothing bought after a failed gate or before the quality bar where the model could be judged
without buying, no commitment before the bar, nothing no-commitment left billing after a failure,
no deployment left alive but the one that serves.
"""

from __future__ import annotations

from typing import Final

from pipeline.evaluation import VERDICT_PASSED
from pipeline.simulation.result import Check, SimulationResult
from pipeline.workflow_names import (
    ASK_TO_SERVE,
    BUY_COMMITMENT,
    BUY_EVALUATION,
    BUY_SERVING,
    EVALUATE,
    JUDGE_START,
    JUDGE_VERDICT,
    RELEASE_ALL,
    SERVE_ON_DEPLOYMENT,
    SERVE_ON_EVALUATION_THROUGHPUT,
)

FAILURE_PATH_START: Final = RELEASE_ALL
BUY_STATES: Final = frozenset({BUY_SERVING, BUY_COMMITMENT, BUY_EVALUATION})
EVALUATE_STATE: Final = EVALUATE
JUDGE_VERDICT_STATE: Final = JUDGE_VERDICT
# What the run makes serve (each after a verdict), and the waits an evaluation throughput that does
# not serve must not bill through.
SERVING_STATES: Final = frozenset(
    {BUY_SERVING, BUY_COMMITMENT, SERVE_ON_EVALUATION_THROUGHPUT, SERVE_ON_DEPLOYMENT}
)
WAITS: Final = frozenset({ASK_TO_SERVE, JUDGE_START})


# --------------------------------------------------------------------------------------------------
# Money invariants
# --------------------------------------------------------------------------------------------------


def money_checks(result: SimulationResult) -> list[Check]:
    """The invariants that keep a run from spending money it should not (checked on every run)."""
    jobs = result.ledger["jobs"]
    throughputs = result.ledger["throughputs"]
    visited = set(result.path)
    failure_start = next((v.entered for v in result.visits if v.name == FAILURE_PATH_START), None)
    checks = [
        Check(
            "at most one customization job per run",
            len(jobs) <= 1,
            f"{len(jobs)} job(s), {sum(j['createRequests'] for j in jobs)} create request(s)",
        ),
        Check(
            "at most one purchase per purpose (evaluation, serving), each bought once",
            len(throughputs) <= 2 and len({t["name"] for t in throughputs}) == len(throughputs),
            f"{len(throughputs)} purchase(s), "
            f"{sum(t['createRequests'] for t in throughputs)} create request(s)",
        ),
        *_trained_once_after_waiting_in_line(result),
        *_evaluate_before_buying(result),
        *_judge_before_buying(result),
        *_verdict_before_serving(result),
        *_evaluation_released_before_waiting(result),
    ]
    touched = [e["arn"] for e in result.ledger.get("earlier", []) if not e["alive"] or e["stopRequests"]]
    checks.append(
        Check(
            "what an earlier execution of the same run id created is never touched",
            not touched,
            f"deleted or stopped: {touched}"
            if touched
            else f"{len(result.ledger.get('earlier', []))} of an earlier execution's resource(s), untouched",
        )
    )
    unfinished = [r["name"] for r in result.releases if r["status"] != "SUCCEEDED"]
    checks.append(
        Check(
            "every retrying release ends with everything it was handed released",
            not unfinished,
            f"not released: {unfinished}" if unfinished else f"{len(result.releases)} release(s), all done",
        )
    )
    if result.status != "SUCCEEDED":
        alive = [t["arn"] for t in throughputs if t["alive"] and t["commitment"] == "none"]
        checks.append(
            Check(
                "no no-commitment throughput left alive after a failure",
                not alive,
                f"still billed: {', '.join(alive)}" if alive else "none alive",
            )
        )
    late = [
        c
        for c in result.bedrock_calls
        if failure_start is not None
        and c["at"] > failure_start
        and c["call"].split(":", 1)[1].startswith("Create")
        and c["outcome"] == "ok"
    ]
    bought_without_buying = bool(throughputs) and not visited & BUY_STATES
    checks.append(
        Check(
            "nothing bought after a failed gate",
            not late and not bought_without_buying,
            (
                f"created after the failure path began: {[c['call'] for c in late]}"
                if late
                else "a purchase without a Buy state"
                if bought_without_buying
                else "no create call after the failure path began"
            ),
        )
    )
    approval_required = bool(((result.plan or {}).get("approval") or {}).get("required"))
    if throughputs and approval_required:
        checks.append(
            Check(
                "a purchase that needs approval was approved",
                result.approval.get("outcome") == "approved",
                f"approval outcome: {result.approval.get('outcome')}",
            )
        )
    kept_commitments = [t for t in throughputs if t["commitment"] != "none"]
    checks.append(
        Check(
            "a commitment is never deleted",
            all(t["alive"] for t in kept_commitments),
            f"{len(kept_commitments)} commitment(s), all kept"
            if kept_commitments
            else "no commitment bought",
        )
    )
    running = [j["name"] for j in jobs if j["status"] == "InProgress"]
    checks.append(
        Check(
            "no training job left running when the run ends",
            not running,
            f"still InProgress: {running}" if running else "none running",
        )
    )
    serving = (result.plan or {}).get("serving") or {}
    if result.status == "SUCCEEDED":
        serving_name = serving.get("ProvisionedModelName")
        kept = [t for t in throughputs if t["name"] == serving_name]
        lost = [t["arn"] for t in kept if not t["alive"] or t["status"] != "InService"]
        checks.append(
            Check(
                "a successful run keeps the throughput it serves with in service",
                not lost,
                f"not in service: {lost}" if lost else f"{len(kept)} in service",
            )
        )
        extra = [t["arn"] for t in throughputs if t["alive"] and t["name"] != serving_name]
        checks.append(
            Check(
                "no throughput alive at the end of a successful run but the one that serves",
                not extra,
                f"still billed: {extra}" if extra else "no throughput alive but the serving one",
            )
        )
    deployments = result.ledger.get("deployments", [])
    vehicle = (result.plan or {}).get("vehicle") or {}
    serving_deployment = (
        vehicle.get("ModelDeploymentName")
        if result.status == "SUCCEEDED" and serving.get("mode") == "on-demand"
        else None
    )
    stray = [d["arn"] for d in deployments if d["alive"] and d["name"] != serving_deployment]
    checks.append(
        Check(
            "no deployment left alive that is not the serving deployment",
            not stray,
            f"alive: {stray}"
            if stray
            else f"{sum(1 for d in deployments if d['alive'])} kept to serve, "
            f"{sum(1 for d in deployments if not d['alive'])} deleted",
        )
    )
    return checks


def _trained_once_after_waiting_in_line(result: SimulationResult) -> list[Check]:
    """A run that waited in line for a training slot (its job's create call refused by the quota)
    trains once: the refused calls created nothing, the one job came after the last refusal, and
    nothing was bought or deployed while it waited."""
    refused = [
        c["at"]
        for c in result.bedrock_calls
        if c["call"].endswith(":CreateModelCustomizationJob")
        and c["outcome"] in ("ServiceQuotaExceededException", "fault:ServiceQuotaExceededException")
    ]
    if not refused:
        return []
    jobs = result.ledger["jobs"]
    last = max(refused)
    bought_while_waiting = [
        c["call"]
        for c in result.bedrock_calls
        if c["at"] <= last
        and c["call"].split(":", 1)[1].startswith("Create")
        and not c["call"].endswith(":CreateModelCustomizationJob")
        and c["outcome"] == "ok"
    ]
    ok = (
        all(j["createRequests"] == 1 and j["createdAt"] >= last for j in jobs)
        and len(jobs) <= 1
        and not bought_while_waiting
    )
    return [
        Check(
            "a run that waited in line for a training slot trains once, after it, and buys nothing meanwhile",
            ok,
            f"{len(refused)} create call(s) refused by the quota until {last:.0f} s; "
            + (
                f"{len(jobs)} job(s), created at {[round(j['createdAt']) for j in jobs]} s"
                if jobs
                else "no job"
            )
            + (f"; created while waiting: {bought_while_waiting}" if bought_while_waiting else ""),
        )
    ]


def _bar_passed_at(result: SimulationResult) -> float | None:
    """When the quality gate passed: the end of a passing comparison with the base model."""
    for visit in result.visits:
        if visit.name == EVALUATE_STATE and isinstance(visit.output, dict):
            evaluation = visit.output.get("evaluation") or {}
            if evaluation.get("passed") is True:
                return visit.exited if visit.exited is not None else visit.entered
    return None


def _judge_before_buying(result: SimulationResult) -> list[Check]:
    """With an LLM judge, nothing is bought to serve before the judge's verdict passed."""
    plan = result.plan or {}
    if not plan.get("judge"):
        return []
    passed_at = None
    for visit in result.visits:
        output = visit.output if isinstance(visit.output, dict) else {}
        if visit.name == JUDGE_VERDICT_STATE and (output.get("judge") or {}).get("passed") is True:
            passed_at = visit.exited if visit.exited is not None else visit.entered
    evaluation_name = (plan.get("vehicle") or {}).get("ProvisionedModelName")
    serving = [t for t in result.ledger["throughputs"] if t["name"] != evaluation_name]
    early = [t["name"] for t in serving if passed_at is None or t["createdAt"] < passed_at]
    jobs = result.ledger.get("evaluationJobs", [])
    # One per model the plan's judge names: custom and base, and a serving slot's champion.
    allowed = len((plan.get("judge") or {}).get("jobs") or {}) or 2
    return [
        Check(
            "nothing bought to serve before the judge's verdict passed",
            not early,
            f"bought before the verdict: {early}"
            if early
            else f"{len(serving)} serving purchase(s), all after the verdict",
        ),
        Check(
            "at most one evaluation job per model, each created once",
            len(jobs) <= allowed and len({j["name"] for j in jobs}) == len(jobs),
            f"{len(jobs)} evaluation job(s), {sum(j['createRequests'] for j in jobs)} create request(s)",
        ),
    ]


def _evaluate_before_buying(result: SimulationResult) -> list[Check]:
    """Nothing is bought for a model before it passed its bar where it could be judged without buying."""
    plan = result.plan or {}
    vehicle = (plan.get("vehicle") or {}).get("kind")
    if vehicle in (None, "none"):
        return []
    throughputs = result.ledger["throughputs"]
    passed_at = _bar_passed_at(result)
    checks = []
    commitments_early = [
        t["name"]
        for t in throughputs
        if t["commitment"] != "none" and (passed_at is None or t["createdAt"] < passed_at)
    ]
    checks.append(
        Check(
            "no commitment bought before the quality bar passed",
            not commitments_early,
            f"bought before the bar: {commitments_early}" if commitments_early else "none before the bar",
        )
    )
    if vehicle == "deployment":
        early = [t["name"] for t in throughputs if passed_at is None or t["createdAt"] < passed_at]
        checks.append(
            Check(
                "no throughput of any kind bought before the bar passed (the model deploys on demand)",
                not early,
                f"bought before the bar: {early}"
                if early
                else f"{len(throughputs)} bought, all after the bar",
            )
        )
        purchases = [
            c["at"] for c in result.bedrock_calls if c["call"].endswith(":CreateProvisionedModelThroughput")
        ]
        custom_calls = [
            i["at"]
            for i in result.ledger.get("invocations", [])
            if i["target"] == "deployment" and i["outcome"] == "ok"
        ]
        first_custom = min(custom_calls) if custom_calls else None
        ordered = not purchases or (first_custom is not None and first_custom <= min(purchases))
        checks.append(
            Check(
                "the custom model answered on demand before any throughput purchase",
                ordered,
                "no purchase"
                if not purchases
                else f"first custom-model answer at {first_custom}, first purchase at {min(purchases)}",
            )
        )
    return checks


def _verdicts(result: SimulationResult) -> tuple[float | None, float | None, bool]:
    """(when a bar was set and passed, when the judge passed, whether the plan has a judge)."""
    quality_at = judge_at = None
    for visit in result.visits:
        output = visit.output if isinstance(visit.output, dict) else {}
        at = visit.exited if visit.exited is not None else visit.entered
        if visit.name == EVALUATE_STATE and (output.get("evaluation") or {}).get("verdict") == VERDICT_PASSED:
            quality_at = at
        if visit.name == JUDGE_VERDICT_STATE and (output.get("judge") or {}).get("passed") is True:
            judge_at = at
    return quality_at, judge_at, bool((result.plan or {}).get("judge"))


def passing_verdict_at(result: SimulationResult) -> float | None:
    """When the run's verdicts all passed (a bar set and met, and the judge's where it judges)."""
    quality_at, judge_at, judged = _verdicts(result)
    if quality_at is None or (judged and judge_at is None):
        return None
    return max(quality_at, judge_at or 0.0)


def _verdict_before_serving(result: SimulationResult) -> list[Check]:
    """Nothing is bought or kept to serve before a passing verdict: a quality bar that was set and
    met (for a purchase; keeping the on-demand deployment needs a passing evaluation), and the
    judge's bars where the plan has a judge."""
    quality_at, judge_at, judged = _verdicts(result)
    passed_any_at = next(
        (
            v.exited if v.exited is not None else v.entered
            for v in result.visits
            if v.name == EVALUATE_STATE
            and isinstance(v.output, dict)
            and (v.output.get("evaluation") or {}).get("passed") is True
        ),
        None,
    )
    early = []
    for visit in result.visits:
        if visit.name not in SERVING_STATES:
            continue
        needed = passed_any_at if visit.name == SERVE_ON_DEPLOYMENT else quality_at
        if needed is None or needed > visit.entered:
            early.append(f"{visit.name} (no passing quality verdict before it)")
        elif judged and (judge_at is None or judge_at > visit.entered):
            early.append(f"{visit.name} (no passing judge verdict before it)")
    served = [v.name for v in result.visits if v.name in SERVING_STATES]
    return [
        Check(
            "nothing bought or kept to serve without a passing verdict",
            not early,
            f"without a verdict: {early}"
            if early
            else f"{len(served)} serving step(s), each after its verdict"
            if served
            else "nothing bought or kept to serve",
        )
    ]


def _evaluation_released_before_waiting(result: SimulationResult) -> list[Check]:
    """An evaluation throughput that does not serve is gone before any wait for a person or a judge."""
    vehicle = (result.plan or {}).get("vehicle") or {}
    if vehicle.get("kind") != "throughput" or vehicle.get("servesAfterwards"):
        return []
    name = vehicle.get("ProvisionedModelName")
    bought = [t for t in result.ledger["throughputs"] if t["name"] == name]
    billing_through = [
        f"{v.name} at {v.entered:.0f} s"
        for v in result.visits
        if v.name in WAITS
        for t in bought
        if t["createdAt"] <= v.entered and (t.get("deletedAt") is None or t["deletedAt"] > v.entered)
    ]
    return [
        Check(
            "the evaluation throughput is released before any wait for a person or a judge",
            not billing_through,
            f"still billed while waiting: {billing_through}"
            if billing_through
            else "released before any such wait"
            if bought
            else "no evaluation throughput bought",
        )
    ]
