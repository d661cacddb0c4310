"""Run specs: loading, every validation rule, normalization, round trips and hashing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.runspec import (
    Approval,
    Evaluation,
    Problem,
    RunSpec,
    RunSpecError,
    Throughput,
    load_run_spec,
    load_run_spec_data,
    parse_run_spec,
    spec_hash,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "runs"


# A run that buys throughput: the only kind whose quality bar is ever measured.
BUYS: dict[str, Any] = {"modelUnits": 1, "commitment": "none"}


def minimal(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "support-bot",
        "region": "us-east-1",
        "baseModel": "amazon.nova-micro-v1:0:128k",
        "customizationType": "FINE_TUNING",
        "training": "s3://my-bucket/datasets/train.jsonl",
    }
    spec.update(changes)
    return {k: v for k, v in spec.items() if v is not None}


def problems_of(data: Any, **kwargs: Any) -> list[Problem]:
    parsed = parse_run_spec(data, **kwargs)
    assert parsed.spec is None, "expected problems"
    return parsed.problems


def the_problem(data: Any, field: str, **kwargs: Any) -> Problem:
    found = [p for p in problems_of(data, **kwargs) if p.field == field]
    assert len(found) == 1, [str(p) for p in problems_of(data, **kwargs)]
    return found[0]


# --------------------------------------------------------------------------------------------------
# Valid specs
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_examples_load(path: Path) -> None:
    spec = load_run_spec(path)

    assert spec.base_dir == str(path.parent)
    assert Path(spec.resolve(spec.training)).is_file()


def test_example_fine_tuning_spec_is_normalized() -> None:
    spec = load_run_spec(EXAMPLES / "fine-tuning.yaml")

    assert spec.hyper_parameters == {
        "epochCount": "2",
        "learningRate": "1e-05",
        "learningRateWarmupSteps": "5",
    }
    assert spec.throughput == Throughput(1, "none")
    assert spec.approval == Approval("above-cost", 500.0, 24)
    assert spec.evaluation is not None and spec.evaluation.max_prompts == 16
    assert spec.validation == ("../datasets/conversation-validation.jsonl",)


def test_minimal_spec_and_defaults() -> None:
    spec = RunSpec.from_dict(minimal())

    assert spec.validation == ()
    assert spec.hyper_parameters == {}
    assert spec.evaluation is None and spec.throughput is None and spec.approval is None
    assert spec.model.model_id == "amazon.nova-micro-v1:0:128k"


def test_to_dict_has_every_key_and_round_trips() -> None:
    spec = load_run_spec(EXAMPLES / "fine-tuning.yaml")

    document = json.loads(json.dumps(spec.to_dict()))

    assert set(document) == {
        "name",
        "region",
        "baseModel",
        "customizationType",
        "training",
        "validation",
        "hyperParameters",
        "teacher",
        "maxResponseLengthForInference",
        "evaluation",
        "throughput",
        "approval",
        "tags",
    }
    assert document["hyperParameters"]["learningRate"] == "1e-05"
    assert document["training"] == "../datasets/conversation-train.jsonl"  # datasets as given
    assert RunSpec.from_dict(document) == spec


def test_optional_sections_default_inside_to_dict() -> None:
    spec = RunSpec.from_dict(
        minimal(
            evaluation={"maxTrainingLoss": 1.5},
            throughput={"modelUnits": 2},
            approval={"policy": "always"},
        )
    )

    document = spec.to_dict()

    assert document["evaluation"]["maxPrompts"] == 50
    assert document["throughput"] == {"modelUnits": 2, "commitment": "none"}
    assert document["approval"] == {"policy": "always", "monthlyCostThreshold": None, "timeoutHours": 24}


def test_spec_hash_is_stable_and_content_sensitive() -> None:
    first = RunSpec.from_dict(minimal())
    same = RunSpec.from_dict(dict(reversed(list(minimal().items()))))
    other = RunSpec.from_dict(minimal(name="support-bot-two"))

    assert spec_hash(first) == spec_hash(same)
    assert spec_hash(first) != spec_hash(other)
    assert len(spec_hash(first)) == 64


def test_with_datasets_replaces_locations() -> None:
    spec = load_run_spec(EXAMPLES / "fine-tuning.yaml")

    uploaded = spec.with_datasets(
        training="s3://my-bucket/datasets/train.jsonl",
        validation=["s3://my-bucket/datasets/val.jsonl"],
        prompts="s3://my-bucket/datasets/prompts.jsonl",
    )

    assert uploaded.training == "s3://my-bucket/datasets/train.jsonl"
    assert uploaded.validation == ("s3://my-bucket/datasets/val.jsonl",)
    assert uploaded.prompts == "s3://my-bucket/datasets/prompts.jsonl"
    assert uploaded.name == spec.name
    assert spec.training == "../datasets/conversation-train.jsonl"


def test_with_datasets_prompts_needs_an_evaluation_section() -> None:
    with pytest.raises(ValueError, match="no evaluation section"):
        RunSpec.from_dict(minimal()).with_datasets(prompts="s3://my-bucket/p.jsonl")


def test_dataset_locations_lists_every_dataset_with_its_role() -> None:
    spec = load_run_spec(EXAMPLES / "fine-tuning.yaml")

    assert [role for role, _ in spec.dataset_locations()] == ["training", "validation", "prompts"]
    assert spec.resolve("s3://my-bucket/k.jsonl") == "s3://my-bucket/k.jsonl"


def test_validation_accepts_a_list() -> None:
    spec = RunSpec.from_dict(minimal(validation=["s3://my-bucket/v1.jsonl", "s3://my-bucket/v2.jsonl"]))

    assert spec.validation == ("s3://my-bucket/v1.jsonl", "s3://my-bucket/v2.jsonl")


def test_distillation_spec() -> None:
    spec = load_run_spec(EXAMPLES / "distillation.yaml")

    assert spec.teacher == "amazon.nova-pro-v1:0"
    assert spec.max_response_length_for_inference == 1000


# --------------------------------------------------------------------------------------------------
# One failing case per rule
# --------------------------------------------------------------------------------------------------

RULES: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown-key", minimal(trainng="x"), "trainng", "did you mean 'training'"),
    ("name-required", minimal(name=None), "name", "name is required"),
    ("name-uppercase", minimal(name="Support_Bot"), "name", "not a valid run name"),
    ("name-trailing-hyphen", minimal(name="support-"), "name", "not a valid run name"),
    ("name-double-hyphen", minimal(name="support--bot"), "name", "not a valid run name"),
    ("name-too-long", minimal(name="a" * 41), "name", "3\u201340"),
    ("region-required", minimal(region=None), "region", "region is required"),
    ("region-format", minimal(region="US East"), "region", "not an AWS region"),
    ("model-not-in-region", minimal(region="us-west-2"), "region", "cannot be customized in us-west-2"),
    ("unknown-model", minimal(baseModel="amazon.nova-micro-v1:0"), "baseModel", "context-suffixed id"),
    (
        "unknown-type",
        minimal(customizationType="FINETUNING"),
        "customizationType",
        "did you mean 'FINE_TUNING'",
    ),
    (
        "type-not-supported",
        minimal(
            baseModel="anthropic.claude-3-haiku-20240307-v1:0:200k",
            region="us-west-2",
            customizationType="CONTINUED_PRE_TRAINING",
        ),
        "customizationType",
        "does not support CONTINUED_PRE_TRAINING",
    ),
    ("training-required", minimal(training=None), "training", "training is required"),
    ("training-bad-s3-uri", minimal(training="s3://My_Bucket/train.jsonl"), "training", "not a valid S3 URI"),
    (
        "validation-not-supported",
        minimal(baseModel="amazon.titan-image-generator-v1:0", validation="s3://my-bucket/v.jsonl"),
        "validation",
        "does not accept a validation dataset",
    ),
    (
        "too-many-validation-files",
        minimal(validation=[f"s3://my-bucket/v{i}.jsonl" for i in range(11)]),
        "validation",
        "at most 10",
    ),
    (
        "hyperparameter-range",
        minimal(hyperParameters={"epochCount": 12}),
        "hyperParameters.epochCount",
        "out of range 1\u20135",
    ),
    ("hyperparameters-not-a-map", minimal(hyperParameters=[1]), "hyperParameters", "must be a mapping"),
    (
        "teacher-without-distillation",
        minimal(teacher="amazon.nova-pro-v1:0"),
        "teacher",
        "only used with DISTILLATION",
    ),
    ("distillation-needs-teacher", minimal(customizationType="DISTILLATION"), "teacher", "needs a teacher"),
    (
        "teacher-pair-not-allowed",
        minimal(
            baseModel="amazon.nova-pro-v1:0:300k",
            customizationType="DISTILLATION",
            teacher="amazon.nova-pro-v1:0",
        ),
        "teacher",
        "cannot teach amazon.nova-pro-v1:0:300k",
    ),
    (
        "max-response-length-outside-distillation",
        minimal(maxResponseLengthForInference=100),
        "maxResponseLengthForInference",
        "only used with DISTILLATION",
    ),
    (
        "max-response-length-not-positive",
        minimal(
            customizationType="DISTILLATION", teacher="amazon.nova-pro-v1:0", maxResponseLengthForInference=0
        ),
        "maxResponseLengthForInference",
        "out of range",
    ),
    (
        "loss-must-be-positive",
        minimal(evaluation={"maxTrainingLoss": 0}),
        "evaluation.maxTrainingLoss",
        "> 0",
    ),
    (
        "validation-loss-needs-validation",
        minimal(evaluation={"maxValidationLoss": 1.0}),
        "evaluation.maxValidationLoss",
        "needs a validation dataset",
    ),
    (
        "quality-needs-prompts",
        minimal(evaluation={"minQuality": 0.5}, throughput=BUYS),
        "evaluation.minQuality",
        "needs evaluation.prompts",
    ),
    (
        "cpt-validation-text-is-no-reference",
        minimal(
            baseModel="amazon.titan-text-lite-v1:0:4k",
            customizationType="CONTINUED_PRE_TRAINING",
            validation="s3://my-bucket/datasets/val.jsonl",
            evaluation={"minImprovementOverBase": 0.0},
            throughput=BUYS,
        ),
        "evaluation.minImprovementOverBase",
        "needs evaluation.prompts",
    ),
    (
        "quality-range",
        minimal(evaluation={"prompts": "s3://my-bucket/p.jsonl", "minQuality": 1.5}, throughput=BUYS),
        "evaluation.minQuality",
        "out of range 0\u20131",
    ),
    (
        "improvement-range",
        minimal(
            evaluation={"prompts": "s3://my-bucket/p.jsonl", "minImprovementOverBase": -2}, throughput=BUYS
        ),
        "evaluation.minImprovementOverBase",
        "out of range -1\u20131",
    ),
    (
        "max-prompts-range",
        minimal(evaluation={"prompts": "s3://my-bucket/p.jsonl", "maxPrompts": 1001}, throughput=BUYS),
        "evaluation.maxPrompts",
        "out of range 1\u20131000",
    ),
    (
        "quality-needs-throughput",
        minimal(evaluation={"prompts": "s3://my-bucket/p.jsonl", "minQuality": 0.5}),
        "evaluation.minQuality",
        "only measured on provisioned throughput",
    ),
    (
        "improvement-needs-throughput",
        minimal(evaluation={"prompts": "s3://my-bucket/p.jsonl", "minImprovementOverBase": 0.0}),
        "evaluation.minImprovementOverBase",
        "add throughput",
    ),
    (
        "prompts-need-throughput",
        minimal(evaluation={"prompts": "s3://my-bucket/p.jsonl"}),
        "evaluation.prompts",
        "this run buys none",
    ),
    ("unknown-evaluation-key", minimal(evaluation={"maxLoss": 1}), "evaluation.maxLoss", "unknown key"),
    (
        "model-units-required",
        minimal(throughput={"commitment": "none"}),
        "throughput.modelUnits",
        "is required",
    ),
    ("model-units-positive", minimal(throughput={"modelUnits": 0}), "throughput.modelUnits", "out of range"),
    (
        "commitment-value",
        minimal(throughput={"modelUnits": 1, "commitment": "1 month"}),
        "throughput.commitment",
        "not one of none | OneMonth | SixMonths",
    ),
    (
        "commitment-needs-explicit-approval",
        minimal(throughput={"modelUnits": 1, "commitment": "OneMonth"}),
        "approval.policy",
        "give an explicit approval.policy",
    ),
    (
        "commitment-with-never",
        minimal(throughput={"modelUnits": 1, "commitment": "SixMonths"}, approval={"policy": "never"}),
        "approval.policy",
        "not allowed with throughput.commitment=SixMonths",
    ),
    ("approval-policy-required", minimal(approval={"timeoutHours": 2}), "approval.policy", "is required"),
    (
        "above-cost-needs-threshold",
        minimal(approval={"policy": "above-cost"}),
        "approval.monthlyCostThreshold",
        "needs monthlyCostThreshold",
    ),
    (
        "timeout-range",
        minimal(approval={"policy": "always", "timeoutHours": 200}),
        "approval.timeoutHours",
        "1\u2013168",
    ),
    ("tag-characters", minimal(tags={"team": "ml#1"}), "tags.team", "0\u2013256 characters"),
    ("tag-key-too-long", minimal(tags={"k" * 129: "v"}), f"tags.{'k' * 129}", "1\u2013128 characters"),
    ("too-many-tags", minimal(tags={f"k{i}": "v" for i in range(201)}), "tags", "at most 200"),
]


@pytest.mark.parametrize(("data", "field", "fragment"), [pytest.param(*r[1:], id=r[0]) for r in RULES])
def test_each_rule_names_the_field_the_value_and_what_is_allowed(
    data: dict[str, Any], field: str, fragment: str
) -> None:
    problem = the_problem(data, field)

    assert fragment in problem.message
    assert problem.allowed


def test_all_problems_are_reported_at_once() -> None:
    data = minimal(
        name="Bad Name",
        region="eu-west-1",
        hyperParameters={"epochCount": 12, "batchSize": 4},
        tags={"x": "#"},
        extra=True,
    )

    with pytest.raises(RunSpecError) as caught:
        RunSpec.from_dict(data)

    fields = sorted(p.field for p in caught.value.problems)
    assert fields == [
        "extra",
        "hyperParameters.batchSize",
        "hyperParameters.epochCount",
        "name",
        "region",
        "tags.x",
    ]
    assert "6 problems" in str(caught.value)


def test_local_paths_are_input_errors_inside_the_workflow() -> None:
    problem = the_problem(minimal(training="data/train.jsonl"), "training", require_s3=True)

    assert "local path; the workflow reads only s3:// URIs" in problem.message


def test_relative_paths_resolve_against_the_spec_folder(tmp_path: Path) -> None:
    spec = RunSpec.from_dict(minimal(training="data/train.jsonl"), base_dir=tmp_path)

    assert spec.resolve(spec.training) == str(tmp_path / "data" / "train.jsonl")


def test_unknown_throughput_price_is_not_a_spec_error() -> None:
    spec = RunSpec.from_dict(
        minimal(throughput={"modelUnits": 1}, approval={"policy": "above-cost", "monthlyCostThreshold": 100})
    )

    assert spec.throughput == Throughput(1, "none")


def test_evaluation_dataclass_defaults() -> None:
    assert Evaluation().max_prompts == 50


def test_not_a_mapping() -> None:
    assert "must be a mapping" in problems_of(["x"])[0].message


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------


def test_json_spec_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(minimal()), encoding="utf-8")

    assert load_run_spec(path).name == "support-bot"


def test_yaml_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("name: a-run\nregion: us-east-1\nname: b-run\n", encoding="utf-8")

    with pytest.raises(RunSpecError, match=r"line 3, column 1: duplicate key 'name'"):
        load_run_spec_data(path)


def test_json_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text('{"name": "a-run", "name": "b-run"}', encoding="utf-8")

    with pytest.raises(RunSpecError, match="duplicate key 'name'"):
        load_run_spec_data(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "run.yml"
    path.write_text("name: a\n  region: [\n", encoding="utf-8")

    with pytest.raises(RunSpecError, match=r"not valid YAML: line \d+, column \d+"):
        load_run_spec_data(path)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text('{\n  "name": \n}', encoding="utf-8")

    with pytest.raises(RunSpecError, match=r"not valid JSON: line 3, column 1"):
        load_run_spec_data(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RunSpecError, match="does not exist"):
        load_run_spec(tmp_path / "nope.yaml")


def test_invalid_spec_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(minimal(name="X")), encoding="utf-8")

    with pytest.raises(RunSpecError) as caught:
        load_run_spec(path)

    assert str(caught.value).startswith(f"{path}: 1 problem:")


def test_fine_tuning_validation_data_can_stand_in_for_evaluation_prompts() -> None:
    # Given a fine-tuning spec with validation data and a quality bar but no prompts file
    data = minimal(
        validation="s3://my-bucket/datasets/val.jsonl", evaluation={"minQuality": 0.5}, throughput=BUYS
    )
    # Then the bar is accepted: stage 2 measures it on a slice of the validation data
    parsed = parse_run_spec(data)
    assert parsed.problems == []
    assert parsed.spec is not None and parsed.spec.evaluation is not None
    assert parsed.spec.evaluation.min_quality == 0.5
