"""The workflow plan: what the state machine is told to do for a run spec."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from pipeline import catalog, naming
from pipeline.catalog import get_model
from pipeline.plan import (
    COMMITMENT_TAG,
    DEPLOYMENT_WAIT_LIMIT_S,
    PT_WAIT_LIMIT_S,
    PURPOSE_TAG,
    RUN_ID_TAG,
    RUN_NAME_TAG,
    SMOKE_PROMPTS,
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
ONE_MU: dict[str, Any] = {"mode": "provisioned", "modelUnits": 1, "commitment": "none"}
LLAMA_31: dict[str, Any] = {"region": "us-west-2", "baseModel": "meta.llama3-1-8b-instruct-v1:0:128k"}
LLAMA_33 = "meta.llama3-3-70b-instruct-v1:0:128k"


@pytest.fixture
def before_titan_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """Titan Text left the customization guide on 2026-11-28; its prices are the only known PT ones."""
    monkeypatch.setattr(catalog, "today_utc", lambda: dt.date(2026, 1, 5))


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
        "serving": ONE_MU,
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
    assert plan["evaluation"]["smokePrompts"] == SMOKE_PROMPTS == 3
    assert "throughput" not in plan


def test_same_spec_same_plan_different_spec_different_names() -> None:
    assert _plan(_spec()) == _plan(_spec())
    other = _plan(_spec(hyperParameters={"epochCount": 3}))
    assert other["job"]["JobName"] != _plan(_spec())["job"]["JobName"]


def test_without_validation_data_the_plan_has_no_validation_config() -> None:
    plan = _plan(
        _spec(
            validation=None,
            evaluation={"maxTrainingLoss": 2.0, "prompts": f"{DATA}/eval.jsonl", "minQuality": 0.5},
        )
    )
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
        serving={"mode": "on-demand"},
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


def _tag(key: str, value: str) -> dict[str, str]:
    return {"Key": key, "Value": value}


def _run_tags(plan: dict[str, Any]) -> list[dict[str, str]]:
    return [_tag("team", "search"), _tag(RUN_ID_TAG, plan["runId"]), _tag(RUN_NAME_TAG, "support-bot")]


def test_serving_purchase_is_tokenized_tagged_and_commitment_only_when_asked() -> None:
    plan = _plan(_spec())
    serving = plan["serving"]
    rid = plan["runId"]
    assert serving["mode"] == "provisioned"
    assert serving["ModelUnits"] == 1
    assert serving["ClientRequestToken"] == naming.throughput_request_token(rid)
    assert serving["ProvisionedModelName"] == naming.provisioned_model_name(rid)
    assert serving["reusesEvaluationThroughput"] is False
    assert "CommitmentDuration" not in serving
    assert serving["Tags"] == [*_run_tags(plan), _tag(COMMITMENT_TAG, "none"), _tag(PURPOSE_TAG, "serving")]
    committed = _plan(_spec(serving={"mode": "provisioned", "modelUnits": 2, "commitment": "OneMonth"}))[
        "serving"
    ]
    assert committed["CommitmentDuration"] == "OneMonth"
    assert committed["commitment"] == "OneMonth"
    assert committed["ModelUnits"] == 2
    assert _tag(COMMITMENT_TAG, "OneMonth") in committed["Tags"]


def test_a_base_that_deploys_on_demand_is_evaluated_on_a_deployment_deleted_afterwards() -> None:
    # Nova Micro in us-east-1, served on a purchase: the deployment is for the evaluation only
    plan = _plan(_spec())
    vehicle = plan["vehicle"]
    rid = plan["runId"]
    assert vehicle["kind"] == "deployment"
    assert vehicle["servesAfterwards"] is False
    assert vehicle["ModelDeploymentName"] == naming.deployment_name(rid) == f"{rid}-od"
    assert vehicle["ClientRequestToken"] == naming.deployment_request_token(rid)
    assert vehicle["Description"] == f"Bedrock customization run {rid}: evaluation only"
    assert vehicle["Tags"] == [*_run_tags(plan), _tag(PURPOSE_TAG, "evaluation")]
    assert "ModelUnits" not in vehicle and "ProvisionedModelName" not in vehicle
    assert plan["estimate"]["evaluationVehicle"] == "deployment"


def test_on_demand_serving_keeps_the_deployment_and_buys_nothing() -> None:
    plan = _plan(_spec(serving={"mode": "on-demand"}))
    vehicle, serving = plan["vehicle"], plan["serving"]
    assert vehicle["kind"] == "deployment"
    assert vehicle["servesAfterwards"] is True
    assert vehicle["Description"].endswith(": evaluation and on-demand serving")
    assert _tag(PURPOSE_TAG, "serving") in vehicle["Tags"]
    assert serving["mode"] == "on-demand"
    assert serving["commitment"] == "none"
    assert not {"ModelUnits", "ProvisionedModelName", "ClientRequestToken", "Tags"} & set(serving)
    assert plan["approval"]["required"] is False
    assert plan["estimate"]["servingMode"] == "on-demand"
    assert plan["estimate"]["throughputMonthlyUsd"] is None


def test_a_base_without_on_demand_deployment_is_evaluated_on_one_unit_bought_for_it() -> None:
    # Llama 3.1 8B, served on two units: the evaluation throughput is a separate, deleted purchase
    plan = _plan(_spec(**LLAMA_31, serving={"mode": "provisioned", "modelUnits": 2}))
    vehicle, serving = plan["vehicle"], plan["serving"]
    rid = plan["runId"]
    assert vehicle["kind"] == "throughput"
    assert vehicle["servesAfterwards"] is False
    assert vehicle["ModelUnits"] == 1
    assert vehicle["ProvisionedModelName"] == naming.evaluation_throughput_name(rid) == f"{rid}-eval"
    assert vehicle["ClientRequestToken"] == naming.evaluation_throughput_request_token(rid)
    assert vehicle["Tags"] == [
        *_run_tags(plan),
        _tag(COMMITMENT_TAG, "none"),
        _tag(PURPOSE_TAG, "evaluation"),
    ]
    assert "CommitmentDuration" not in vehicle
    assert serving["ProvisionedModelName"] != vehicle["ProvisionedModelName"]
    assert serving["ClientRequestToken"] != vehicle["ClientRequestToken"]
    assert serving["reusesEvaluationThroughput"] is False
    assert plan["approval"]["beforeEvaluation"] is True
    assert plan["approval"]["beforeServing"] is True


def test_an_evaluation_throughput_that_is_exactly_the_serving_purchase_is_bought_once() -> None:
    plan = _plan(_spec(**LLAMA_31))
    vehicle, serving = plan["vehicle"], plan["serving"]
    rid = plan["runId"]
    assert serving["reusesEvaluationThroughput"] is True
    assert vehicle["servesAfterwards"] is True
    # Named and tokened as the serving purchase: a retried create returns the same throughput
    assert (
        vehicle["ProvisionedModelName"]
        == serving["ProvisionedModelName"]
        == naming.provisioned_model_name(rid)
    )
    assert (
        vehicle["ClientRequestToken"] == serving["ClientRequestToken"] == naming.throughput_request_token(rid)
    )
    assert _tag(PURPOSE_TAG, "serving") in vehicle["Tags"]
    assert (plan["approval"]["beforeEvaluation"], plan["approval"]["beforeServing"]) == (True, False)


def test_a_run_that_evaluates_nothing_has_no_vehicle() -> None:
    plan = _plan(
        _spec(
            customizationType="DISTILLATION",
            teacher="amazon.nova-pro-v1:0",
            validation=None,
            hyperParameters=None,
            evaluation=None,
            serving={"mode": "none"},
        )
    )
    assert plan["vehicle"] == {"kind": "none", "servesAfterwards": False}
    assert plan["estimate"]["evaluationVehicle"] == "none"
    assert plan["estimate"]["evaluationUsd"] is None


def test_no_purchase_means_no_approval_at_either_stage() -> None:
    plan = _plan(_spec(serving=None, approval=None, evaluation={"maxValidationLoss": 1.5}))
    assert plan["serving"]["mode"] == "none"
    assert "ProvisionedModelName" not in plan["serving"]
    assert plan["approval"]["required"] is False
    assert plan["approval"]["beforeEvaluation"] is False
    assert plan["approval"]["beforeServing"] is False


def test_approval_timeout_comes_from_the_spec() -> None:
    plan = _plan(_spec())
    assert plan["approval"] == {
        "required": True,
        "policy": "always",
        "reason": "approval policy is 'always'",
        "timeoutSeconds": 7200,
        "beforeEvaluation": False,
        "beforeServing": True,
    }


def test_unknown_prices_are_none_never_zero() -> None:
    # Given a model whose throughput price is not in the catalog
    model = get_model("amazon.nova-micro-v1:0:128k")
    assert model.prices.pt_no_commit_per_mu_hour is None
    # Then the estimate says unknown
    estimate = _plan(_spec())["estimate"]
    assert estimate["throughputHourlyUsd"] is None
    assert estimate["throughputMonthlyUsd"] is None
    # And an evaluation throughput of a base without any price is unknown too, not free
    llama = _plan(_spec(**LLAMA_31, serving={"mode": "none"}))["estimate"]
    assert llama["evaluationVehicle"] == "throughput"
    assert llama["evaluationUsd"] is None
    assert "evaluation" not in llama["basis"]


def test_on_demand_evaluation_is_estimated_per_token_for_the_prompts_allowed() -> None:
    # Nova Micro: 2 models x (prompts x 500 input x $0.035/1M + prompts x 512 output x $0.14/1M)
    full = _plan(_spec())["estimate"]
    assert full["evaluationUsd"] == pytest.approx(round(2 * (25_000 * 0.035 + 25_600 * 0.14) / 1e6, 4))
    assert "for 50 prompt(s)" in full["basis"]["evaluation"]
    few = _plan(_spec(evaluation={"prompts": f"{DATA}/eval.jsonl", "maxPrompts": 10, "minQuality": 0.5}))
    assert few["estimate"]["evaluationUsd"] < full["evaluationUsd"]
    assert "for 10 prompt(s)" in few["estimate"]["basis"]["evaluation"]


@pytest.mark.usefixtures("before_titan_left")
def test_known_prices_give_numbers_with_their_basis() -> None:
    spec = _spec(
        baseModel="amazon.titan-text-express-v1:0:8k",
        hyperParameters={"epochCount": 2},
        evaluation={"maxValidationLoss": 1.5, "minImprovementOverBase": 0.0},
    )
    estimate = _plan(spec, tokens=1_000_000)["estimate"]
    assert estimate["trainingUsd"] == pytest.approx(1_000_000 / 1000 * 2 * 0.008)
    assert estimate["throughputHourlyUsd"] == pytest.approx(20.50)
    assert estimate["throughputMonthlyUsd"] == pytest.approx(20.50 * 730)
    assert "2 epochs" in estimate["basis"]["training"]
    # Evaluated on the very unit it is served on: no separate evaluation purchase to price
    assert estimate["evaluationVehicle"] == "throughput"
    assert estimate["evaluationUsd"] is None


@pytest.mark.usefixtures("before_titan_left")
def test_a_separate_evaluation_throughput_is_priced_for_the_longest_it_can_live() -> None:
    spec = _spec(
        baseModel="amazon.titan-text-express-v1:0:8k",
        evaluation={"maxValidationLoss": 1.5, "minImprovementOverBase": 0.0},
        serving={"mode": "provisioned", "modelUnits": 2},
    )
    estimate = _plan(spec)["estimate"]
    assert estimate["evaluationUsd"] == pytest.approx(4 * 20.50)
    assert estimate["basis"]["evaluation"].startswith("$82.00 (at most 4 h (coming online: up to 3 h;")
    assert estimate["throughputHourlyUsd"] == pytest.approx(41.0)


def test_poll_schedule_doubles_caps_and_covers_the_limit() -> None:
    schedule = poll_schedule(3 * 3600)
    assert schedule[:5] == [30, 60, 120, 240, 480]
    assert max(schedule) == 600
    assert sum(schedule[:-1]) >= 3 * 3600
    assert sum(schedule[:-2]) < 3 * 3600  # no check more than needed


@pytest.mark.parametrize(
    ("changes", "section", "limit"),
    [
        pytest.param({}, "vehicle", DEPLOYMENT_WAIT_LIMIT_S, id="deployment"),
        pytest.param(LLAMA_31, "vehicle", PT_WAIT_LIMIT_S, id="evaluation-throughput"),
        pytest.param({}, "serving", PT_WAIT_LIMIT_S, id="serving-throughput"),
    ],
)
def test_each_wait_has_its_own_schedule_in_the_plan(
    changes: dict[str, Any], section: str, limit: int
) -> None:
    waits = _plan(_spec(**changes))[section]
    assert waits["pollSchedule"] == poll_schedule(limit)
    assert waits["firstWaitSeconds"] == waits["pollSchedule"][0] == 30
    assert waits["maxPolls"] == len(waits["pollSchedule"]) - 1
    assert sum(waits["pollSchedule"][: waits["maxPolls"]]) >= limit


def test_a_deployment_is_given_up_on_sooner_than_a_throughput() -> None:
    plan = _plan(_spec())
    assert sum(plan["vehicle"]["pollSchedule"][:-1]) < sum(plan["serving"]["pollSchedule"][:-1])
    assert DEPLOYMENT_WAIT_LIMIT_S == 3600


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
        base_model_invoke_id(get_model("meta.llama3-1-8b-instruct-v1:0:128k"), "us-west-2")
        == "meta.llama3-1-8b-instruct-v1:0"
    )
    assert base_model_invoke_id(get_model("amazon.titan-text-lite-v1:0:4k")) == "amazon.titan-text-lite-v1:0"
    assert (
        base_model_invoke_id(get_model("amazon.nova-micro-v1:0:128k"), "us-east-1")
        == "amazon.nova-micro-v1:0"
    )


@pytest.mark.parametrize(
    ("model_id", "region", "expected"),
    [
        (LLAMA_33, "us-west-2", "us.meta.llama3-3-70b-instruct-v1:0"),
        (LLAMA_33, "eu-west-1", "eu.meta.llama3-3-70b-instruct-v1:0"),
        (LLAMA_33, "ap-southeast-2", "apac.meta.llama3-3-70b-instruct-v1:0"),
        (LLAMA_33, "us-gov-west-1", "us-gov.meta.llama3-3-70b-instruct-v1:0"),
        (LLAMA_33, None, "meta.llama3-3-70b-instruct-v1:0"),
        ("amazon.nova-2-lite-v1:0:256k", "us-east-1", "us.amazon.nova-2-lite-v1:0"),
    ],
)
def test_bases_invoked_through_a_profile_get_the_profile_of_the_run_geography(
    model_id: str, region: str | None, expected: str
) -> None:
    assert get_model(model_id).invoked_through_profile
    assert base_model_invoke_id(get_model(model_id), region) == expected


def test_the_plan_of_a_llama_33_run_in_us_west_2_compares_with_the_us_profile() -> None:
    # Llama 3.3 70B is Legacy (no new job): the plan is built from a spec changed after parsing
    spec = replace(_spec(**LLAMA_31), base_model=LLAMA_33)
    plan = _plan(spec)
    assert plan["baseModelInvokeId"] == "us.meta.llama3-3-70b-instruct-v1:0"
    assert plan["vehicle"]["kind"] == "deployment"  # custom Llama 3.3 70B deploys on demand in us-west-2


EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:Workflow:support-bot-0123456789"
EXECUTION_START = "2026-12-01T09:00:00.123Z"


def _plan_in_execution(spec: RunSpec) -> dict[str, Any]:
    context = PlanContext(
        BUCKET, "support-bot-0123456789", execution_arn=EXECUTION_ARN, execution_start=EXECUTION_START
    )
    return build_plan(spec, context, estimated_tokens=1000)


def _tag_lists(plan: dict[str, Any]) -> list[list[dict[str, str]]]:
    return [
        plan["job"]["JobTags"],
        plan["job"]["CustomModelTags"],
        plan["vehicle"]["Tags"],
        plan["serving"]["Tags"],
    ]


def test_every_resource_a_run_creates_names_the_execution_that_created_it() -> None:
    plan = _plan_in_execution(_spec())
    expected = {
        "bedrock-customization:execution-arn": EXECUTION_ARN,
        "bedrock-customization:execution-start": EXECUTION_START,
        RUN_ID_TAG: "support-bot-0123456789",
    }
    for tags in _tag_lists(plan):
        assert expected.items() <= {t["Key"]: t["Value"] for t in tags}.items()
    # Outside the workflow (check, estimate) there is no execution: no execution tags.
    offline = build_plan(_spec(), PlanContext(BUCKET, "support-bot-0123456789"), estimated_tokens=1000)
    assert not [t for t in offline["job"]["JobTags"] if "execution" in t["Key"]]


def test_the_pipeline_tags_fit_in_the_room_a_spec_leaves_for_them() -> None:
    # A run spec may carry MAX_SPEC_TAGS tags; the plan adds its own to every create request, and
    # Bedrock refuses more than MAX_TAGS on one resource [BC: TagList max 200].
    from pipeline.runspec import MAX_SPEC_TAGS, MAX_TAGS

    plan = _plan_in_execution(_spec(tags={f"team-{i}": "ml" for i in range(MAX_SPEC_TAGS)}))
    # ...and a first promotion adds the slot's tag to the run's endpoint (pipeline.slots.SLOT_TAG)
    assert max(len(tags) for tags in _tag_lists(plan)) + 1 == MAX_TAGS
