"""The LLM judge: run spec, plan, cost, datasets, the CreateEvaluationJob request, results, verdict."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape
from botocore.validate import ParamValidator

from pipeline import costs, judge, slots
from pipeline.catalog import DEFAULT_JUDGE, JUDGES, check_judge, judge_of
from pipeline.cli import main
from pipeline.plan import PlanContext, build_plan
from pipeline.plan import estimate as plan_estimate
from pipeline.problems import DASH
from pipeline.runspec import RunSpec, RunSpecError, load_run_spec, spec_hash

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "runs" / "fine-tuning-judged.yaml"
BUCKET = "bedrock-customization-123456789012-us-east-1"
RUN_ID = "support-bot-judged-0123456789"
ROLE = "arn:aws:iam::123456789012:role/BedrockEvaluationRole"
KEY = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0a1b-4c5d-8e9f-0a1b2c3d4e5f"


def spec_data(judge_section: Any = None, **changes: Any) -> dict[str, Any]:
    evaluation: dict[str, Any] = {
        "prompts": f"s3://{BUCKET}/datasets/eval.jsonl",
        "maxPrompts": 20,
        "judge": {} if judge_section is None else judge_section,
    }
    return {
        "name": "support-bot-judged",
        "region": "us-east-1",
        "baseModel": "amazon.nova-micro-v1:0:128k",
        "customizationType": "FINE_TUNING",
        "training": f"s3://{BUCKET}/datasets/train.jsonl",
        "evaluation": evaluation,
        "serving": {"mode": "on-demand"},
    } | changes


POLICY = {
    "name": "policy-adherence",
    "instructions": "Rate the answer {{prediction}} to {{prompt}}.",
    "ratingScale": [{"definition": "Bad", "value": 0}, {"definition": "Good", "value": 1}],
}


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(RunSpecError) as info:
        RunSpec.from_dict(data)
    return [str(p) for p in info.value.problems]


def plan_of(data: dict[str, Any]) -> dict[str, Any]:
    return build_plan(RunSpec.from_dict(data), PlanContext(BUCKET, RUN_ID), estimated_tokens=100_000)


# -- run spec -------------------------------------------------------------------------------------


def test_an_empty_judge_section_gets_the_default_nova_judge_and_metrics() -> None:
    spec = RunSpec.from_dict(spec_data())
    assert spec.judge is not None
    assert spec.judge.model == DEFAULT_JUDGE == "amazon.nova-pro-v1:0"
    assert spec.judge.metrics == ("Builtin.Correctness", "Builtin.Completeness")
    assert spec.evaluates_on_model


def test_a_spec_without_a_judge_keeps_its_hash() -> None:
    data = spec_data()
    del data["evaluation"]["judge"]
    spec = RunSpec.from_dict(data)
    assert "judge" not in spec.to_dict()["evaluation"]
    assert spec_hash(spec) != spec_hash(RunSpec.from_dict(spec_data()))


def test_custom_metrics_and_bars_round_trip() -> None:
    data = spec_data(
        {
            "metrics": ["Builtin.Correctness"],
            "customMetrics": [POLICY],
            "bars": {
                "Builtin.Correctness": {"minScore": 0.7, "minImprovementOverBase": 0.05},
                "policy-adherence": {"minScore": 0.5},
            },
        }
    )
    spec = RunSpec.from_dict(data)
    assert spec.judge is not None
    assert spec.judge.custom_metrics[0].rating_scale == (("Bad", 0.0), ("Good", 1.0))
    assert spec.judge.bars["Builtin.Correctness"].min_improvement_over_base == 0.05
    again = RunSpec.from_dict(spec.to_dict())
    assert again == spec


def test_a_judge_with_built_in_metrics_only_round_trips_through_its_document() -> None:
    # The preflight and the workflow read spec.to_dict() back, which writes customMetrics: [].
    spec = RunSpec.from_dict(spec_data({"bars": {"Builtin.Correctness": {"minScore": 0.5}}}))
    assert spec.to_dict()["evaluation"]["judge"]["customMetrics"] == []
    assert RunSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"model": "amazon.nova-pr-v1:0"}, "did you mean 'amazon.nova-pro-v1:0'"),
        ({"model": "anthropic.claude-3-haiku-20240307-v1:0"}, "end of life"),
        ({"model": "meta.llama3-3-70b-instruct-v1:0", "metrics": ["Builtin.Correctness"]}, "built-in"),
        ({"model": "eu.amazon.nova-pro-v1:0"}, "does not serve us-east-1"),
        ({"metrics": ["Builtin.Corectness"]}, "not a built-in judge metric"),
        ({"metrics": []}, "at least one metric"),
        ({"bars": {"Builtin.Helpfulness": {"minScore": 0.5}}}, "not a metric this judge scores"),
        ({"metrics": ["Builtin.Harmfulness"], "bars": {"Builtin.Harmfulness": {"minScore": 0.1}}}, "reward"),
        ({"bars": {"Builtin.Correctness": {"minScore": 1.5}}}, "out of range"),
        ({"bars": {"Builtin.Correctness": {}}}, "a bar needs a number"),
        ({"customMetrics": [POLICY | {"name": "Builtin.Mine"}]}, "not starting with Builtin."),
        ({"customMetrics": [POLICY | {"instructions": "x" * 5001}]}, f"1{DASH}5000 characters"),
        ({"customMetrics": [POLICY | {"ratingScale": []}]}, "ratingScale must be"),
        ({"customMetrics": [POLICY] * 2}, "distinct"),
        ({"customMetrics": [dict(POLICY, name=f"m{i}") for i in range(11)]}, f"1{DASH}10 metric definitions"),
        ({"judges": "x"}, "judges"),
    ],
)
def test_judge_problems_are_reported(section: dict[str, Any], expected: str) -> None:
    problems = problems_of(spec_data(section))
    assert any(expected in p for p in problems), problems


FIVE_POINT = [{"definition": f"{v} of 5", "value": v} for v in (1, 2, 3, 4, 5)]


@pytest.mark.parametrize(
    ("instructions", "expected"),
    [
        (
            "Rate how polite the answer to {{prompt}} is.",
            "evaluation.judge.customMetrics[0].instructions must contain {{prediction}}",
        ),
        (
            "Rate {{answer}} against {{ground_truth}}.",
            "evaluation.judge.customMetrics[0].instructions uses {{answer}}, not an input variable",
        ),
        (
            "Rate {{predicton}}.",
            "uses {{predicton}}, not an input variable of a model-as-a-judge custom metric "
            "(did you mean 'prediction'?)",
        ),
        ("Rate {{ prediction }}.", "uses {{ prediction }}, not an input variable"),
    ],
)
def test_custom_metric_instructions_must_show_the_judge_the_answer(instructions: str, expected: str) -> None:
    problems = problems_of(spec_data({"customMetrics": [POLICY | {"instructions": instructions}]}))
    assert any(expected in p for p in problems), problems


def test_the_documented_input_variables_are_accepted() -> None:
    instructions = "Prompt: {{prompt}}\nAnswer: {{prediction}}\nReference: {{ground_truth}}"
    spec = RunSpec.from_dict(spec_data({"customMetrics": [POLICY | {"instructions": instructions}]}))
    assert spec.judge is not None and spec.judge.custom_metrics[0].instructions == instructions
    assert judge.instruction_variables(instructions) == ["prompt", "prediction", "ground_truth"]


def test_custom_metric_bars_are_in_the_metrics_own_rating_scale() -> None:
    metric = POLICY | {"name": "tone", "ratingScale": FIVE_POINT}
    spec = RunSpec.from_dict(
        spec_data(
            {"customMetrics": [metric], "bars": {"tone": {"minScore": 4, "minImprovementOverBase": -4}}}
        )
    )
    assert spec.judge is not None and spec.judge.bars["tone"].min_score == 4.0
    for bar, expected in (
        ({"minScore": 0.5}, f"evaluation.judge.bars.tone.minScore=0.5 is out of range 1{DASH}5"),
        ({"minScore": 6}, f"is out of range 1{DASH}5"),
        ({"minImprovementOverBase": 4.5}, f"is out of range -4{DASH}4"),
    ):
        problems = problems_of(spec_data({"customMetrics": [metric], "bars": {"tone": bar}}))
        assert any(expected in p for p in problems), problems
    # A built-in metric's bars stay in 0..1.
    problems = problems_of(spec_data({"bars": {"Builtin.Correctness": {"minScore": 4}}}))
    assert any(f"out of range 0{DASH}1" in p for p in problems), problems


def test_a_bar_on_a_metric_rated_with_strings_is_refused() -> None:
    metric = POLICY | {
        "ratingScale": [{"definition": "No", "value": "no"}, {"definition": "Yes", "value": "yes"}]
    }
    problems = problems_of(
        spec_data({"customMetrics": [metric], "bars": {"policy-adherence": {"minScore": 1}}})
    )
    assert any(
        "policy-adherence rates with strings; a bar needs a rating scale of numbers" in p for p in problems
    )


def test_a_judge_needs_reference_answers() -> None:
    data = spec_data()
    del data["evaluation"]["prompts"]
    problems = problems_of(data)
    assert any("evaluation.judge needs evaluation.prompts" in p for p in problems), problems


def test_the_judge_list_names_its_source_and_the_default_is_current() -> None:
    assert DEFAULT_JUDGE in JUDGES
    assert all(j.source == "[UG:evaluation-judge]" for j in JUDGES.values())
    assert check_judge(DEFAULT_JUDGE, "us-east-1", builtin_metrics=True, custom_metrics=True) == []
    assert judge_of("us.amazon.nova-pro-v1:0") is JUDGES[DEFAULT_JUDGE]


# -- plan and cost --------------------------------------------------------------------------------

EVALUATION_JOB_NAME = re.compile(r"[a-z0-9](-*[a-z0-9]){0,62}")  # [BC] EvaluationJobName
TOKEN = re.compile(r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?")  # [BC] IdempotencyToken


def test_the_plan_carries_the_judge_with_names_tokens_and_locations() -> None:
    plan = plan_of(spec_data({"bars": {"Builtin.Correctness": {"minScore": 0.7}}}))
    section = plan["judge"]
    assert section["model"] == DEFAULT_JUDGE
    assert section["bars"] == {"Builtin.Correctness": {"minScore": 0.7, "minImprovementOverBase": None}}
    assert section["maxPrompts"] == 20
    assert section["pollSchedule"][0] == section["firstWaitSeconds"] == 30
    names = set()
    for which in ("custom", "base"):
        job = section["jobs"][which]
        assert EVALUATION_JOB_NAME.fullmatch(job["JobName"]), job["JobName"]
        assert TOKEN.fullmatch(job["ClientRequestToken"])
        assert job["DatasetUri"] == f"s3://{BUCKET}/runs/{RUN_ID}/judge/{which}-answers.jsonl"
        assert job["OutputUri"].startswith(f"s3://{BUCKET}/runs/{RUN_ID}/judge/output/")
        names.add(job["JobName"])
    assert len(names) == 2
    assert plan_of(spec_data())["judge"]["jobs"] == plan_of(spec_data())["judge"]["jobs"]  # deterministic


def test_long_run_ids_still_give_valid_lowercase_job_names() -> None:
    rid = "a" + "-b" * 30 + "-0123456789"
    spec = RunSpec.from_dict(spec_data())
    plan = build_plan(spec, PlanContext(BUCKET, rid), estimated_tokens=None)
    for job in plan["judge"]["jobs"].values():
        assert EVALUATION_JOB_NAME.fullmatch(job["JobName"]) and len(job["JobName"]) <= 63
        assert job["JobName"].endswith(("-judge-custom", "-judge-base"))


def test_a_plan_without_a_judge_says_so() -> None:
    data = spec_data()
    del data["evaluation"]["judge"]
    plan = plan_of(data)
    assert plan["judge"] is None
    assert "judgeUsd" not in plan["estimate"]


def test_the_judge_cost_is_prompts_times_two_models_times_metrics_at_the_judge_price() -> None:
    plan = plan_of(spec_data())
    estimate = costs.judge_cost(JUDGES[DEFAULT_JUDGE], 20, 2)
    assert estimate is not None
    assert plan["estimate"]["judgeUsd"] == round(estimate.usd, 4) > 0
    assert "20 prompt(s) x 2 models x 2 metric(s) = 80 judge calls" in plan["estimate"]["basis"]["judge"]
    # Twice the metrics, twice the calls.
    double = costs.judge_cost(JUDGES[DEFAULT_JUDGE], 20, 4)
    assert double is not None and double.usd == pytest.approx(2 * estimate.usd)


def test_an_unpriced_judge_costs_unknown_never_zero() -> None:
    plan = plan_of(spec_data({"model": "anthropic.claude-sonnet-4-20250514-v1:0"}))
    assert plan["estimate"]["judgeUsd"] is None
    assert "judge" not in plan["estimate"]["basis"]


# -- datasets ---------------------------------------------------------------------------------------


def rows(count: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "line": i + 1,
            "prompt": f"question {i}",
            "reference": f"reference {i}",
            "custom": {"text": f"custom answer {i}", "error": None},
            "base": {"text": f"base answer {i}", "error": None},
        }
        for i in range(count)
    ]


def test_datasets_hold_one_model_response_per_line_in_the_documented_shape() -> None:
    datasets = judge.build_datasets(rows(2))
    assert set(datasets) == {"custom", "base"}
    first = json.loads(datasets["custom"].splitlines()[0])
    assert first == {
        "prompt": "question 0",
        "referenceResponse": "reference 0",
        "modelResponses": [{"response": "custom answer 0", "modelIdentifier": "custom-model"}],
    }
    identifiers = {
        json.loads(line)["modelResponses"][0]["modelIdentifier"] for line in datasets["base"].splitlines()
    }
    assert identifiers == {"base-model"}  # one model identifier per job


def test_prompts_either_model_failed_are_left_out_of_both_and_at_most_1000_kept() -> None:
    data = rows(3)
    data[1]["base"] = {"text": "", "error": "AccessDeniedException"}
    datasets = judge.build_datasets(data)
    assert [json.loads(x)["prompt"] for x in datasets["custom"].splitlines()] == ["question 0", "question 2"]
    assert len(judge.build_datasets(rows(1005), max_prompts=5000)["base"].splitlines()) == 1000


# -- the request, against botocore -----------------------------------------------------------------


def _walk(value: Any, shape: Shape, path: str) -> list[str]:
    """Patterns and enums botocore's ParamValidator does not check."""
    problems: list[str] = []
    if shape.type_name == "structure":
        for name, member in value.items():
            problems += _walk(member, shape.members[name], f"{path}.{name}")
    elif shape.type_name == "list":
        for index, item in enumerate(value):
            problems += _walk(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "string":
        pattern = shape.metadata.get("pattern")
        if pattern and not re.fullmatch(pattern, value):
            problems.append(f"{path}={value!r} does not match {pattern}")
        enum = getattr(shape, "enum", None)
        # taskType General: the judge examples use it; botocore's enum does not list it (UNCONFIRMED).
        if enum and value not in enum and not (path.endswith("taskType") and value == judge.TASK_TYPE):
            problems.append(f"{path}={value!r} not in {enum}")
    return problems


@pytest.mark.parametrize("which", ["custom", "base"])
def test_the_create_evaluation_job_request_matches_botocore(which: str) -> None:
    plan = plan_of(spec_data({"metrics": ["Builtin.Correctness"], "customMetrics": [POLICY]}))
    request = judge.create_job_request(plan["judge"], which, role_arn=ROLE, kms_key_id=KEY)
    model = botocore.session.get_session().get_service_model("bedrock")
    shape = model.operation_model("CreateEvaluationJob").input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert _walk(request, shape, "") == []
    automated = request["evaluationConfig"]["automated"]
    assert automated["datasetMetricConfigs"][0]["metricNames"] == ["Builtin.Correctness", "policy-adherence"]
    assert automated["evaluatorModelConfig"]["bedrockEvaluatorModels"] == [{"modelIdentifier": DEFAULT_JUDGE}]
    custom = automated["customMetricConfig"]["customMetrics"][0]["customMetricDefinition"]
    assert custom["ratingScale"][1] == {"definition": "Good", "value": {"floatValue": 1.0}}
    source = request["inferenceConfig"]["models"][0]["precomputedInferenceSource"]
    assert source == {"inferenceSourceIdentifier": judge.SOURCE_IDENTIFIERS[which]}


def test_a_request_with_only_custom_metrics_still_names_the_judge_in_both_places() -> None:
    # botocore: evaluatorModelConfig "is required for ... model evaluation job that use a model as
    # judge"; customMetricConfig requires its own. Omitting the first fails the job.
    plan = plan_of(spec_data({"metrics": [], "customMetrics": [POLICY]}))
    request = judge.create_job_request(plan["judge"], "custom", role_arn=ROLE)
    automated = request["evaluationConfig"]["automated"]
    expected = {"bedrockEvaluatorModels": [{"modelIdentifier": DEFAULT_JUDGE}]}
    assert automated["evaluatorModelConfig"] == expected
    assert automated["customMetricConfig"]["evaluatorModelConfig"] == expected
    assert automated["datasetMetricConfigs"][0]["taskType"] == "General"
    assert "customerEncryptionKeyId" not in request


def test_every_judge_request_names_the_evaluator_and_uses_task_type_general() -> None:
    for section in ({}, {"metrics": ["Builtin.Correctness"]}, {"metrics": [], "customMetrics": [POLICY]}):
        request = judge.create_job_request(plan_of(spec_data(section))["judge"], "base", role_arn=ROLE)
        automated = request["evaluationConfig"]["automated"]
        assert automated["evaluatorModelConfig"]["bedrockEvaluatorModels"][0]["modelIdentifier"]
        assert {c["taskType"] for c in automated["datasetMetricConfigs"]} == {judge.TASK_TYPE}


# -- results and verdict -----------------------------------------------------------------------------


def result_line(prompt: str, scores: dict[str, float | None], explanation: str = "because") -> str:
    return json.dumps(
        {
            "automatedEvaluationResult": {
                "scores": [
                    {"metricName": name, "result": value, "evaluatorDetails": [{"explanation": explanation}]}
                    for name, value in scores.items()
                ]
            },
            "inputRecord": {"prompt": prompt, "referenceResponse": "r"},
            "modelResponses": [{"modelIdentifier": "custom-model", "response": "a"}],
        }
    )


def output_files(scores: list[dict[str, float | None]]) -> list[tuple[str, str]]:
    key = (
        "runs/r/judge/output/custom/r-judge-custom/0f1e/models/custom-model/taskTypes/General/"
        "datasets/custom-answers/7a9b_output.jsonl"
    )
    text = "\n".join(result_line(f"p{i}", s, f"why {i}") for i, s in enumerate(scores)) + "\n"
    return [(key, text), ("runs/r/judge/output/custom/r-judge-custom/0f1e/custom_metrics/m.json", "{}")]


def test_results_are_read_from_the_documented_layout() -> None:
    parsed = judge.parse_results(
        output_files([{"Builtin.Correctness": 1.0, "Completeness": 0.5}, {"Builtin.Correctness": 0.5}])
    )
    assert parsed["metrics"]["Correctness"] == {"mean": 0.75, "scored": 2, "unscored": 0}
    assert parsed["metrics"]["Completeness"]["mean"] == 0.5
    assert parsed["prompts"][1]["scores"]["Correctness"] == {"score": 0.5, "explanation": "why 1"}


def test_a_score_that_is_not_a_number_counts_as_unscored() -> None:
    parsed = judge.parse_results(output_files([{"Builtin.Correctness": None}]))
    assert parsed["metrics"]["Correctness"] == {"mean": None, "scored": 0, "unscored": 1}


def judge_plan(**bars: dict[str, float]) -> dict[str, Any]:
    spec_judge = {"metrics": ["Builtin.Correctness", "Builtin.Completeness"], "bars": bars}
    return plan_of(spec_data(spec_judge))["judge"]


def parsed(correctness: list[float], completeness: list[float]) -> dict[str, Any]:
    return judge.parse_results(
        output_files(
            [
                {"Builtin.Correctness": c, "Builtin.Completeness": k}
                for c, k in zip(correctness, completeness, strict=True)
            ]
        )
    )


def test_the_verdict_passes_when_every_bar_is_met() -> None:
    plan = judge_plan(**{"Builtin.Correctness": {"minScore": 0.7, "minImprovementOverBase": 0.1}})
    result = judge.verdict(plan, parsed([0.9, 0.8], [0.5, 0.5]), parsed([0.6, 0.6], [0.6, 0.6]))
    assert result["passed"] and result["reasons"] == []
    assert result["metrics"]["Correctness"]["improvement"] == pytest.approx(0.25)
    assert result["metrics"]["Completeness"]["minScore"] is None  # reported, not barred
    assert "every bar met" in result["summary"]


def test_below_a_bar_fails_naming_the_metric() -> None:
    plan = judge_plan(
        **{"Builtin.Correctness": {"minScore": 0.7}, "Builtin.Completeness": {"minImprovementOverBase": 0.0}}
    )
    result = judge.verdict(plan, parsed([0.5, 0.6], [0.4, 0.4]), parsed([0.6, 0.6], [0.6, 0.6]))
    assert not result["passed"]
    assert any(
        r.startswith("Correctness: custom model scored 0.550, below minScore 0.7") for r in result["reasons"]
    )
    assert any(r.startswith("Completeness:") and "minImprovementOverBase" in r for r in result["reasons"])
    assert judge.JUDGE_BELOW_BAR in result["summary"]


def test_a_barred_metric_the_judge_never_scored_fails() -> None:
    plan = judge_plan(**{"Builtin.Correctness": {"minScore": 0.1}})
    empty = judge.parse_results([])
    result = judge.verdict(plan, empty, empty)
    assert not result["passed"] and "scored no prompt" in result["reasons"][0]


def custom_plan(bar: dict[str, float]) -> dict[str, Any]:
    metric = POLICY | {"name": "tone", "ratingScale": FIVE_POINT}
    return plan_of(spec_data({"metrics": [], "customMetrics": [metric], "bars": {"tone": bar}}))["judge"]


def tone(*values: float) -> dict[str, Any]:
    return judge.parse_results(output_files([{"tone": v} for v in values]))


def test_a_custom_metric_is_judged_against_its_bar_in_its_own_scale() -> None:
    plan = custom_plan({"minScore": 4, "minImprovementOverBase": 0.5})
    result = judge.verdict(plan, tone(4, 5), tone(3, 4))
    assert result["passed"], result["reasons"]
    assert result["metrics"]["tone"]["scale"] == [1.0, 5.0]
    failed = judge.verdict(plan, tone(3, 4), tone(3, 4))
    assert failed["reasons"] == [
        "tone: custom model scored 3.500, below minScore 4",
        "tone: custom 3.500 vs base 3.500 improves by +0.000, below minImprovementOverBase +0.5",
    ]


def test_custom_scores_outside_the_declared_scale_fail_the_bar_saying_so() -> None:
    # If Bedrock reported custom metrics normalized to 0..1 (UNCONFIRMED), a 1..5 bar must not be
    # applied to them as if they were ratings.
    result = judge.verdict(custom_plan({"minScore": 1}), tone(0.8, 0.9), tone(0.5, 0.5))
    assert not result["passed"]
    (reason,) = result["reasons"]
    assert reason.startswith("tone: scores custom 0.850, base 0.500 lie outside its rating scale 1..5")
    assert "UNCONFIRMED" in reason


def test_the_worst_prompts_come_with_the_judges_explanations() -> None:
    plan = judge_plan()
    custom = parsed([0.9, 0.1, 0.5], [0.9, 0.1, 0.5])
    worst = judge.verdict(plan, custom, custom, worst=2)["worst"]
    assert [w["prompt"] for w in worst] == ["p1", "p2"]
    assert worst[0]["scores"]["Correctness"]["explanation"] == "why 1"


# -- the example ------------------------------------------------------------------------------------


def test_the_judged_example_is_valid_and_judges() -> None:
    spec = load_run_spec(EXAMPLE)
    assert spec.judge is not None and spec.judge.model == DEFAULT_JUDGE
    assert set(spec.judge.bars) == {"Builtin.Correctness", "policy-adherence"}
    plan = build_plan(
        spec.with_datasets(
            training=f"s3://{BUCKET}/datasets/t.jsonl",
            validation=(f"s3://{BUCKET}/datasets/v.jsonl",),
            prompts=f"s3://{BUCKET}/datasets/p.jsonl",
        ),
        PlanContext(BUCKET, RUN_ID),
        estimated_tokens=5000,
    )
    request = judge.create_job_request(plan["judge"], "custom", role_arn=ROLE)
    assert request["evaluationConfig"]["automated"]["datasetMetricConfigs"][0]["metricNames"] == [
        "Builtin.Correctness",
        "Builtin.Completeness",
        "policy-adherence",
    ]
    assert copy.deepcopy(plan["judge"]) == plan["judge"]


# -- the champion of a serving slot ------------------------------------------------------------------

SLOT_ENDPOINT = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/slot0deploy1"
CHAMPION_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/champ01"


def slot_spec_data(bars: dict[str, Any] | None = None) -> dict[str, Any]:
    data = spec_data({"metrics": ["Builtin.Correctness", "Builtin.Completeness"], "bars": bars or {}})
    data["evaluation"]["minQuality"] = 0.3  # a slot needs a quality verdict
    data["serving"] = {"mode": "on-demand", "slot": "support"}
    return data


def slot_plan_of(data: dict[str, Any], *, champion: bool = True) -> dict[str, Any]:
    current = (
        slots.first_promotion(
            "support",
            slots.DEPLOYMENT,
            SLOT_ENDPOINT,
            "amazon.nova-micro-v1:0:128k",
            slots.Champion(CHAMPION_ARN, "support-bot-0000000001", "2026-12-01T10:00:00Z"),
        )
        if champion
        else None
    )
    context = PlanContext(BUCKET, RUN_ID, environment="dev", slot=current)
    return build_plan(RunSpec.from_dict(data), context, estimated_tokens=100_000)


def test_a_judge_bar_over_the_champion_is_kept_in_the_spec_and_only_when_set() -> None:
    bars = {"Builtin.Correctness": {"minScore": 0.7, "minImprovementOverChampion": 0.02}}
    spec = RunSpec.from_dict(slot_spec_data(bars))
    assert spec.judge is not None
    assert spec.judge.bars["Builtin.Correctness"].min_improvement_over_champion == 0.02
    assert spec.to_dict()["evaluation"]["judge"]["bars"]["Builtin.Correctness"] == {
        "minScore": 0.7,
        "minImprovementOverBase": None,
        "minImprovementOverChampion": 0.02,
    }
    # Unset, the key is left out: the hash (and run id) of every other spec stays.
    plain = RunSpec.from_dict(slot_spec_data({"Builtin.Correctness": {"minScore": 0.7}}))
    assert plain.to_dict()["evaluation"]["judge"]["bars"]["Builtin.Correctness"] == {
        "minScore": 0.7,
        "minImprovementOverBase": None,
    }
    # A bar over the champion alone is a bar.
    assert RunSpec.from_dict(slot_spec_data({"Builtin.Correctness": {"minImprovementOverChampion": 0.0}}))


@pytest.mark.parametrize(
    ("bar", "expected"),
    [
        pytest.param(
            {"minImprovementOverChampion": 1.5},
            "evaluation.judge.bars.Builtin.Correctness.minImprovementOverChampion",
            id="out-of-range",
        ),
        pytest.param({"minImprovementOverChampion": "more"}, "must be a number", id="not-a-number"),
    ],
)
def test_a_bad_judge_bar_over_the_champion_is_refused(bar: dict[str, Any], expected: str) -> None:
    problems = problems_of(slot_spec_data({"Builtin.Correctness": bar}))
    assert any(expected in p for p in problems), problems


def test_a_judge_bar_over_the_champion_needs_a_serving_slot() -> None:
    data = spec_data({"bars": {"Builtin.Correctness": {"minScore": 0.5, "minImprovementOverChampion": 0.0}}})
    problems = problems_of(data)
    field = "evaluation.judge.bars.Builtin.Correctness.minImprovementOverChampion"
    assert any(field in p and "serving slot" in p and "serving.slot" in p for p in problems), problems


def test_check_points_at_the_line_of_a_champion_bar_without_a_slot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace(
        "{minScore: 0.7, minImprovementOverBase: 0.0}",
        "{minScore: 0.7, minImprovementOverBase: 0.0, minImprovementOverChampion: 0.0}",
    ).replace("../", f"{ROOT / 'examples'}/")
    path = tmp_path / "run.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "minImprovementOverChampion" in row)

    code = main(["check", str(path), "--offline"])

    out = capsys.readouterr().out
    assert code == 2
    assert f"{path}:{line}: evaluation.judge.bars.Builtin.Correctness.minImprovementOverChampion: " in out, (
        out
    )


def test_with_a_champion_the_plan_judges_it_too_and_every_barred_metric_must_not_be_worse() -> None:
    plan = slot_plan_of(slot_spec_data({"Builtin.Correctness": {"minScore": 0.7}}))
    section = plan["judge"]
    assert list(section["jobs"]) == ["custom", "base", "champion"]
    assert judge.judged_models(section) == ("custom", "base", "champion")
    job = section["jobs"]["champion"]
    assert job["SourceIdentifier"] == "champion-model"
    assert job["DatasetUri"] == f"s3://{BUCKET}/runs/{RUN_ID}/judge/champion-answers.jsonl"
    assert job["OutputPrefix"] == f"runs/{RUN_ID}/judge/output/champion/"
    assert EVALUATION_JOB_NAME.fullmatch(job["JobName"]) and job["JobName"].endswith("-judge-champion")
    assert len({j["JobName"] for j in section["jobs"].values()}) == 3
    assert len({j["ClientRequestToken"] for j in section["jobs"].values()}) == 3
    # Not worse than the champion on the barred metric (as the ROUGE-L bar); unbarred stays unbarred.
    assert section["bars"] == {
        "Builtin.Correctness": {
            "minScore": 0.7,
            "minImprovementOverBase": None,
            "minImprovementOverChampion": 0.0,
        }
    }
    given = slot_plan_of(slot_spec_data({"Builtin.Correctness": {"minImprovementOverChampion": 0.05}}))
    assert given["judge"]["bars"]["Builtin.Correctness"]["minImprovementOverChampion"] == 0.05


def test_a_first_promotion_has_no_champion_to_judge_and_drops_the_bar_over_it() -> None:
    data = slot_spec_data({"Builtin.Correctness": {"minScore": 0.7, "minImprovementOverChampion": 0.05}})
    section = slot_plan_of(data, champion=False)["judge"]
    assert list(section["jobs"]) == ["custom", "base"]
    assert section["bars"] == {"Builtin.Correctness": {"minScore": 0.7, "minImprovementOverBase": None}}


def test_the_champions_job_costs_a_third_of_the_judge_calls() -> None:
    data = slot_spec_data()
    with_champion = slot_plan_of(data)["estimate"]
    first = slot_plan_of(data, champion=False)["estimate"]
    assert with_champion["judgeUsd"] == pytest.approx(1.5 * first["judgeUsd"], rel=1e-3)
    assert "20 prompt(s) x 3 models x 2 metric(s) = 120 judge calls" in with_champion["basis"]["judge"]
    assert "x 2 models" in first["basis"]["judge"]
    # Before the preflight reads the slot (the CLI's estimate) the champion's job is counted: the
    # estimate is never below what the run spends.
    offline = plan_estimate(RunSpec.from_dict(data), 100_000, 2)
    assert offline["judgeUsd"] == with_champion["judgeUsd"]
    no_slot = spec_data({"metrics": ["Builtin.Correctness", "Builtin.Completeness"]})
    assert "x 2 models" in plan_estimate(RunSpec.from_dict(no_slot), 100_000, 2)["basis"]["judge"]


def champion_rows(count: int = 3) -> list[dict[str, Any]]:
    return [
        row | {"champion": {"text": f"champion answer {i}", "error": None}}
        for i, row in enumerate(rows(count))
    ]


def test_the_champions_dataset_pairs_with_the_others_and_carries_its_own_identifier() -> None:
    data = champion_rows(3)
    data[2]["champion"] = {"text": "", "error": "ThrottlingException: gave up"}
    datasets = judge.build_datasets(
        data, models=judge.judged_models({"jobs": dict.fromkeys(judge.SOURCE_IDENTIFIERS)})
    )
    assert set(datasets) == {"custom", "base", "champion"}
    # A prompt the champion did not answer is judged for no model: the means stay paired.
    for which in datasets:
        assert [json.loads(x)["prompt"] for x in datasets[which].splitlines()] == ["question 0", "question 1"]
    first = json.loads(datasets["champion"].splitlines()[0])
    assert first["modelResponses"] == [{"response": "champion answer 0", "modelIdentifier": "champion-model"}]
    # Rows the comparison wrote without the champion cannot be judged against it.
    assert judge.build_datasets(rows(3), models=("custom", "base", "champion"))["custom"] == ""


def test_the_champions_create_evaluation_job_request_matches_botocore() -> None:
    data = slot_spec_data({"Builtin.Correctness": {"minScore": 0.7}})
    data["evaluation"]["judge"]["customMetrics"] = [POLICY]
    section = slot_plan_of(data)["judge"]
    request = judge.create_job_request(section, "champion", role_arn=ROLE, kms_key_id=KEY)
    shape = botocore.session.get_session().get_service_model("bedrock").operation_model("CreateEvaluationJob")
    report = ParamValidator().validate(request, shape.input_shape)
    assert not report.has_errors(), report.generate_report()
    assert _walk(request, shape.input_shape, "") == []
    source = request["inferenceConfig"]["models"][0]["precomputedInferenceSource"]
    assert source == {"inferenceSourceIdentifier": "champion-model"}
    # The same judge, metrics and task as the other jobs: only the answers differ.
    custom = judge.create_job_request(section, "custom", role_arn=ROLE, kms_key_id=KEY)
    for key in ("evaluationConfig",):
        config = copy.deepcopy(request[key])
        config["automated"]["datasetMetricConfigs"][0]["dataset"] = custom[key]["automated"][
            "datasetMetricConfigs"
        ][0]["dataset"]
        assert config == custom[key]


def champion_judge_plan(**bars: dict[str, float]) -> dict[str, Any]:
    return slot_plan_of(slot_spec_data(bars))["judge"]


def test_the_verdict_fails_where_the_champion_scores_higher_naming_metric_and_scores() -> None:
    plan = champion_judge_plan(**{"Builtin.Correctness": {"minScore": 0.5}})
    custom, base, champion = (
        parsed([0.72, 0.70], [0.8, 0.8]),
        parsed([0.6, 0.6], [0.5, 0.5]),
        parsed([0.76, 0.74], [0.9, 0.9]),
    )
    result = judge.verdict(plan, custom, base, champion)
    assert not result["passed"]
    assert result["reasons"] == [
        "Correctness: custom 0.710 is 0.040 below the champion's 0.750 (minImprovementOverChampion +0)"
    ]
    entry = result["metrics"]["Correctness"]
    assert (entry["custom"], entry["base"], entry["champion"]) == (0.71, 0.6, 0.75)
    assert entry["improvementOverChampion"] == pytest.approx(-0.04)
    assert entry["minImprovementOverChampion"] == 0.0
    # Completeness has no bar: the champion's better score there is reported, not held against it.
    assert result["metrics"]["Completeness"]["minImprovementOverChampion"] is None
    assert "Correctness 0.710 (base 0.600, champion 0.750)" in result["summary"]
    assert judge.JUDGE_BELOW_BAR in result["summary"]


def test_the_verdict_passes_where_the_challenger_is_at_least_as_good_as_the_champion() -> None:
    plan = champion_judge_plan(**{"Builtin.Correctness": {"minScore": 0.5}})
    same = parsed([0.8, 0.7], [0.5, 0.5])
    result = judge.verdict(plan, same, parsed([0.6, 0.6], [0.5, 0.5]), copy.deepcopy(same))
    assert result["passed"], result["reasons"]
    demanding = champion_judge_plan(**{"Builtin.Correctness": {"minImprovementOverChampion": 0.1}})
    short = judge.verdict(demanding, parsed([0.8, 0.8], [0.5, 0.5]), same, parsed([0.75, 0.75], [0.5, 0.5]))
    assert short["reasons"] == [
        "Correctness: custom 0.800 improves on the champion's 0.750 by +0.050, below "
        "minImprovementOverChampion +0.1"
    ]


def test_a_bar_over_the_champion_without_the_champions_scores_fails() -> None:
    plan = champion_judge_plan(**{"Builtin.Correctness": {"minScore": 0.5}})
    scores = parsed([0.8, 0.8], [0.5, 0.5])
    missing = judge.verdict(plan, scores, scores)  # the champion's results never read
    assert not missing["passed"] and "the champion was not judged" in missing["reasons"][0]
    unscored = judge.verdict(plan, scores, scores, judge.parse_results([]))
    assert (
        not unscored["passed"] and "no judged scores to compare with the champion" in unscored["reasons"][0]
    )


def test_without_a_champion_the_verdict_is_what_it_was() -> None:
    plan = judge_plan(**{"Builtin.Correctness": {"minScore": 0.7}})
    result = judge.verdict(plan, parsed([0.9, 0.8], [0.5, 0.5]), parsed([0.6, 0.6], [0.6, 0.6]))
    assert "champion" not in result["metrics"]["Correctness"]
    assert "champion" not in result["summary"]
