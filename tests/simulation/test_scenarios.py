"""Every path of the synthesized state machine, executed offline: one test per scenario.

Each scenario of pipeline/simulation/scenarios.json runs the synthesized definition in moto's
interpreter with the real handlers and the simulated Bedrock. The test asserts what the scenario
expects (final status, error and cause, the exact states visited, the transition count, the
notifications, what Bedrock holds at the end) and, independently of the scenario's data, the
money invariants every run must keep.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.simulation.runner import FAILURE_PATH_START, SimulationResult, render_text, simulate
from pipeline.simulation.scenarios import Scenario, load_scenarios

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = load_scenarios()
REQUIRED = (
    "happy",
    "distillation",
    "invalid-dataset",
    "job-failed",
    "job-stopped",
    "loss-above-bar",
    "approval-rejected",
    "approval-timeout",
    "pt-failed",
    "pt-timeout",
    "eval-below-bar",
    "throttling",
    "duplicate-start",
    "commitment-below-bar",
    "commitment-after-bar",
    "deployment-failed",
    "deployment-timeout",
    "base-model-unreachable",
    "serve-on-demand",
    "no-on-demand-model",
    "approval-forged",
    "self-approval",
    "cleanup-retried-until-gone",
    "name-reuse",
    "slot-first-promotion",
    "slot-challenger-wins",
    "slot-challenger-loses",
    "slot-swap-fails",
    "slot-judge-prefers-champion",
)
# Gates that refuse the run before anything is bought.
EVALUATE = "Compare the custom model with its base model"
BEFORE_PURCHASE = {
    "PreflightFailed",
    "LossAboveBar",
    "ApprovalRejected",
    "ApprovalTimedOut",
    "ApprovalNotVerified",
    "TrainingJobFailed",
    "TrainingTimedOut",
    "TrainingQuotaExceeded",
}
# With an on-demand evaluation, nothing is bought before these verdicts either.
BEFORE_PURCHASE_ON_DEMAND = {
    "EvaluationBelowBar",
    "EvaluationNotJudged",
    "DeploymentFailed",
    "DeploymentTimeout",
}

Run = Callable[[Scenario], SimulationResult]


@pytest.fixture(scope="module")
def run(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Run a scenario once per module; later tests of the same scenario reuse the result."""
    cache: dict[str, SimulationResult] = {}

    def run_scenario(scenario: Scenario) -> SimulationResult:
        key = repr(scenario)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"sim-{scenario.name}")
            cache[key] = simulate(ROOT / scenario.spec, scenario, template, out_dir=out, report=False)
        return cache[key]

    return run_scenario


