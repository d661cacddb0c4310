"""Run specs: loading, every validation rule, normalization, round trips and hashing."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline import catalog
from pipeline.runspec import (
    Approval,
    Evaluation,
    Problem,
    RunSpec,
    RunSpecError,
    Serving,
    load_run_spec,
    load_run_spec_data,
    parse_run_spec,
    spec_hash,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "runs"


# A run that buys one no-commitment model unit to serve the model once it passed its bars.
BUYS: dict[str, Any] = {"mode": "provisioned", "modelUnits": 1, "commitment": "none"}
PROMPTS = "s3://my-bucket/datasets/prompts.jsonl"
BAR: dict[str, Any] = {"prompts": PROMPTS, "minQuality": 0.5}
LLAMA_31 = {"region": "us-west-2", "baseModel": "meta.llama3-1-8b-instruct-v1:0:128k"}


@pytest.fixture
def before_titan_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """A day on which Titan Text and Claude 3 Haiku were still customizable (catalog lifecycle)."""
    monkeypatch.setattr(catalog, "today_utc", lambda: dt.date(2026, 1, 5))


def minimal(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "support-bot",
        "region": "us-east-1",
        "baseModel": "amazon.nova-micro-v1:0:128k",
        "customizationType": "FINE_TUNING",
        "training": "s3://my-bucket/datasets/train.jsonl",
    }
    spec.update(changes)
    serving = spec.get("serving")
    if isinstance(serving, dict) and serving.get("mode") == "provisioned" and "evaluation" not in changes:
        spec["evaluation"] = BAR  # nothing is bought without a quality verdict
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
    assert spec.serving == Serving("provisioned", 1, "none")
    assert spec.evaluation_vehicle == "deployment"  # Nova Micro deploys on demand in us-east-1
    assert spec.approval == Approval("above-cost", 500.0, 24)
    assert spec.evaluation is not None and spec.evaluation.max_prompts == 16
    assert spec.validation == ("../datasets/conversation-validation.jsonl",)


def test_minimal_spec_and_defaults() -> None:
    spec = RunSpec.from_dict(minimal())

    assert spec.validation == ()
    assert spec.hyper_parameters == {}
    assert spec.evaluation is None and spec.approval is None
    assert spec.serving == Serving("none") and spec.serving.mode == "none"
    assert spec.evaluation_vehicle == "none"  # nothing to evaluate, nothing served
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
        "serving",
        "approval",
        "tags",
    }
    assert document["serving"] == {"mode": "provisioned", "modelUnits": 1, "commitment": "none"}
    assert document["hyperParameters"]["learningRate"] == "1e-05"
    assert document["training"] == "../datasets/conversation-train.jsonl"  # datasets as given
    assert RunSpec.from_dict(document) == spec


def test_optional_sections_default_inside_to_dict() -> None:
    spec = RunSpec.from_dict(
        minimal(
            evaluation={"maxTrainingLoss": 1.5, "prompts": PROMPTS, "minImprovementOverBase": 0.0},
            serving={"mode": "provisioned", "modelUnits": 2},
            approval={"policy": "always"},
        )
    )

    document = spec.to_dict()

    assert document["evaluation"]["maxPrompts"] == 50
    assert document["serving"] == {"mode": "provisioned", "modelUnits": 2, "commitment": "none"}
    assert RunSpec.from_dict(minimal()).to_dict()["serving"] == {"mode": "none"}
    assert RunSpec.from_dict(minimal(serving={"mode": "on-demand"})).to_dict()["serving"] == {
        "mode": "on-demand"
    }
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
    assert spec.serving == Serving("on-demand")
    assert spec.evaluation_vehicle == "deployment"  # evaluated on the deployment that then serves


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
        minimal(evaluation={"minQuality": 0.5}, serving=BUYS),
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
            serving=BUYS,
        ),
        "evaluation.minImprovementOverBase",
        "needs evaluation.prompts",
    ),
    (
        "quality-range",
        minimal(evaluation={"prompts": "s3://my-bucket/p.jsonl", "minQuality": 1.5}, serving=BUYS),
        "evaluation.minQuality",
        "out of range 0\u20131",
    ),
    (
        "improvement-range",
        minimal(evaluation={"prompts": "s3://my-bucket/p.jsonl", "minImprovementOverBase": -2}, serving=BUYS),
        "evaluation.minImprovementOverBase",
        "out of range -1\u20131",
    ),
    (
        "max-prompts-range",
        minimal(evaluation={"prompts": "s3://my-bucket/p.jsonl", "maxPrompts": 1001}, serving=BUYS),
        "evaluation.maxPrompts",
        "out of range 1\u20131000",
    ),
    ("unknown-evaluation-key", minimal(evaluation={"maxLoss": 1}), "evaluation.maxLoss", "unknown key"),
    ("serving-not-a-mapping", minimal(serving="on-demand"), "serving", "serving must be a mapping"),
    (
        "serving-unknown-key",
        minimal(serving={"mode": "none", "units": 1}),
        "serving.units",
        "unknown key 'units'; allowed: mode, modelUnits, commitment",
    ),
    (
        "serving-mode-required",
        minimal(serving={"modelUnits": 1}),
        "serving.mode",
        "serving.mode is required (on-demand | provisioned | none)",
    ),
    (
        "serving-mode-value",
        minimal(serving={"mode": "ondemand"}),
        "serving.mode",
        "serving.mode='ondemand' is not one of on-demand | provisioned | none (did you mean 'on-demand'?)",
    ),
    (
        "model-units-only-when-provisioned",
        minimal(serving={"mode": "on-demand", "modelUnits": 1}),
        "serving.modelUnits",
        "serving.modelUnits is only used with serving.mode=provisioned, not on-demand; remove it",
    ),
    (
        "commitment-only-when-provisioned",
        minimal(serving={"mode": "none", "commitment": "OneMonth"}),
        "serving.commitment",
        "serving.commitment is only used with serving.mode=provisioned, not none; remove it",
    ),
    (
        "on-demand-where-the-base-never-deploys",
        minimal(**LLAMA_31, serving={"mode": "on-demand"}),
        "serving.mode",
        "custom models of meta.llama3-1-8b-instruct-v1:0:128k cannot be deployed on demand in us-west-2 "
        "(Bedrock offers no on-demand deployment for them); use serving.mode=provisioned or none",
    ),
    (
        "on-demand-in-another-region",
        minimal(region="us-west-2", serving={"mode": "on-demand"}),
        "serving.mode",
        "cannot be deployed on demand in us-west-2 (only in us-east-1)",
    ),
    (
        "model-units-required",
        minimal(serving={"mode": "provisioned", "commitment": "none"}),
        "serving.modelUnits",
        "serving.modelUnits is required",
    ),
    (
        "model-units-positive",
        minimal(serving={"mode": "provisioned", "modelUnits": 0}),
        "serving.modelUnits",
        "out of range",
    ),
    (
        "model-units-integer",
        minimal(serving={"mode": "provisioned", "modelUnits": "2"}),
        "serving.modelUnits",
        "must be an integer",
    ),
    (
        "commitment-value",
        minimal(serving={"mode": "provisioned", "modelUnits": 1, "commitment": "1 month"}),
        "serving.commitment",
        "not one of none | OneMonth | SixMonths",
    ),
    (
        "commitment-needs-explicit-approval",
        minimal(serving={"mode": "provisioned", "modelUnits": 1, "commitment": "OneMonth"}),
        "approval.policy",
        "serving.commitment=OneMonth commits you to pay for the whole term and cannot be cancelled; "
        "give an explicit approval.policy",
    ),
    (
        "commitment-with-never",
        minimal(
            serving={"mode": "provisioned", "modelUnits": 1, "commitment": "SixMonths"},
            approval={"policy": "never"},
        ),
        "approval.policy",
        "not allowed with serving.commitment=SixMonths",
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
    # Bedrock's 200, less the pipeline's own tags (run, execution, commitment, purpose, slot).
    ("too-many-tags", minimal(tags={f"k{i}": "v" for i in range(194)}), "tags", "at most 193"),
    (
        "pipeline-tag-prefix",
        minimal(tags={"bedrock-customization:execution-arn": "arn:aws:states:::execution:x:y"}),
        "tags.bedrock-customization:execution-arn",
        "the pipeline's own prefix",
    ),
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
        minimal(
            serving={"mode": "provisioned", "modelUnits": 1},
            approval={"policy": "above-cost", "monthlyCostThreshold": 100},
        )
    )

    assert spec.serving == Serving("provisioned", 1, "none")


@pytest.mark.parametrize(
    ("data", "field", "allowed"),
    [
        pytest.param(minimal(serving={}), "serving.mode", "on-demand | provisioned | none", id="mode"),
        pytest.param(
            minimal(serving={"mode": "none", "modelUnits": 2}),
            "serving.modelUnits",
            "only with mode: provisioned",
            id="units-without-provisioned",
        ),
        pytest.param(
            minimal(**LLAMA_31, serving={"mode": "on-demand"}),
            "serving.mode",
            "provisioned or none",
            id="never-on-demand",
        ),
        pytest.param(
            minimal(region="us-west-2", serving={"mode": "on-demand"}),
            "serving.mode",
            "on-demand in us-east-1",
            id="on-demand-elsewhere",
        ),
        pytest.param(
            minimal(serving={"mode": "provisioned", "modelUnits": 1, "commitment": "OneMonth"}),
            "approval.policy",
            "always or above-cost",
            id="commitment-approval",
        ),
        pytest.param(
            minimal(serving={"mode": "provisioned", "modelUnits": 1, "commitment": "Forever"}),
            "serving.commitment",
            "none | OneMonth | SixMonths",
            id="commitment",
        ),
    ],
)
def test_serving_problems_say_what_is_allowed(data: dict[str, Any], field: str, allowed: str) -> None:
    problem = the_problem(data, field)

    assert problem.allowed == allowed
    assert problem.field == field


def test_the_old_throughput_section_is_an_unknown_key() -> None:
    problem = the_problem(minimal(throughput={"modelUnits": 1}), "throughput")

    assert "unknown key 'throughput'" in problem.message
    assert "serving" in problem.allowed


@pytest.mark.parametrize(
    ("serving", "expected"),
    [
        ({"mode": "none"}, Serving("none")),
        ({"mode": "on-demand"}, Serving("on-demand")),
        ({"mode": "provisioned", "modelUnits": 3}, Serving("provisioned", 3, "none")),
        ({"mode": "provisioned", "modelUnits": 1, "commitment": None}, Serving("provisioned", 1, "none")),
    ],
)
def test_serving_modes_parse(serving: dict[str, Any], expected: Serving) -> None:
    assert RunSpec.from_dict(minimal(serving=serving, approval={"policy": "always"})).serving == expected


def test_serving_properties() -> None:
    assert Serving("on-demand").on_demand and not Serving("on-demand").buys_throughput
    assert Serving("provisioned", 2).buys_throughput and not Serving("provisioned", 2).has_commitment
    assert Serving("provisioned", 1, "SixMonths").has_commitment
    assert not Serving("none").provisioned and not Serving("none").on_demand


def test_a_commitment_with_an_explicit_policy_is_accepted() -> None:
    spec = RunSpec.from_dict(
        minimal(
            serving={"mode": "provisioned", "modelUnits": 1, "commitment": "SixMonths"},
            approval={"policy": "always"},
        )
    )

    assert spec.serving.has_commitment


def test_a_quality_bar_no_longer_needs_a_purchase() -> None:
    # Given a quality bar and prompts but nothing served: the model is evaluated on a deployment
    spec = RunSpec.from_dict(minimal(evaluation=BAR))

    assert spec.serving.mode == "none"
    assert spec.has_quality_bar and spec.evaluates_on_model
    assert spec.evaluation_vehicle == "deployment"


# --------------------------------------------------------------------------------------------------
# The evaluation vehicle: chosen by the plan from the catalog, never by hand
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "vehicle"),
    [
        pytest.param({}, "deployment", id="nova-micro-us-east-1"),
        pytest.param(
            {"baseModel": "amazon.titan-text-express-v1:0:8k"}, "throughput", id="titan-text-express"
        ),
        pytest.param(
            {"region": "us-west-2", "baseModel": "anthropic.claude-3-haiku-20240307-v1:0:200k"},
            "throughput",
            id="claude-3-haiku",
        ),
        pytest.param(LLAMA_31, "throughput", id="llama-3.1-8b"),
        pytest.param(
            {"region": "us-west-2", "baseModel": "meta.llama3-1-70b-instruct-v1:0:128k"},
            "throughput",
            id="llama-3.1-70b",
        ),
    ],
)
@pytest.mark.usefixtures("before_titan_left")
def test_the_vehicle_is_a_deployment_only_where_the_base_deploys_on_demand(
    changes: dict[str, Any], vehicle: str
) -> None:
    spec = RunSpec.from_dict(minimal(**changes, evaluation=BAR))

    assert spec.evaluation_vehicle == vehicle
    assert spec.model.deploys_on_demand(spec.region) is (vehicle == "deployment")


def test_llama_33_70b_in_us_west_2_is_evaluated_on_a_deployment() -> None:
    # Llama 3.3 70B is Legacy (no new job), so the spec is built from a valid one: the choice is
    # the catalog's, whatever the lifecycle says about starting a job.
    spec = replace(
        RunSpec.from_dict(minimal(**LLAMA_31, evaluation=BAR)),
        base_model="meta.llama3-3-70b-instruct-v1:0:128k",
    )

    assert spec.evaluation_vehicle == "deployment"
    assert replace(spec, region="us-east-1").evaluation_vehicle == "throughput"


def test_on_demand_serving_is_evaluated_on_the_deployment_that_serves() -> None:
    # No bar and no prompts: still a deployment, the very one that will serve
    spec = RunSpec.from_dict(minimal(serving={"mode": "on-demand"}))

    assert spec.evaluation_vehicle == "deployment"
    assert not spec.serving_reuses_evaluation_throughput


@pytest.mark.parametrize(
    ("changes", "evaluates", "vehicle"),
    [
        pytest.param({}, False, "none", id="nothing-to-measure-nothing-served"),
        pytest.param({"evaluation": {"maxTrainingLoss": 2.0}}, False, "none", id="loss-bar-only"),
        pytest.param({"evaluation": {"prompts": PROMPTS}}, True, "deployment", id="prompts-without-bar"),
        pytest.param(
            {"validation": "s3://my-bucket/v.jsonl", "evaluation": {"minImprovementOverBase": 0.0}},
            True,
            "deployment",
            id="bar-on-a-validation-slice",
        ),
        pytest.param({"serving": {"mode": "on-demand"}}, True, "deployment", id="fine-tuned-and-served"),
        pytest.param(
            {
                "serving": {"mode": "none"},
                "customizationType": "DISTILLATION",
                "teacher": "amazon.nova-pro-v1:0",
            },
            False,
            "none",
            id="distilled-not-served-without-prompts",
        ),
    ],
)
def test_whether_the_model_is_evaluated_at_all(
    changes: dict[str, Any], evaluates: bool, vehicle: str
) -> None:
    spec = RunSpec.from_dict(minimal(**changes, approval={"policy": "always"}))

    assert spec.evaluates_on_model is evaluates
    assert spec.evaluation_vehicle == vehicle


# --------------------------------------------------------------------------------------------------
# Nothing is bought without a verdict
# --------------------------------------------------------------------------------------------------

NO_VERDICT_CASES = [
    pytest.param({}, id="fine-tuning-without-an-evaluation"),
    pytest.param({"evaluation": {"prompts": PROMPTS}}, id="prompts-but-no-bar"),
    pytest.param({"evaluation": {"maxTrainingLoss": 1.0}}, id="loss-bar-only"),
    pytest.param({"customizationType": "DISTILLATION", "teacher": "amazon.nova-pro-v1:0"}, id="distillation"),
    pytest.param(
        {
            "baseModel": "amazon.nova-2-lite-v1:0:256k",
            "customizationType": "REINFORCEMENT_FINE_TUNING",
            "grader": {"builtin": "exact-match"},
        },
        id="reinforcement-fine-tuning",
    ),
]


@pytest.mark.parametrize("changes", NO_VERDICT_CASES)
@pytest.mark.parametrize(
    ("serving", "approval"),
    [
        pytest.param(BUYS, {"policy": "never"}, id="no-commitment-no-human"),
        pytest.param(
            {"mode": "provisioned", "modelUnits": 1, "commitment": "SixMonths"},
            {"policy": "always"},
            id="six-month-commitment",
        ),
    ],
)
def test_throughput_is_never_bought_for_a_model_without_a_quality_verdict(
    changes: dict[str, Any], serving: dict[str, Any], approval: dict[str, Any]
) -> None:
    # Given a spec that would buy throughput for a model no bar measures
    data = minimal(**{"evaluation": None, **changes}, serving=serving, approval=approval)

    # When it is checked
    problems = problems_of(data)

    # Then it is refused on serving.mode, saying what to add or how else to serve
    (problem,) = [p for p in problems if p.field == "serving.mode"]
    assert problem.value == "provisioned"
    assert "nothing is bought without a quality verdict" in problem.message
    assert "evaluation.minQuality" in problem.message and "evaluation.prompts" in problem.message
    assert "serving.mode=on-demand" in problem.message and "serving.mode=none" in problem.message


@pytest.mark.parametrize("changes", NO_VERDICT_CASES)
def test_serving_on_demand_without_a_verdict_is_allowed_with_a_warning(changes: dict[str, Any]) -> None:
    spec = RunSpec.from_dict(minimal(**changes, serving={"mode": "on-demand"}))

    assert spec.serves_without_verdict
    warning = spec.verdict_warning()
    assert warning is not None
    assert "without a quality verdict" in warning and "nothing is bought" in warning


def test_serving_with_a_bar_has_no_warning_and_may_buy() -> None:
    on_demand = RunSpec.from_dict(minimal(evaluation=BAR, serving={"mode": "on-demand"}))
    provisioned = RunSpec.from_dict(minimal(evaluation=BAR, serving=BUYS, approval={"policy": "never"}))

    assert on_demand.verdict_warning() is None and not on_demand.serves_without_verdict
    assert provisioned.has_quality_bar and provisioned.serving.buys_throughput
    assert provisioned.verdict_warning() is None


@pytest.mark.parametrize(
    ("serving", "reused"),
    [
        pytest.param(BUYS, True, id="exactly-one-unit-no-commitment"),
        pytest.param({"mode": "provisioned", "modelUnits": 2}, False, id="more-units"),
        pytest.param(
            {"mode": "provisioned", "modelUnits": 1, "commitment": "OneMonth"}, False, id="commitment"
        ),
        pytest.param({"mode": "none"}, False, id="not-served"),
    ],
)
def test_the_evaluation_throughput_is_kept_only_when_it_is_exactly_the_serving_purchase(
    serving: dict[str, Any], reused: bool
) -> None:
    spec = RunSpec.from_dict(
        minimal(**LLAMA_31, evaluation=BAR, serving=serving, approval={"policy": "always"})
    )

    assert spec.evaluation_vehicle == "throughput"
    assert spec.serving_reuses_evaluation_throughput is reused


def test_a_deployment_vehicle_is_never_reused_as_throughput() -> None:
    spec = RunSpec.from_dict(minimal(evaluation=BAR, serving=BUYS, approval={"policy": "always"}))

    assert spec.evaluation_vehicle == "deployment"
    assert not spec.serving_reuses_evaluation_throughput


@pytest.mark.parametrize(
    ("evaluation", "has_bar"),
    [
        (None, False),
        ({"maxTrainingLoss": 1.0}, False),
        ({"prompts": PROMPTS}, False),
        ({"prompts": PROMPTS, "minQuality": 0.5}, True),
        ({"prompts": PROMPTS, "minImprovementOverBase": 0.0}, True),  # a bar of 0.0 is still a bar
    ],
)
def test_has_quality_bar(evaluation: dict[str, Any] | None, has_bar: bool) -> None:
    assert RunSpec.from_dict(minimal(evaluation=evaluation)).has_quality_bar is has_bar


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

    with pytest.raises(RunSpecError, match=r"run.yaml:3: not valid YAML: duplicate key 'name' \(column 1\)"):
        load_run_spec_data(path)


def test_json_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text('{"name": "a-run", "name": "b-run"}', encoding="utf-8")

    with pytest.raises(RunSpecError, match="duplicate key 'name'"):
        load_run_spec_data(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "run.yml"
    path.write_text("name: a\n  region: [\n", encoding="utf-8")

    with pytest.raises(
        RunSpecError, match=r"run.yml:2: not valid YAML: mapping values are not allowed here \(column 9\)"
    ):
        load_run_spec_data(path)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text('{\n  "name": \n}', encoding="utf-8")

    with pytest.raises(RunSpecError, match=r"run.json:3: not valid JSON: Expecting value \(column 1\)"):
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
        validation="s3://my-bucket/datasets/val.jsonl", evaluation={"minQuality": 0.5}, serving=BUYS
    )
    # Then the bar is accepted: stage 2 measures it on a slice of the validation data
    parsed = parse_run_spec(data)
    assert parsed.problems == []
    assert parsed.spec is not None and parsed.spec.evaluation is not None
    assert parsed.spec.evaluation.min_quality == 0.5


# --------------------------------------------------------------------------------------------------
# Serving slots
# --------------------------------------------------------------------------------------------------


def test_a_slot_is_named_on_the_serving_section_and_kept_in_the_document() -> None:
    spec = RunSpec.from_dict(
        minimal(
            evaluation={**BAR, "minImprovementOverChampion": 0.02},
            serving={"mode": "on-demand", "slot": "support"},
        )
    )
    assert spec.serving.slot == "support"
    assert spec.to_dict()["serving"] == {"mode": "on-demand", "slot": "support"}
    assert spec.evaluation is not None and spec.evaluation.min_improvement_over_champion == 0.02
    assert RunSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        pytest.param(
            {"serving": {"mode": "on-demand", "slot": "Support"}}, "serving.slot", "lowercase", id="bad-name"
        ),
        pytest.param(
            {"serving": {"mode": "none", "slot": "support"}}, "serving.slot", "serves nothing", id="none"
        ),
        pytest.param(
            {"serving": {"mode": "on-demand", "slot": "support"}, "evaluation": {"prompts": PROMPTS}},
            "serving.slot",
            "nothing is promoted without a quality verdict",
            id="no-bar",
        ),
        pytest.param(
            {"evaluation": {**BAR, "minImprovementOverChampion": 0.0}},
            "evaluation.minImprovementOverChampion",
            "serving slot",
            id="champion-bar-without-slot",
        ),
    ],
)
def test_slot_rules(changes: dict[str, Any], field: str, says: str) -> None:
    problems = problems_of(minimal(**changes))
    assert any(p.field == field and says in p.message for p in problems), problems


def test_a_spec_without_a_slot_keeps_its_hash() -> None:
    # The new keys are left out when unset: run ids of existing specs do not change.
    document = RunSpec.from_dict(minimal(evaluation=BAR, serving={"mode": "on-demand"})).to_dict()
    assert "slot" not in document["serving"]
    assert "minImprovementOverChampion" not in document["evaluation"]
