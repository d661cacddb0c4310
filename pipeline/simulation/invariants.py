"""Money invariants: checked on every simulated run, from the simulated Bedrock's ledger and calls.

Whatever a scenario expects, a run must never spend money it should not: one job, each purchase
once, nothing bought after a failed gate or before the quality bar where the model could be judged
without buying, no commitment before the bar, nothing no-commitment left billing after a failure,
no deployment left alive but the one that serves.
"""

from __future__ import annotations

from typing import Final

from pipeline.simulation.result import Check, SimulationResult

FAILURE_PATH_START: Final = "Release what this run bought"
BUY_STATES: Final = frozenset(
    {
        "Buy provisioned throughput (no commitment)",
        "Buy provisioned throughput (commitment)",
        "Buy throughput to evaluate on",
    }
)
EVALUATE_STATE: Final = "Compare the custom model with its base model"
JUDGE_VERDICT_STATE: Final = "Read the judge's scores"


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
        *_evaluate_before_buying(result),
        *_judge_before_buying(result),
    ]
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
                "the evaluation throughput is released once the serving purchase is in service",
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
            len(jobs) <= 2 and len({j["name"] for j in jobs}) == len(jobs),
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