def test_every_required_scenario_is_defined() -> None:
    assert set(REQUIRED) <= set(SCENARIOS)
    for scenario in SCENARIOS.values():
        assert scenario.expect.get("path"), f"{scenario.name} must pin the states it visits"
        assert "transitions" in scenario.expect, f"{scenario.name} must pin its transition count"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_outcome(name: str, run: Run) -> None:
    scenario = SCENARIOS[name]
    result = run(scenario)
    expect = scenario.expect
    assert result.status == expect["status"], render_text(result)
    if "error" in expect:
        assert result.error == expect["error"], result.cause
    for text in expect.get("causeContains", []):
        assert text in (result.cause or ""), f"{text!r} not in cause {result.cause!r}"
    assert render_text(result).splitlines()[-1] == result.status


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_states_visited_and_transitions(name: str, run: Run) -> None:
    scenario = SCENARIOS[name]
    result = run(scenario)
    assert result.path == scenario.expect["path"]
    assert result.transitions == scenario.expect["transitions"]
    assert result.transitions == len(result.visits) + result.retries


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_notifications(name: str, run: Run) -> None:
    scenario = SCENARIOS[name]
    result = run(scenario)
    subjects = [n.subject or "" for n in result.notifications]
    wanted = scenario.expect.get("notifications")
    if wanted is not None:
        assert len(subjects) == len(wanted), subjects
        for expected, subject in zip(wanted, subjects, strict=True):
            assert expected in subject
    # The retrying release speaks for itself, after the run ("Bedrock run <id>: released ...").
    release = f"Bedrock run {result.run_id}: "
    run_notices = [n for n in result.notifications if not (n.subject or "").startswith(release)]
    if not run_notices:
        return
    last = run_notices[-1]
    assert result.run_id in f"{last.subject} {last.message}"
    if result.status == "SUCCEEDED":
        assert "succeeded" in (last.subject or "")
    elif result.status == "ABORTED":
        # No catcher ran: the notice comes from the execution-status event's handler.
        assert "aborted: cleaned up" in (last.subject or "")
        assert result.ended is not None and result.ended["summary"] in last.message
    else:
        assert "failed" in (last.subject or "")
        assert result.error and result.error in last.message


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_bedrock_at_the_end(name: str, run: Run) -> None:
    scenario = SCENARIOS[name]
    result = run(scenario)
    expect = scenario.expect
    jobs, throughputs = result.ledger["jobs"], result.ledger["throughputs"]
    if "jobs" in expect:
        assert len(jobs) == expect["jobs"]
    if "jobStatus" in expect:
        assert [job["status"] for job in jobs] == [expect["jobStatus"]]
    if "purchases" in expect:
        assert len(throughputs) == expect["purchases"]
    if "aliveAtEnd" in expect:
        assert sum(1 for pt in throughputs if pt["alive"]) == expect["aliveAtEnd"]
    deployments = result.ledger["deployments"]
    if "deployments" in expect:
        assert len(deployments) == expect["deployments"]
    if "deploymentsAliveAtEnd" in expect:
        assert sum(1 for d in deployments if d["alive"]) == expect["deploymentsAliveAtEnd"]
    if "approval" in expect:
        assert result.approval["outcome"] == expect["approval"]
    if "releases" in expect:
        assert [r["status"] for r in result.releases] == expect["releases"], result.releases


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_money_invariants(name: str, run: Run) -> None:
    """Checked from the simulated Bedrock's ledger and call log, whatever the scenario expects."""
    result = run(SCENARIOS[name])
    jobs, throughputs = result.ledger["jobs"], result.ledger["throughputs"]
    assert len(jobs) <= 1, "more than one customization job for one run"
    assert len({pt["name"] for pt in throughputs}) == len(throughputs) <= 2, "a purchase bought twice"
    assert not [job for job in jobs if job["status"] == "InProgress"], "training left running"
    plan = result.plan or {}
    vehicle = (plan.get("vehicle") or {}).get("kind")
    passed = [
        v
        for v in result.visits
        if v.name == EVALUATE and (v.output or {}).get("evaluation", {}).get("passed")
    ]
    bar_at = passed[0].exited if passed else None
    if vehicle == "deployment":
        # The model deploys on demand: not one throughput of any kind before the bar passed.
        assert all(bar_at is not None and pt["createdAt"] >= bar_at for pt in throughputs), throughputs
    if vehicle in ("deployment", "throughput"):
        commitments = [pt for pt in throughputs if pt["commitment"] != "none"]
        assert all(bar_at is not None and pt["createdAt"] >= bar_at for pt in commitments), commitments
    serving = plan.get("serving") or {}
    vehicle_plan = plan.get("vehicle") or {}
    # Into an existing serving slot the evaluation deployment never serves: the slot's endpoint does.
    keep = (
        vehicle_plan.get("ModelDeploymentName")
        if serving.get("mode") == "on-demand" and vehicle_plan.get("servesAfterwards")
        else None
    )
    alive = [d["name"] for d in result.ledger["deployments"] if d["alive"]]
    assert alive == ([keep] if keep and result.status == "SUCCEEDED" else []), alive
    assert all(pt["alive"] for pt in throughputs if pt["commitment"] != "none"), "a commitment was deleted"
    if result.status != "SUCCEEDED":
        alive = [pt for pt in throughputs if pt["alive"] and pt["commitment"] == "none"]
        assert not alive, "a no-commitment throughput is still billed after the run failed"
    if result.error in BEFORE_PURCHASE or (
        vehicle == "deployment" and result.error in BEFORE_PURCHASE_ON_DEMAND
    ):
        assert not throughputs, f"bought throughput although the run failed with {result.error}"
    failure_start = next((v.entered for v in result.visits if v.name == FAILURE_PATH_START), None)
    if failure_start is not None:
        late = [
            call
            for call in result.bedrock_calls
            if call["at"] > failure_start and ":Create" in call["call"] and call["outcome"] == "ok"
        ]
        assert not late, f"created after the failure path began: {late}"
    assert all(check.ok for check in result.checks), [c for c in result.checks if not c.ok]


