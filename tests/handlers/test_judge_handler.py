"""judge: datasets, two evaluation jobs, their status, their results and the bars (Stubber: moto has no
evaluation jobs)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.common import runtime
from lambdas.judge.handler import JudgeNotJudgedError, lambda_handler
from pipeline import judge, slots
from pipeline.plan import PlanContext, build_plan
from pipeline.runspec import RunSpec
from tests.handlers import plans
from tests.handlers.helpers import FakeContext
from tests.stubs import PartialStubber

pytestmark = pytest.mark.usefixtures("aws")

ROLE_ARN = "arn:aws:iam::123456789012:role/EvaluationJobRole"
JOB_ARN = "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/{}"
JUDGE = {
    "metrics": ["Builtin.Correctness"],
    "bars": {"Builtin.Correctness": {"minScore": 0.7, "minImprovementOverBase": 0.0}},
}


@pytest.fixture
def plan(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("JUDGE_ROLE_ARN", ROLE_ARN)
    data = plans.run_spec()
    data["evaluation"] = dict(data.get("evaluation") or {}) | {"judge": JUDGE}
    return build_plan(RunSpec.from_dict(data), PlanContext(plans.BUCKET, plans.RUN_ID), estimated_tokens=1000)


@pytest.fixture
def bedrock() -> Iterator[PartialStubber]:
    stubber = PartialStubber(runtime.client("bedrock"), ("CreateEvaluationJob", "GetEvaluationJob"))
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def evaluation_rows(count: int = 3) -> dict[str, Any]:
    rows = [
        {
            "line": i + 1,
            "prompt": f"q{i}",
            "reference": f"r{i}",
            "custom": {"text": f"custom {i}", "error": None},
            "base": {"text": f"base {i}", "error": None},
        }
        for i in range(count)
    ]
    uri = runtime.put_json(plans.BUCKET, f"runs/{plans.RUN_ID}/evaluation.json", {"rows": rows})
    return {"passed": True, "judged": True, "resultsUri": uri}


def test_start_writes_both_datasets_and_starts_one_job_per_model(
    plan: dict[str, Any], bedrock: PartialStubber
) -> None:
    for which in judge.MODELS:
        name = plan["judge"]["jobs"][which]["JobName"]
        bedrock.add_response(
            "create_evaluation_job",
            {"jobArn": JOB_ARN.format(name)},
            judge.create_job_request(plan["judge"], which, role_arn=ROLE_ARN),
        )
    result = lambda_handler(
        {"runId": plans.RUN_ID, "plan": plan, "evaluation": evaluation_rows(), "mode": "start"}, FakeContext()
    )
    assert result["prompts"] == 3
    assert result["jobs"]["custom"]["arn"].endswith("-judge-custom")
    s3 = runtime.client("s3")
    body = s3.get_object(Bucket=plans.BUCKET, Key=plan["judge"]["jobs"]["base"]["DatasetKey"])["Body"].read()
    lines = [json.loads(x) for x in body.decode().splitlines()]
    assert [x["modelResponses"][0]["response"] for x in lines] == ["base 0", "base 1", "base 2"]


def test_start_refuses_when_no_prompt_was_answered_by_both(plan: dict[str, Any]) -> None:
    evaluation = evaluation_rows(0)
    with pytest.raises(JudgeNotJudgedError):
        lambda_handler(
            {"runId": plans.RUN_ID, "plan": plan, "evaluation": evaluation, "mode": "start"}, FakeContext()
        )


JOBS = {
    "custom": {"arn": JOB_ARN.format("c"), "name": "c"},
    "base": {"arn": JOB_ARN.format("b"), "name": "b"},
}


def described(status: str, *messages: str) -> dict[str, Any]:
    return {
        "jobName": "x",
        "status": status,
        "jobArn": JOB_ARN.format("x"),
        "roleArn": ROLE_ARN,
        "jobType": "Automated",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {"taskType": "General", "dataset": {"name": "d"}, "metricNames": ["Builtin.Correctness"]}
                ]
            }
        },
        "inferenceConfig": {
            "models": [{"precomputedInferenceSource": {"inferenceSourceIdentifier": "custom-model"}}]
        },
        "outputDataConfig": {"s3Uri": "s3://b/o/"},
        "creationTime": "2026-11-28T00:00:00Z",
        **({"failureMessages": list(messages)} if messages else {}),
    }


@pytest.mark.parametrize(
    ("custom", "base", "expected"),
    [
        ("Completed", "Completed", (True, False, False)),
        ("Completed", "InProgress", (False, False, False)),
        ("Failed", "InProgress", (False, True, False)),
        ("Stopped", "Completed", (False, True, False)),
    ],
)
def test_check_reads_both_jobs(
    plan: dict[str, Any], bedrock: PartialStubber, custom: str, base: str, expected: tuple[bool, bool, bool]
) -> None:
    bedrock.add_response(
        "get_evaluation_job",
        described(custom, "judge model access denied"),
        {"jobIdentifier": JOBS["custom"]["arn"]},
    )
    bedrock.add_response("get_evaluation_job", described(base), {"jobIdentifier": JOBS["base"]["arn"]})
    schedule = plan["judge"]["pollSchedule"]
    result = lambda_handler(
        {"runId": plans.RUN_ID, "jobs": JOBS, "previous": None, "schedule": schedule, "mode": "check"},
        FakeContext(),
    )
    assert (result["ready"], result["failed"], result["timedOut"]) == expected
    assert result["waitSeconds"] == schedule[1]
    if expected[1]:
        assert "custom job" in result["failureMessage"]


def test_check_times_out_at_the_end_of_the_schedule(plan: dict[str, Any], bedrock: PartialStubber) -> None:
    for which in ("custom", "base"):
        bedrock.add_response(
            "get_evaluation_job", described("InProgress"), {"jobIdentifier": JOBS[which]["arn"]}
        )
    schedule = plan["judge"]["pollSchedule"]
    previous = {"attempt": len(schedule) - 2}
    result = lambda_handler(
        {"runId": plans.RUN_ID, "jobs": JOBS, "previous": previous, "schedule": schedule, "mode": "check"},
        FakeContext(),
    )
    assert result["timedOut"] and not result["failed"]


def write_results(plan: dict[str, Any], which: str, scores: list[float]) -> None:
    job = plan["judge"]["jobs"][which]
    key = (
        f"{job['OutputPrefix']}{job['JobName']}/uuid/models/{job['SourceIdentifier']}/taskTypes/General/"
        f"datasets/{job['DatasetName']}/file_output.jsonl"
    )
    lines = [
        json.dumps(
            {
                "automatedEvaluationResult": {
                    "scores": [
                        {
                            "metricName": "Builtin.Correctness",
                            "result": score,
                            "evaluatorDetails": [{"explanation": f"{which} {i}"}],
                        }
                    ]
                },
                "inputRecord": {"prompt": f"q{i}"},
            }
        )
        for i, score in enumerate(scores)
    ]
    runtime.client("s3").put_object(Bucket=plans.BUCKET, Key=key, Body="\n".join(lines).encode())


def test_the_verdict_applies_the_bars_and_writes_judge_json(plan: dict[str, Any]) -> None:
    write_results(plan, "custom", [1.0, 0.8])
    write_results(plan, "base", [0.5, 0.5])
    result = lambda_handler(
        {"runId": plans.RUN_ID, "plan": plan, "jobs": JOBS, "mode": "verdict"}, FakeContext()
    )
    assert result["passed"] is True and result["judged"] is True
    assert result["metrics"]["Correctness"]["custom"] == 0.9
    bucket, key = runtime.parse_s3_uri(result["resultsUri"])
    assert key == f"runs/{plans.RUN_ID}/judge.json"
    saved = runtime.get_json(bucket, key)
    assert saved["worst"][0]["scores"]["Correctness"]["explanation"] == "custom 1"


def test_below_the_bar_the_verdict_names_the_metric(plan: dict[str, Any]) -> None:
    write_results(plan, "custom", [0.5, 0.6])
    write_results(plan, "base", [0.5, 0.5])
    result = lambda_handler(
        {"runId": plans.RUN_ID, "plan": plan, "jobs": JOBS, "mode": "verdict"}, FakeContext()
    )
    assert result["passed"] is False
    assert result["reasons"] == ["Correctness: custom model scored 0.550, below minScore 0.7"]
    assert "JudgeBelowBar" in result["summary"]


# -- the champion of a serving slot ------------------------------------------------------------------

SLOT_ENDPOINT = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/slot0deploy1"


@pytest.fixture
def champion_plan(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("JUDGE_ROLE_ARN", ROLE_ARN)
    data = plans.run_spec(serving={"mode": "on-demand", "slot": "support"})
    data["evaluation"] = dict(data.get("evaluation") or {}) | {"judge": JUDGE}
    current = slots.first_promotion(
        "support",
        slots.DEPLOYMENT,
        SLOT_ENDPOINT,
        plans.BASE_MODEL,
        slots.Champion(
            f"arn:aws:bedrock:us-east-1:123456789012:custom-model/{plans.BASE_MODEL}/champ1", "c-1", "t"
        ),
    )
    context = PlanContext(plans.BUCKET, plans.RUN_ID, environment="dev", slot=current)
    return build_plan(RunSpec.from_dict(data), context, estimated_tokens=1000)


def champion_evaluation(count: int = 3, *, champion_fails: tuple[int, ...] = ()) -> dict[str, Any]:
    """Rows as the comparison writes them in a slot with a champion (pipeline.evaluation.evaluate)."""
    evaluation = evaluation_rows(count)
    bucket, key = runtime.parse_s3_uri(evaluation["resultsUri"])
    rows = runtime.get_json(bucket, key)["rows"]
    for i, row in enumerate(rows):
        row["champion"] = (
            {"text": "", "error": "ModelErrorException: no answer"}
            if i in champion_fails
            else {"text": f"champion {i}", "error": None}
        )
    runtime.put_json(bucket, key, {"rows": rows})
    return evaluation


def test_with_a_champion_start_writes_its_answers_and_starts_a_third_job(
    champion_plan: dict[str, Any], bedrock: PartialStubber
) -> None:
    section = champion_plan["judge"]
    assert judge.judged_models(section) == ("custom", "base", "champion")
    for which in judge.judged_models(section):
        bedrock.add_response(
            "create_evaluation_job",
            {"jobArn": JOB_ARN.format(section["jobs"][which]["JobName"])},
            judge.create_job_request(section, which, role_arn=ROLE_ARN),
        )
    result = lambda_handler(
        {
            "runId": plans.RUN_ID,
            "plan": champion_plan,
            "evaluation": champion_evaluation(3, champion_fails=(1,)),
            "mode": "start",
        },
        FakeContext(),
    )
    assert list(result["jobs"]) == ["custom", "base", "champion"]
    assert result["jobs"]["champion"]["arn"].endswith("-judge-champion")
    # The prompt the champion did not answer is judged for no model: the three means stay paired.
    assert result["prompts"] == 2
    s3 = runtime.client("s3")
    for which in judge.judged_models(section):
        body = s3.get_object(Bucket=plans.BUCKET, Key=section["jobs"][which]["DatasetKey"])["Body"].read()
        lines = [json.loads(x) for x in body.decode().splitlines()]
        assert [x["prompt"] for x in lines] == ["q0", "q2"]
        assert [x["modelResponses"][0]["response"] for x in lines] == [f"{which} 0", f"{which} 2"]


def test_with_a_champion_the_comparison_did_not_record_nothing_is_started(
    champion_plan: dict[str, Any], bedrock: PartialStubber
) -> None:
    with pytest.raises(JudgeNotJudgedError, match=r"custom, base, champion"):
        lambda_handler(
            {"runId": plans.RUN_ID, "plan": champion_plan, "evaluation": evaluation_rows(3), "mode": "start"},
            FakeContext(),
        )


CHAMPION_JOBS = JOBS | {"champion": {"arn": JOB_ARN.format("ch"), "name": "ch"}}


def test_check_waits_for_the_champions_job_too_and_names_it_when_it_fails(bedrock: PartialStubber) -> None:
    statuses = {"custom": "Completed", "base": "Completed", "champion": "Failed"}
    for which, status in statuses.items():
        messages = ("evaluator throttled",) if status == "Failed" else ()
        bedrock.add_response(
            "get_evaluation_job", described(status, *messages), {"jobIdentifier": CHAMPION_JOBS[which]["arn"]}
        )
    result = lambda_handler(
        {
            "runId": plans.RUN_ID,
            "jobs": CHAMPION_JOBS,
            "previous": None,
            "schedule": [30, 60],
            "mode": "check",
        },
        FakeContext(),
    )
    assert result["failed"] and not result["ready"]
    assert result["failureMessage"] == "champion job Failed: evaluator throttled"


def test_the_verdict_holds_the_challenger_against_the_champion_and_saves_all_three(
    champion_plan: dict[str, Any],
) -> None:
    write_results(champion_plan, "custom", [0.8, 0.8])
    write_results(champion_plan, "base", [0.5, 0.5])
    write_results(champion_plan, "champion", [0.9, 0.86])
    result = lambda_handler(
        {"runId": plans.RUN_ID, "plan": champion_plan, "jobs": CHAMPION_JOBS, "mode": "verdict"},
        FakeContext(),
    )
    assert result["passed"] is False
    assert result["reasons"] == [
        "Correctness: custom 0.800 is 0.080 below the champion's 0.880 (minImprovementOverChampion +0)"
    ]
    assert result["metrics"]["Correctness"]["champion"] == 0.88
    saved = runtime.get_json(*runtime.parse_s3_uri(result["resultsUri"]))
    assert saved["champion"]["metrics"]["Correctness"]["mean"] == 0.88
    assert set(saved["jobs"]) == {"custom", "base", "champion"}
