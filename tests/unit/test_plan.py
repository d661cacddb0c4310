"""The workflow plan: what the state machine is told to do for a run spec."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline import naming
from pipeline.catalog import get_model
from pipeline.plan import (
    COMMITMENT_TAG,
    RUN_ID_TAG,
    PlanContext,
    base_model_invoke_id,
    build_plan,
    job_timeout_seconds,
    location_problems,
    poll_schedule,
)
from pipeline.runspec import RunSpec, spec_hash

BUCKET = "training-bucket"
DATA = f"s3://{BUCKET}/datasets/abc"


def _spec(**overrides: Any) -> RunSpec:
    data: dict[str, Any] = {
        "name": "support-bot",
        "region": "us-east-1",
        "baseModel": "amazon.nova-micro-v1:0:128k",
        "customizationType": "FINE_TUNING",
        "training": f"{DATA}/train.jsonl",
        "validation": f"{DATA}/val.jsonl",
        "hyperParameters": {"epochCount": 2},
        "evaluation": {
            "maxValidationLoss": 1.5,
            "minImprovementOverBase": 0.0,
            "prompts": f"{DATA}/eval.jsonl",
        },
        "throughput": {"modelUnits": 1, "commitment": "none"},
        "approval": {"policy": "always", "timeoutHours": 2},
        "tags": {"team": "search"},
    }
    data.update(overrides)
    return RunSpec.from_dict({k: v for k, v in data.items() if v is not None})


def _plan(spec: RunSpec, tokens: int | None = 100_000) -> dict[str, Any]:
    rid = naming.run_id(spec.name, spec_hash(spec))
    return build_plan(spec, PlanContext(bucket=BUCKET, run_id=rid), estimated_tokens=tokens)


def test_fine_tuning_plan_carries_bedrock_fields_names_and_tokens() -> None:
    spec = _spec()
    plan = _plan(spec)
    rid = plan["runId"]
    assert rid == naming.run_id("support-bot", spec_hash(spec))
    assert plan["jobVariant"] == "WITH_VALIDATION"
    job = plan["job"]
    assert job["JobName"] == naming.job_name(rid)
    assert job["CustomModelName"] == naming.custom_model_name(rid)
    assert job["BaseModelIdentifier"] == "amazon.nova-micro-v1:0:128k"
    assert job["TrainingDataConfig"] == {"S3Uri": f"{DATA}/train.jsonl"}
    assert job["ValidationDataConfig"] == {"Validators": [{"S3Uri": f"{DATA}/val.jsonl"}]}
    assert job["OutputDataConfig"] == {"S3Uri": f"s3://{BUCKET}/outputs/{rid}/"}
    assert job["HyperParameters"] == {"epochCount": "2"}
    assert "CustomizationConfig" not in job
    assert {"Key": RUN_ID_TAG, "Value": rid} in job["JobTags"]
    assert {"Key": "team", "Value": "search"} in job["CustomModelTags"]
    assert plan["runPrefix"] == f"runs/{rid}/"
    assert plan["baseModelInvokeId"] == "amazon.nova-micro-v1:0"


def test_same_spec_same_plan_different_spec_different_names() -> None:
    assert _plan(_spec()) == _plan(_spec())
    other = _plan(_spec(hyperParameters={"epochCount": 3}))
    assert other["job"]["JobName"] != _plan(_spec())["job"]["JobName"]


def test_without_validation_data_the_plan_has_no_validation_config() -> None:
    plan = _plan(_spec(validation=None, evaluation={"maxTrainingLoss": 2.0}))
    assert plan["jobVariant"] == "WITHOUT_VALIDATION"
    assert plan["evaluation"]["maxTrainingLoss"] == 2.0
    assert "ValidationDataConfig" not in plan["job"]


def test_distillation_plan_names_the_teacher_and_no_hyperparameters() -> None:
    spec = _spec(
        customizationType="DISTILLATION",
        validation=None,
        hyperParameters=None,
        teacher="amazon.nova-pro-v1:0",
        maxResponseLengthForInference=1000,
        evaluation=None,
    )
    plan = _plan(spec)
    assert plan["jobVariant"] == "DISTILLATION"
    assert plan["job"]["CustomizationConfig"] == {
        "DistillationConfig": {
            "TeacherModelConfig": {
                "TeacherModelIdentifier": "amazon.nova-pro-v1:0",
                "MaxResponseLengthForInference": 1000,
            }
        }
    }


def test_throughput_purchase_is_tokenized_and_commitment_only_when_asked() -> None:
    plan = _plan(_spec())
    pt = plan["throughput"]
    rid = plan["runId"]
    assert pt["wanted"] is True
    assert pt["ClientRequestToken"] == naming.throughput_request_token(rid)
    assert pt["ProvisionedModelName"] == naming.provisioned_model_name(rid)
    assert "CommitmentDuration" not in pt
    assert {"Key": COMMITMENT_TAG, "Value": "none"} in pt["Tags"]
    committed = _plan(_spec(throughput={"modelUnits": 2, "commitment": "OneMonth"}))["throughput"]
    assert committed["CommitmentDuration"] == "OneMonth"
    assert committed["ModelUnits"] == 2


def test_no_throughput_means_nothing_to_buy_and_no_approval() -> None:
    plan = _plan(_spec(throughput=None, approval=None, evaluation={"maxValidationLoss": 1.5}))
    assert plan["throughput"]["wanted"] is False
    assert plan["approval"]["required"] is False


def test_approval_timeout_comes_from_the_spec() -> None:
    plan = _plan(_spec())
    assert plan["approval"] == {
        "required": True,
        "policy": "always",
        "reason": "approval policy is 'always'",
        "timeoutSeconds": 7200,
    }


def test_unknown_prices_are_none_never_zero() -> None:
    # Given a model whose throughput price is not in the catalog
    model = get_model("amazon.nova-micro-v1:0:128k")
    assert model.prices.pt_no_commit_per_mu_hour is None
    # Then the estimate says unknown
    estimate = _plan(_spec())["estimate"]
    assert estimate["throughputHourlyUsd"] is None
    assert estimate["throughputMonthlyUsd"] is None


def test_known_prices_give_numbers_with_their_basis() -> None:
    spec = _spec(
        baseModel="amazon.titan-text-express-v1:0:8k",
        hyperParameters={"epochCount": 2},
        evaluation=None,
    )
    estimate = _plan(spec, tokens=1_000_000)["estimate"]
    assert estimate["trainingUsd"] == pytest.approx(1_000_000 / 1000 * 2 * 0.008)
    assert estimate["throughputHourlyUsd"] == pytest.approx(20.50)
    assert estimate["throughputMonthlyUsd"] == pytest.approx(20.50 * 730)
    assert "2 epochs" in estimate["basis"]["training"]


def test_poll_schedule_doubles_caps_and_covers_the_limit() -> None:
    schedule = poll_schedule(3 * 3600)
    assert schedule[:5] == [30, 60, 120, 240, 480]
    assert max(schedule) == 600
    assert sum(schedule[:-1]) >= 3 * 3600
    plan = _plan(_spec())["throughput"]
    assert len(plan["pollSchedule"]) == plan["maxPolls"] + 1


def test_job_timeout_grows_with_tokens_and_epochs_within_bounds() -> None:
    assert job_timeout_seconds(None, None) == 4 * 3600
    small, big = job_timeout_seconds(10_000, 2), job_timeout_seconds(50_000_000, 5)
    assert small < big <= 14 * 24 * 3600
    assert job_timeout_seconds(10**12, 5) == 14 * 24 * 3600


def test_distillation_gets_a_longer_floor_for_the_teacher_to_answer_first() -> None:
    assert job_timeout_seconds(None, None, "DISTILLATION") == 12 * 3600
    assert job_timeout_seconds(10_000, None, "DISTILLATION") > job_timeout_seconds(
        10_000, None, "FINE_TUNING"
    )
    spec = _spec(
        customizationType="DISTILLATION",
        teacher="amazon.nova-pro-v1:0",
        validation=None,
        hyperParameters=None,
        evaluation={"prompts": f"{DATA}/eval.jsonl", "minQuality": 0.5},
    )
    assert _plan(spec, tokens=None)["jobTimeoutSeconds"] == 12 * 3600
    assert _plan(_spec(), tokens=None)["jobTimeoutSeconds"] == 4 * 3600


def test_datasets_outside_the_pipeline_prefix_are_refused() -> None:
    spec = _spec(training="s3://someone-else/data/train.jsonl")
    problems = location_problems(spec, BUCKET)
    assert [p.field for p in problems] == ["training"]
    assert "only read s3://training-bucket/datasets/" in problems[0].message
    assert location_problems(_spec(), BUCKET) == []


def test_base_model_invoke_id_drops_only_the_context_suffix() -> None:
    assert (
        base_model_invoke_id(get_model("meta.llama3-1-8b-instruct-v1:0:128k"))
        == "meta.llama3-1-8b-instruct-v1:0"
    )
    assert base_model_invoke_id(get_model("amazon.titan-text-lite-v1:0:4k")) == "amazon.titan-text-lite-v1:0"