def test_throttling_is_absorbed_by_retries(run: Run) -> None:
    result = run(SCENARIOS["throttling"])
    assert result.faults_injected, "the scenario injected no fault"
    assert sum(1 for c in result.bedrock_calls if c["outcome"] == "fault:ThrottlingException") == sum(
        result.faults_injected.values()
    )
    throttled = {v.name for v in result.visits if "Bedrock.ThrottlingException" in v.errors}
    assert {"Buy provisioned throughput (no commitment)"} <= throttled
    # The deployment and the status checks are made by handlers: their boto3 clients absorb the
    # throttled calls (their own retries), and the run goes on.
    for call in ("bedrock:CreateCustomModelDeployment", "bedrock:GetProvisionedModelThroughput"):
        assert any(
            c["call"] == call and c["outcome"] == "fault:ThrottlingException" for c in result.bedrock_calls
        )
    assert result.status == "SUCCEEDED"
    assert any(
        c["call"] == "bedrock-runtime:Converse" and c["outcome"].startswith("fault")
        for c in result.bedrock_calls
    )
    happy = run(SCENARIOS["happy"])
    assert result.transitions == happy.transitions + result.retries


def test_duplicate_start_is_one_execution_one_job_one_purchase(run: Run) -> None:
    result = run(SCENARIOS["duplicate-start"])
    assert result.duplicate_starts == [
        "started again while it runs: the same execution",
        "started again after it ended: refused with ExecutionAlreadyExists",
    ]
    (job,) = result.ledger["jobs"]
    (purchase,) = result.ledger["throughputs"]
    # The answer to each create was lost once: the retry carried the same token and got the same one.
    assert job["createRequests"] == 2
    assert purchase["createRequests"] == 2
    assert job["clientRequestToken"] == result.run_id


def test_approval_timeout_waits_in_simulated_time_only(run: Run) -> None:
    result = run(SCENARIOS["approval-timeout"])
    (ask,) = [v for v in result.visits if v.name == "Ask for approval to serve"]
    assert ask.duration == pytest.approx(2 * 3600)
    assert ask.errors == ["States.Timeout"]
    assert result.real_seconds < 60


def test_transitions_do_not_grow_with_training_time(run: Run) -> None:
    """The job wait is native (.sync): ten minutes or almost four hours of training cost the same."""
    happy = SCENARIOS["happy"]
    results = []
    for seconds in (600, 14000):
        job = dataclasses.replace(happy.bedrock.job, duration_seconds=seconds)
        scenario = dataclasses.replace(happy, bedrock=dataclasses.replace(happy.bedrock, job=job))
        results.append(run(scenario))
    short, long = results
    assert short.status == long.status == "SUCCEEDED"
    assert long.simulated_seconds - short.simulated_seconds == pytest.approx(14000 - 600, abs=600)
    assert short.path == long.path
    assert short.transitions == long.transitions


def test_the_synthesized_definition_runs_unchanged(run: Run) -> None:
    result = run(SCENARIOS["happy"])
    resources = [state.get("Resource", "") for state in result.definition["States"].values()]
    # with validation, without, distillation, reinforcement fine-tuning
    assert resources.count("arn:aws:states:::bedrock:createModelCustomizationJob.sync") == 4
    assert "arn:aws:states:::aws-sdk:bedrock:createProvisionedModelThroughput" in resources
    assert "arn:aws:states:::lambda:invoke.waitForTaskToken" in resources
    job_states = [v for v in result.visits if v.name.startswith("Train the custom model")]
    assert job_states and job_states[0].duration >= SCENARIOS["happy"].bedrock.job.duration_seconds


@pytest.mark.parametrize("name", ["aborted-during-training", "aborted-after-purchase"])
def test_a_run_stopped_from_outside_leaves_nothing_billing(name: str, run: Run) -> None:
    result = run(SCENARIOS[name])
    assert result.status == "ABORTED"
    assert FAILURE_PATH_START not in result.path, "a stopped execution runs no catcher"
    assert result.ended is not None
    assert not [pt for pt in result.ledger["throughputs"] if pt["alive"] and pt["commitment"] == "none"]
    assert not [d for d in result.ledger["deployments"] if d["alive"]]
    assert not [job for job in result.ledger["jobs"] if job["status"] == "InProgress"]
    assert result.ended["recordUri"].endswith("/ended-aborted.json")


def test_a_failed_run_is_not_cleaned_or_notified_twice(run: Run) -> None:
    """The status event also arrives for runs that took their failure path: it finds nothing."""
    result = run(SCENARIOS["eval-below-bar"])
    assert result.ended is not None
    assert result.ended["deletedDeployments"] == [] and result.ended["deleted"] == []
    assert [n.subject for n in result.notifications if "cleaned up" in (n.subject or "")] == []


