"""Turn a valid run spec into the plan the workflow executes (docs/workflow-contract.md).

The plan is everything the state machine needs, computed once in the preflight step by the same
code the CLI uses: Bedrock request fields (PascalCase, passed straight through), deterministic
names and idempotency tokens, the evaluation bar, the approval decision, the throughput purchase,
the poll schedule and the cost estimate. The state machine only routes on it; it computes nothing
that could drift from the CLI's view of the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pipeline import costs, naming
from pipeline.catalog import DISTILLATION, ModelInfo
from pipeline.problems import Problem
from pipeline.runspec import DEFAULT_MAX_PROMPTS, DEFAULT_TIMEOUT_HOURS, RunSpec

TAG_PREFIX: Final = "bedrock-customization:"
RUN_ID_TAG: Final = f"{TAG_PREFIX}run-id"
RUN_NAME_TAG: Final = f"{TAG_PREFIX}run-name"
COMMITMENT_TAG: Final = f"{TAG_PREFIX}commitment"
DATASETS_PREFIX: Final = "datasets/"
OUTPUTS_PREFIX: Final = "outputs/"
RUNS_PREFIX: Final = "runs/"

# Training time is not published per model. The timeout is a safety net against a job that never
# ends, not a prediction: 4 h minimum, plus 3x the time at a planning rate of 1,000 tokens/s
# (UNCONFIRMED rate), capped below the state machine's 30-day limit.
_JOB_TIMEOUT_MIN_S: Final = 4 * 3600
# A distillation job first has the teacher answer every prompt (up to 15,000, each answer up to
# maxResponseLengthForInference tokens, and Bedrock may synthesize more prompts) before training
# starts, and the prompts file says little about the tokens trained on. Its floor is 12 h
# (UNCONFIRMED: no duration is published; a floor that is too low fails a paid job at the end).
_DISTILLATION_TIMEOUT_MIN_S: Final = 12 * 3600
_JOB_TIMEOUT_MAX_S: Final = 14 * 24 * 3600
_PLANNING_TOKENS_PER_SECOND: Final = 1000
_DEFAULT_DISTILLATION_EPOCHS: Final = 2

# Throughput usually comes online in minutes; a purchase still Creating after 3 h is treated as
# failed and (without commitment) released. Intervals double from 30 s up to 10 min, so the wait
# costs at most a few dozen state transitions.
PT_WAIT_LIMIT_S: Final = 3 * 3600
_PT_FIRST_WAIT_S: Final = 30
_PT_MAX_WAIT_S: Final = 600


@dataclass(frozen=True)
class PlanContext:
    """Where the run happens: the deployed pipeline's bucket and the run's id."""

    bucket: str
    run_id: str


def poll_schedule(limit_s: int = PT_WAIT_LIMIT_S) -> list[int]:
    """Wait before each status check: doubling from 30 s, capped at 10 min, summing to >= limit.

    One extra entry at the end, so the state machine's "next interval" lookup never indexes past
    the list on the final check.
    """
    waits: list[int] = []
    wait = _PT_FIRST_WAIT_S
    while sum(waits) < limit_s:
        waits.append(wait)
        wait = min(wait * 2, _PT_MAX_WAIT_S)
    return [*waits, wait]


def job_timeout_seconds(
    estimated_tokens: int | None, epochs: int | None, customization_type: str | None = None
) -> int:
    floor = _DISTILLATION_TIMEOUT_MIN_S if customization_type == DISTILLATION else _JOB_TIMEOUT_MIN_S
    tokens = (estimated_tokens or 0) * (epochs or _DEFAULT_DISTILLATION_EPOCHS)
    estimate = tokens / _PLANNING_TOKENS_PER_SECOND
    return int(min(floor + 3 * estimate, _JOB_TIMEOUT_MAX_S))


def location_problems(spec: RunSpec, bucket: str) -> list[Problem]:
    """In the workflow every dataset must sit under ``s3://<bucket>/datasets/``.

    That is the only place the Bedrock service role can read; a job pointed elsewhere would fail
    after queueing, so it is refused here instead.
    """
    allowed = f"s3://{bucket}/{DATASETS_PREFIX}..."
    problems = []
    for field_name, location in spec.dataset_locations():
        if not location.startswith(f"s3://{bucket}/{DATASETS_PREFIX}"):
            problems.append(
                Problem(
                    field_name,
                    location,
                    allowed,
                    f"{field_name}={location!r} is outside the pipeline's dataset prefix; the Bedrock "
                    f"service role can only read {allowed} (upload with `bedrock-customize start`)",
                )
            )
    return problems


def build_plan(spec: RunSpec, context: PlanContext, *, estimated_tokens: int | None) -> dict[str, Any]:
    """The workflow plan of a run spec that has passed preflight."""
    model = spec.model
    rid = context.run_id
    epochs = costs.epochs_for(model, spec.customization_type, spec.hyper_parameters)
    tags = _tags(spec, rid)
    job: dict[str, Any] = {
        "JobName": naming.job_name(rid),
        "CustomModelName": naming.custom_model_name(rid),
        "BaseModelIdentifier": spec.base_model,
        "CustomizationType": spec.customization_type,
        "TrainingDataConfig": {"S3Uri": spec.training},
        "OutputDataConfig": {"S3Uri": f"s3://{context.bucket}/{OUTPUTS_PREFIX}{rid}/"},
        "HyperParameters": dict(spec.hyper_parameters),
        "JobTags": tags,
        "CustomModelTags": tags,
    }
    if spec.customization_type == DISTILLATION:
        variant = "DISTILLATION"
        teacher: dict[str, Any] = {"TeacherModelIdentifier": spec.teacher}
        if spec.max_response_length_for_inference is not None:
            teacher["MaxResponseLengthForInference"] = spec.max_response_length_for_inference
        job["CustomizationConfig"] = {"DistillationConfig": {"TeacherModelConfig": teacher}}
    elif spec.validation:
        variant = "WITH_VALIDATION"
        job["ValidationDataConfig"] = {"Validators": [{"S3Uri": uri} for uri in spec.validation]}
    else:
        variant = "WITHOUT_VALIDATION"

    evaluation = spec.evaluation
    approval = costs.approval_decision(spec)
    timeout_hours = spec.approval.timeout_hours if spec.approval is not None else DEFAULT_TIMEOUT_HOURS
    return {
        "runId": rid,
        "runName": spec.name,
        "region": spec.region,
        "baseModel": spec.base_model,
        "baseModelInvokeId": base_model_invoke_id(model),
        "customizationType": spec.customization_type,
        "jobVariant": variant,
        "jobTimeoutSeconds": job_timeout_seconds(estimated_tokens, epochs, spec.customization_type),
        "job": job,
        "evaluation": {
            "maxTrainingLoss": evaluation.max_training_loss if evaluation else None,
            "maxValidationLoss": evaluation.max_validation_loss if evaluation else None,
            "promptsUri": spec.prompts,
            "maxPrompts": evaluation.max_prompts if evaluation else DEFAULT_MAX_PROMPTS,
            "minQuality": evaluation.min_quality if evaluation else None,
            "minImprovementOverBase": evaluation.min_improvement_over_base if evaluation else None,
            "validationUris": list(spec.validation),
        },
        "approval": {
            "required": approval.required,
            "policy": approval.policy,
            "reason": approval.reason,
            "timeoutSeconds": timeout_hours * 3600,
        },
        "throughput": _throughput(spec, rid, tags),
        "estimate": estimate(spec, estimated_tokens, epochs),
        "bucket": context.bucket,
        "runPrefix": f"{RUNS_PREFIX}{rid}/",
    }


def base_model_invoke_id(model: ModelInfo) -> str:
    """The on-demand id of the base model, for comparing it with the custom model.

    Customization ids carry a context suffix (``amazon.nova-micro-v1:0:128k``) that on-demand
    invocation does not take. Some models are invocable on demand only through an inference
    profile in some regions (UNCONFIRMED per model); evaluation reports such a refusal clearly.
    """
    head, _, suffix = model.model_id.rpartition(":")
    return head if suffix.endswith("k") and suffix[:-1].isdigit() else model.model_id


def estimate(spec: RunSpec, estimated_tokens: int | None, epochs: int | None) -> dict[str, Any]:
    """Costs of the run, each None when a price is unknown (never 0)."""
    model = spec.model
    training = costs.training_cost(model, estimated_tokens, epochs) if estimated_tokens is not None else None
    throughput = spec.throughput
    hourly = monthly = term = None
    if throughput is not None:
        hourly = costs.pt_hourly_cost(model, throughput.model_units, throughput.commitment)
        monthly = costs.pt_monthly_cost(model, throughput.model_units, throughput.commitment)
        term = costs.pt_commitment_cost(model, throughput.model_units, throughput.commitment)
    storage = costs.storage_monthly_cost(model)
    return {
        "trainingUsd": _usd(training),
        "throughputHourlyUsd": _usd(hourly),
        "throughputMonthlyUsd": _usd(monthly),
        "commitmentTermUsd": _usd(term),
        "storageMonthlyUsd": _usd(storage),
        "basis": {
            name: str(item)
            for name, item in (
                ("training", training),
                ("throughputHourly", hourly),
                ("throughputMonthly", monthly),
                ("commitmentTerm", term),
                ("storageMonthly", storage),
            )
            if item is not None
        },
    }


def _usd(item: costs.CostEstimate | None) -> float | None:
    return round(item.usd, 4) if item is not None else None


def _throughput(spec: RunSpec, rid: str, tags: list[dict[str, str]]) -> dict[str, Any]:
    schedule = poll_schedule()
    throughput = spec.throughput
    if throughput is None:
        return {
            "wanted": False,
            "commitment": "none",
            "pollSchedule": schedule,
            "maxPolls": len(schedule) - 1,
        }
    plan: dict[str, Any] = {
        "wanted": True,
        "commitment": throughput.commitment,
        "ModelUnits": throughput.model_units,
        "ProvisionedModelName": naming.provisioned_model_name(rid),
        "ClientRequestToken": naming.throughput_request_token(rid),
        "Tags": [*tags, {"Key": COMMITMENT_TAG, "Value": throughput.commitment}],
        "pollSchedule": schedule,
        "maxPolls": len(schedule) - 1,
    }
    if throughput.commitment != "none":
        plan["CommitmentDuration"] = throughput.commitment
    return plan


def _tags(spec: RunSpec, rid: str) -> list[dict[str, str]]:
    """The spec's tags plus the pipeline's own, which cleanup and `throughput list` rely on."""
    tags: Mapping[str, str] = {**spec.tags, RUN_ID_TAG: rid, RUN_NAME_TAG: spec.name}
    return [{"Key": key, "Value": value} for key, value in tags.items()]
