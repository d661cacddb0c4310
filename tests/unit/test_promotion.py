"""Promoting an earlier run's model into a serving slot (pipeline.promotion, pipeline.operate.promote):
the source's checks, the plan of a run that trains nothing, and the CLI's preparation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline import naming, ownership, promotion, slots
from pipeline.operate import promote
from pipeline.operate.errors import InvalidInputError
from pipeline.plan import EXECUTION_ARN_TAG, PROMOTION_VARIANT, RUN_ID_TAG, PlanContext, build_plan
from pipeline.runspec import RunSpec

BUCKET = "training-bucket"
DATA = f"s3://{BUCKET}/datasets/abc"
SOURCE = "support-bot-0123456789"
BASE = "amazon.nova-micro-v1:0:128k"
MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abc123"
CHAMPION_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/champ1"
ENDPOINT = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/slot0deploy1"
SPEC: dict[str, Any] = {
    "name": "support-bot",
    "region": "us-east-1",
    "baseModel": BASE,
    "customizationType": "FINE_TUNING",
    "training": f"{DATA}/train.jsonl",
    "hyperParameters": {"epochCount": 2},
    "evaluation": {"maxTrainingLoss": 2.0, "minQuality": 0.3, "prompts": f"{DATA}/eval.jsonl"},
    "serving": {"mode": "on-demand"},
}


def _model(**overrides: Any) -> dict[str, Any]:
    return {
        "modelArn": MODEL_ARN,
        "modelName": naming.custom_model_name(SOURCE),
        "jobName": naming.job_name(SOURCE),
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro/j1",
        "baseModelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{BASE}",
        "outputDataConfig": {"s3Uri": f"s3://{BUCKET}/outputs/{SOURCE}/"},
        "modelStatus": "Active",
    } | overrides


TAGS = {RUN_ID_TAG: SOURCE, EXECUTION_ARN_TAG: f"arn:aws:states:us-east-1:123456789012:execution:wf:{SOURCE}"}
PASSED = {"passed": True, "judged": True, "verdict": "passed", "summary": "0.61 >= 0.3"}


def _check(**overrides: Any) -> tuple[promotion.Source | None, list[Any]]:
    arguments: dict[str, Any] = {
        "model": _model(),
        "tags": TAGS,
        "evaluation": PASSED,
        "base_model": BASE,
        "champion_model_arn": CHAMPION_ARN,
    } | overrides
    return promotion.check_source(SOURCE, **arguments)


def _slot(champion: str = CHAMPION_ARN) -> slots.Slot:
    return slots.first_promotion(
        "support", slots.DEPLOYMENT, ENDPOINT, BASE, slots.Champion(champion, "r1", "2026-12-01T00:00:00Z")
    )


def test_a_model_that_passed_and_carries_its_runs_tags_is_promotable() -> None:
    source, problems = _check()
    assert problems == []
    assert source is not None
    assert source.model_arn == MODEL_ARN and source.job_name == naming.job_name(SOURCE)
    assert source.output_uri == f"s3://{BUCKET}/outputs/{SOURCE}/"


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"model": None}, "no custom model"),
        ({"model": _model(modelStatus="Creating")}, "is Creating, not Active"),
        ({"tags": {RUN_ID_TAG: "someone-else"}}, "does not carry that run's tags"),
        ({"tags": {}}, "does not carry that run's tags"),
        ({"evaluation": None}, "has no evaluation"),
        ({"evaluation": {**PASSED, "passed": False, "verdict": "below-bar"}}, "did not pass"),
        ({"evaluation": {**PASSED, "judged": False}}, "did not pass"),
        ({"champion_model_arn": MODEL_ARN}, "already serves in the slot"),
        ({"base_model": "amazon.nova-lite-v1:0:300k"}, "not the spec's"),
        ({"judged": True, "judge": None}, "never judged"),
        (
            {"judged": True, "judge": {"passed": False, "summary": "Correctness 0.4"}},
            "judge's bars did not pass",
        ),
    ],
)
def test_each_reason_refuses_the_promotion(overrides: dict[str, Any], needle: str) -> None:
    source, problems = _check(**overrides)
    assert source is None
    assert any(needle in p.message for p in problems), problems
    assert all(p.field == promotion.PROMOTE_FROM for p in problems)


def test_the_source_id_must_be_another_runs_id() -> None:
    assert promotion.source_id_problem(SOURCE, "this-run") is None
    assert promotion.source_id_problem(None, "this-run") is not None
    assert promotion.source_id_problem("../etc", "this-run") is not None
    assert promotion.source_id_problem("this-run", "this-run") is not None


def test_promotion_ids_stay_execution_names_and_distinct() -> None:
    assert promotion.promotion_id(SOURCE, 1) == f"{SOURCE}-p1"
    long_a, long_b = "a" * 78 + "x", "a" * 78 + "y"
    ids = {promotion.promotion_id(long_a, 1), promotion.promotion_id(long_b, 1)}
    assert len(ids) == 2 and all(len(i) <= 80 for i in ids)
    with pytest.raises(ValueError):
        promotion.promotion_id(SOURCE, 0)


def _promotion_plan() -> dict[str, Any]:
    source, _ = _check()
    spec = RunSpec.from_dict({**SPEC, "serving": {"mode": "on-demand", "slot": "support"}})
    context = PlanContext(
        bucket=BUCKET,
        run_id=f"{SOURCE}-p1",
        environment="dev",
        slot=_slot(),
        execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:wf:{SOURCE}-p1",
        execution_start="2026-12-07T10:00:00.000Z",
        promotion=source,
    )
    return build_plan(spec, context, estimated_tokens=100_000)


def test_the_plan_of_a_promotion_trains_nothing_and_names_the_earlier_job() -> None:
    plan = _promotion_plan()
    assert plan["jobVariant"] == PROMOTION_VARIANT
    assert plan["job"]["JobName"] == naming.job_name(SOURCE)
    assert plan["job"]["CustomModelName"] == naming.custom_model_name(SOURCE)
    assert "TrainingDataConfig" not in plan["job"] and "JobTags" not in plan["job"]
    assert plan["promotion"]["sourceRunId"] == SOURCE and plan["promotion"]["modelArn"] == MODEL_ARN
    assert plan["estimate"]["trainingUsd"] == 0.0
    assert SOURCE in plan["estimate"]["basis"]["training"]
    # Evaluated against the champion as the slot holds it now, with the default "not worse" bar.
    assert plan["slot"]["championModelArn"] == CHAMPION_ARN
    assert plan["evaluation"]["minImprovementOverChampion"] == 0.0
    # What it creates is its own: the evaluation deployment under its own run id.
    assert naming.deployment_name(f"{SOURCE}-p1") == plan["vehicle"]["ModelDeploymentName"]


def test_a_promotion_needs_only_its_own_names_free() -> None:
    plan = _promotion_plan()
    names = {name for _, _, name, _ in ownership.planned_names(plan)}
    assert naming.job_name(SOURCE) not in names and naming.custom_model_name(SOURCE) not in names
    assert plan["vehicle"]["ModelDeploymentName"] in names
    ordinary = {name for _, _, name, _ in ownership.planned_names({**plan, "promotion": None})}
    assert naming.job_name(SOURCE) in ordinary  # the mutation: without the promotion, it is checked


def _described(status: str = "SUCCEEDED", **document: Any) -> dict[str, Any]:
    return {"status": status, "input": json.dumps({"runSpec": SPEC, **document})}


def test_a_run_still_going_is_not_a_source_one_that_ended_is() -> None:
    assert promote.source_spec(_described(), SOURCE)["name"] == "support-bot"
    # A run that passed its bars and failed later (its own slot change) may be promoted: the
    # preflight and the CLI read its evaluation (check_source), not its status.
    assert promote.source_spec(_described("FAILED"), SOURCE)["name"] == "support-bot"
    with pytest.raises(InvalidInputError, match="still going"):
        promote.source_spec(_described("RUNNING"), SOURCE)
    with pytest.raises(InvalidInputError, match="no run spec"):
        promote.source_spec({"status": "SUCCEEDED", "input": "{}"}, SOURCE)


def test_a_promotion_of_a_promotion_promotes_the_model_of_the_run_that_trained_it() -> None:
    executions = {
        f"{SOURCE}-p2": _described(promoteFrom=f"{SOURCE}-p1"),
        f"{SOURCE}-p1": _described(promoteFrom=SOURCE),
        SOURCE: _described(),
    }
    run, described, chain = promote.resolve_source(executions.get, f"{SOURCE}-p2")
    assert run == SOURCE and described is executions[SOURCE]
    assert chain == [f"{SOURCE}-p2", f"{SOURCE}-p1"]


def test_the_spec_serves_the_way_the_slot_does() -> None:
    into_existing = promote.spec_into_slot({**SPEC, "serving": {"mode": "none"}}, "support", _slot())
    assert into_existing.serving.slot == "support" and into_existing.serving.on_demand
    with pytest.raises(InvalidInputError, match="serves nothing"):
        promote.spec_into_slot({**SPEC, "serving": {"mode": "none"}}, "support", None)
    provisioned = slots.first_promotion(
        "support",
        slots.THROUGHPUT,
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/pt1",
        BASE,
        slots.Champion(CHAMPION_ARN, "r1", "2026-12-01T00:00:00Z"),
    )
    with pytest.raises(InvalidInputError, match="provisioned throughput"):
        promote.spec_into_slot(SPEC, "support", provisioned)
    first = promote.spec_into_slot(SPEC, "support", None)
    assert first.serving.slot == "support" and first.serving.on_demand


def test_the_next_promotion_id_skips_ended_ones_and_waits_for_a_running_one() -> None:
    ended = {f"{SOURCE}-p1": {"status": "FAILED"}}
    assert promote.next_run_id(ended.get, SOURCE) == f"{SOURCE}-p2"
    running = {f"{SOURCE}-p1": {"status": "RUNNING"}}
    with pytest.raises(InvalidInputError, match="still going"):
        promote.next_run_id(running.get, SOURCE)


class _Bedrock:
    def __init__(self, error: str | None = None) -> None:
        self.error = error

    def get_custom_model(self, modelIdentifier: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        if self.error is not None:
            raise _CodedError(self.error)
        assert modelIdentifier == naming.custom_model_name(SOURCE)
        return _model()

    def list_tags_for_resource(self, resourceARN: str) -> dict[str, Any]:  # noqa: N803
        return {"tags": [{"key": k, "value": v} for k, v in TAGS.items()]}


class _CodedError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _read(bedrock: _Bedrock) -> tuple[promotion.Source | None, list[Any]]:
    return promotion.read_source(
        bedrock,
        lambda name: PASSED,
        lambda error: getattr(error, "code", ""),
        SOURCE,
        base_model=BASE,
        champion_model_arn=CHAMPION_ARN,
    )


def test_the_one_reading_of_an_earlier_run_refuses_what_is_missing_and_raises_the_rest() -> None:
    source, problems = _read(_Bedrock())
    assert source is not None and problems == []
    source, problems = _read(_Bedrock("ResourceNotFoundException"))
    assert source is None and "no custom model" in problems[0].message
    with pytest.raises(_CodedError):
        _read(_Bedrock("AccessDeniedException"))