def test_a_base_model_failing_some_calls_is_compared_on_the_prompts_both_answered(
    template: Path, tmp_path: Path
) -> None:
    # Given: the base model fails one call in twenty (5 %), under the share that makes a comparison
    # not judged
    scenario = SCENARIOS["base-partly-failing"]

    # When the run is simulated, with its report rendered as `report` renders it
    result = simulate(ROOT / scenario.spec, scenario, template, out_dir=tmp_path, report=True)

    # Then the verdict is computed on the paired prompts, and the failures are reported beside it
    (compare,) = [v for v in result.visits if v.name == EVALUATE]
    evaluation = compare.output["evaluation"]  # type: ignore[index]
    custom, base = evaluation["custom"], evaluation["base"]
    assert (base["prompts"], base["errors"], custom["errors"]) == (20, 1, 0)
    assert custom["paired"] == base["paired"] == 19
    assert evaluation["verdict"] == "passed" and evaluation["judged"] is True
    assert "calls that failed: the base model 1; the means are over the 19 prompt(s)" in evaluation["summary"]
    html = Path(result.report["html"]).read_text(encoding="utf-8")
    assert "Failed calls" in html and "Means over (prompts)" in html


# --------------------------------------------------------------------------------------------------
# Serving slots (parametrized by scenario so that each shares its worker and its run, see conftest)
# --------------------------------------------------------------------------------------------------


def slot_answers(result: SimulationResult, endpoint: str) -> list[str]:
    """The custom model behind every answer through the slot's endpoint, in order."""
    return [
        i["customModelArn"]
        for i in result.ledger["invocations"]
        if i["modelId"] == endpoint and i["outcome"] == "ok"
    ]


@pytest.mark.parametrize("name", ["slot-first-promotion"])
def test_a_first_promotion_makes_the_runs_deployment_the_slot(name: str, run: Run) -> None:
    result = run(SCENARIOS[name])
    (deployment,) = result.ledger["deployments"]
    (job,) = result.ledger["jobs"]
    after = result.slot["after"]
    assert result.slot["before"] is None and result.slot["parameter"].endswith("/slots/support-answers")
    assert after["endpointArn"] == deployment["arn"] and after["kind"] == "deployment"
    assert after["champion"]["modelArn"] == job["outputModelArn"] == deployment["modelArn"]
    assert after["champion"]["runId"] == result.run_id and after["history"] == []
    assert deployment["alive"] and deployment["addedTags"] == {
        "bedrock-customization:slot": "support-answers"
    }
    assert not [c for c in result.bedrock_calls if ":Update" in c["call"]]


@pytest.mark.parametrize("name", ["slot-challenger-wins"])
def test_a_challenger_that_wins_is_swapped_in_place(name: str, run: Run) -> None:
    result = run(SCENARIOS[name])
    before, after = result.slot["before"], result.slot["after"]
    (slot_endpoint,) = result.ledger["existing"]["deployments"]
    (job,) = result.ledger["jobs"]
    challenger, champion = job["outputModelArn"], before["champion"]["modelArn"]
    assert after["endpointArn"] == before["endpointArn"] == slot_endpoint["arn"]
    assert after["champion"]["modelArn"] == challenger and after["champion"]["runId"] == result.run_id
    assert after["history"] == [before["champion"]]
    (change,) = slot_endpoint["changes"]
    assert (change["previousModelArn"], change["targetModelArn"], change["status"]) == (
        champion,
        challenger,
        "UpdateCompleted",
    )
    # The champion answered the comparison and kept answering until the change completed; the
    # smoke check went through the slot and reached the challenger.
    answers = [
        (i["at"], i["customModelArn"])
        for i in result.ledger["invocations"]
        if i["modelId"] == slot_endpoint["arn"] and i["outcome"] == "ok"
    ]
    assert {m for at, m in answers if at < change["doneAt"]} == {champion}
    assert {m for at, m in answers if at >= change["doneAt"]} == {challenger}
    evaluation = next(v.output for v in result.visits if v.name == EVALUATE)["evaluation"]
    assert evaluation["champion"]["modelId"] == slot_endpoint["arn"]
    # Nothing bought, and the evaluation deployment is gone: the slot's endpoint serves.
    assert not result.ledger["throughputs"]
    assert [d["alive"] for d in result.ledger["deployments"]] == [False]


