"""evaluation.references=teacher: a distillation measured without hand-written references. The
teacher answers each prompt first and its answer is the reference the student and the base are
scored against (pipeline.evaluation); the spec, the prompts file, the plan and the estimate know it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import evaluation
from pipeline.datasets import validate_run
from pipeline.evaluation import EvalPrompt, PromptSet, evaluate, read_prompts
from pipeline.plan import PlanContext, build_plan
from pipeline.runspec import RunSpec, RunSpecError, load_run_spec
from tests.handlers import plans
from tests.unit.test_evaluation import FakeConverse, error, reply

ROOT = Path(__file__).resolve().parents[2]
TEACHER = "amazon.nova-pro-v1:0"


def _no_wait(_: float) -> None:
    return None


def _plan() -> dict[str, Any]:
    return plans.plan(evaluation={"references": "teacher", "teacherInvokeId": TEACHER, "minQuality": 0.5})


def _prompts(count: int) -> PromptSet:
    return PromptSet(
        uri=plans.PROMPTS_URI,
        kind=evaluation.PROMPTS,
        prompts=[EvalPrompt(f"q{n}", "", n + 1) for n in range(count)],
    )


def test_the_teachers_answer_is_the_reference() -> None:
    converse = FakeConverse(
        {
            TEACHER: [reply(f"the answer is {n}") for n in range(3)],
            plans.PT_ARN: [reply(f"the answer is {n}") for n in range(3)],
            plans.BASE_INVOKE_ID: [reply("no idea") for _ in range(3)],
        }
    )
    result = evaluate(
        _plan(), _prompts(3), custom_model_id=plans.PT_ARN, converse=converse, sleep=lambda _: None
    )
    assert result.passed is True and result.custom["quality"] == 1.0 and result.base["quality"] == 0.0
    # The teacher is asked first, then the models, prompt by prompt
    assert [c["modelId"] for c in converse.calls[:3]] == [TEACHER, plans.PT_ARN, plans.BASE_INVOKE_ID]
    assert result.rows[0]["reference"] == "the answer is 0" and result.rows[0]["teacher"]["text"]
    assert result.to_dict()["references"] == {"from": "teacher", "modelId": TEACHER, "asked": 3, "failed": 0}
    assert "references: the teacher" in result.summary


def test_a_prompt_the_teacher_does_not_answer_is_not_asked_of_the_models() -> None:
    teacher = [reply("the answer is 0")] + [reply(f"the answer is {n}") for n in range(1, 11)]
    teacher[0] = error("ModelErrorException")  # type: ignore[call-overload]
    converse = FakeConverse(
        {
            TEACHER: teacher,
            plans.PT_ARN: [reply(f"the answer is {n}") for n in range(1, 11)],
            plans.BASE_INVOKE_ID: [reply("no idea") for _ in range(10)],
        }
    )
    result = evaluate(
        _plan(), _prompts(11), custom_model_id=plans.PT_ARN, converse=converse, sleep=lambda _: None
    )
    # 1 of 11 (9 %) is within the share allowed: judged over the 10 prompts with a reference
    assert result.judged is True and result.custom["prompts"] == 10
    assert result.rows[0]["reference"] is None and "custom" not in result.rows[0]
    assert sum(1 for c in converse.calls if c["modelId"] == plans.PT_ARN) == 10


def test_a_teacher_that_fails_too_often_leaves_the_run_not_judged() -> None:
    converse = FakeConverse(
        {
            TEACHER: [error("AccessDeniedException")] * 3,
            plans.PT_ARN: [],
            plans.BASE_INVOKE_ID: [],
        }
    )
    result = evaluate(
        _plan(), _prompts(5), custom_model_id=plans.PT_ARN, converse=converse, sleep=lambda _: None
    )
    assert result.judged is False and result.passed is False
    assert result.verdict == evaluation.VERDICT_NOT_JUDGED
    assert "calls to the teacher" in result.summary
    # After three refusals in a row the teacher is not asked again, nor are the models
    assert len(converse.calls) == 3


def test_prompt_only_records_count_only_when_the_teacher_answers_for_them() -> None:
    lines = [
        json.dumps({"prompt": "How heavy is the tent?"}),
        json.dumps({"messages": [{"role": "user", "content": [{"text": "Where is my order?"}]}]}),
        json.dumps({"prompt": "Q", "reference": "A"}),
    ]
    by_teacher = read_prompts(lines, uri="u", kind=evaluation.PROMPTS, max_prompts=10, teacher=True)
    assert [p.prompt for p in by_teacher.prompts] == ["How heavy is the tent?", "Where is my order?", "Q"]
    assert all(p.reference == "" for p in by_teacher.prompts)
    by_dataset = read_prompts(lines, uri="u", kind=evaluation.PROMPTS, max_prompts=10)
    assert [p.prompt for p in by_dataset.prompts] == ["Q"] and by_dataset.skipped == 2


def _distillation(**evaluation_section: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(load_run_spec(ROOT / "examples" / "runs" / "distillation.yaml").to_dict()))
    data["evaluation"] |= evaluation_section
    return data


def test_the_spec_takes_teacher_references_only_for_distillation_with_prompts() -> None:
    spec = RunSpec.from_dict(_distillation(references="teacher"))
    assert spec.evaluation is not None and spec.evaluation.references == "teacher"
    assert spec.to_dict()["evaluation"]["references"] == "teacher"
    # the default leaves the key out: every other spec keeps its hash and run id
    assert "references" not in RunSpec.from_dict(_distillation()).to_dict()["evaluation"]
    with pytest.raises(RunSpecError, match=r"not one of dataset \| teacher"):
        RunSpec.from_dict(_distillation(references="teachers"))
    fine_tuning = load_run_spec(ROOT / "examples" / "runs" / "fine-tuning.yaml").to_dict()
    fine_tuning["evaluation"]["references"] = "teacher"
    with pytest.raises(RunSpecError, match="has no teacher"):
        RunSpec.from_dict(fine_tuning)
    no_prompts = _distillation(references="teacher")
    del no_prompts["evaluation"]["prompts"]
    del no_prompts["evaluation"]["minQuality"]
    with pytest.raises(RunSpecError, match=r"needs evaluation\.prompts"):
        RunSpec.from_dict(no_prompts)


def test_a_prompts_file_without_references_passes_only_with_the_teacher() -> None:
    held_out = str(ROOT / "examples" / "prompts" / "distillation-held-out.jsonl")
    runs = ROOT / "examples" / "runs"
    with_teacher = RunSpec.from_dict(_distillation(references="teacher", prompts=held_out), base_dir=runs)
    assert validate_run(with_teacher).ok
    without = RunSpec.from_dict(_distillation(prompts=held_out), base_dir=runs)
    report = validate_run(without)
    assert not report.ok


def test_the_plan_names_the_teacher_and_the_estimate_counts_its_answers() -> None:
    spec = RunSpec.from_dict(_distillation(references="teacher"))
    plan = build_plan(spec, PlanContext(bucket="b", run_id="r-0123456789"), estimated_tokens=10_000)
    assert plan["evaluation"]["references"] == "teacher"
    assert plan["evaluation"]["teacherInvokeId"] == TEACHER
    without = build_plan(
        RunSpec.from_dict(_distillation()),
        PlanContext(bucket="b", run_id="r-0123456789"),
        estimated_tokens=10_000,
    )
    assert "teacherInvokeId" not in without["evaluation"]
    assert plan["estimate"]["evaluationUsd"] > without["estimate"]["evaluationUsd"]
    assert f"the teacher {TEACHER} answers" in plan["estimate"]["basis"]["evaluation"]