@pytest.mark.parametrize("name", ["slot-challenger-loses", "slot-judge-prefers-champion"])
def test_a_challenger_that_loses_leaves_the_champion_untouched(name: str, run: Run) -> None:
    result = run(SCENARIOS[name])
    assert result.slot["after"] == result.slot["before"]
    (slot_endpoint,) = result.ledger["existing"]["deployments"]
    assert slot_endpoint["changes"] == [] and slot_endpoint["alive"]
    assert not [c for c in result.bedrock_calls if ":Update" in c["call"]]
    assert "Take the serving slot" not in result.path
    assert set(slot_answers(result, slot_endpoint["arn"])) == {result.slot["before"]["champion"]["modelArn"]}


@pytest.mark.parametrize("name", ["slot-judge-prefers-champion"])
def test_the_judge_judges_the_champions_answers_through_the_slot_in_a_third_job(name: str, run: Run) -> None:
    result = run(SCENARIOS[name])
    jobs = result.ledger["evaluationJobs"]
    assert sorted(j["name"].rsplit("-judge-", 1)[1] for j in jobs) == ["base", "champion", "custom"]
    assert all(j["createRequests"] == 1 and j["status"] == "Completed" and j["results"] for j in jobs)
    # The ROUGE-L gate passed against the champion; the judge, on the same prompts, did not.
    evaluation = next(v.output for v in result.visits if v.name == EVALUATE)["evaluation"]
    assert (
        evaluation["passed"] is True and evaluation["champion"]["quality"] < evaluation["custom"]["quality"]
    )
    verdict = next(v.output for v in result.visits if v.name == "Read the judge's scores")["judge"]
    scores = verdict["metrics"]["Correctness"]
    assert (scores["custom"], scores["champion"], scores["minImprovementOverChampion"]) == (0.7, 0.8, 0.0)
    assert verdict["passed"] is False
    (slot_endpoint,) = result.ledger["existing"]["deployments"]
    assert set(slot_answers(result, slot_endpoint["arn"])) == {result.slot["before"]["champion"]["modelArn"]}


@pytest.mark.parametrize("name", ["slot-swap-fails"])
def test_a_failed_swap_is_rolled_back_and_the_champion_serves_throughout(name: str, run: Run) -> None:
    result = run(SCENARIOS[name])
    before = result.slot["before"]
    champion = before["champion"]["modelArn"]
    assert result.slot["after"] == before
    (slot_endpoint,) = result.ledger["existing"]["deployments"]
    (job,) = result.ledger["jobs"]
    assert [(c["targetModelArn"], c["status"]) for c in slot_endpoint["changes"]] == [
        (job["outputModelArn"], "UpdateFailed"),
        (champion, "UpdateCompleted"),
    ]
    assert slot_endpoint["modelArn"] == champion and slot_endpoint["alive"]
    assert set(slot_answers(result, slot_endpoint["arn"])) == {champion}
    assert result.slot["lockAtEnd"] is None


@pytest.mark.parametrize("name", ["slot-challenger-wins"])
def test_the_slot_invariants_can_fail(name: str, run: Run) -> None:
    """Mutations of a real run: each breaks one slot invariant, and its check says so."""
    import copy

    from pipeline.simulation.serving_slot import slot_checks

    result = run(SCENARIOS[name])

    def failing(mutate: Callable[[SimulationResult], None]) -> set[str]:
        mutated = copy.deepcopy(result)
        mutate(mutated)
        return {c.name for c in slot_checks(mutated) if not c.ok}

    def moved(r: SimulationResult) -> None:
        r.slot["after"]["endpointArn"] = r.ledger["deployments"][0]["arn"]

    def unproven(r: SimulationResult) -> None:
        (endpoint,) = r.ledger["existing"]["deployments"]
        endpoint["changes"][0]["targetModelArn"] = endpoint["changes"][0]["targetModelArn"][:-4] + "zzzz"

    def too_early(r: SimulationResult) -> None:
        (endpoint,) = r.ledger["existing"]["deployments"]
        endpoint["changes"][0]["doneAt"] = 1.0

    def held(r: SimulationResult) -> None:
        r.slot["lockAtEnd"] = r.run_id

    assert failing(lambda r: None) == set()
    assert "the serving slot keeps its ARN" in failing(moved)
    serves = "at every moment the serving slot serves a model that passed its bar"
    assert failing(unproven) == {serves}
    assert failing(too_early) == {serves}
    assert failing(held) == {"the serving slot's lock is given back when the run ends"}
