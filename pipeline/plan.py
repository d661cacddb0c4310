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
from typing import TYPE_CHECKING, Any, Final

from pipeline import costs, naming, slots
from pipeline import judge as judging
from pipeline.catalog import (
    DISTILLATION,
    REINFORCEMENT_FINE_TUNING,
    ModelInfo,
    parse_teacher,
    profile_id,
)
from pipeline.plan_estimate import estimate as estimate
from pipeline.poll import DEPLOYMENT_WAIT_LIMIT_S as DEPLOYMENT_WAIT_LIMIT_S
from pipeline.poll import JUDGE_WAIT_LIMIT_S as JUDGE_WAIT_LIMIT_S
from pipeline.poll import PT_WAIT_LIMIT_S as PT_WAIT_LIMIT_S
from pipeline.problems import Problem
from pipeline.runspec import (
    DEFAULT_MAX_PROMPTS,
    DEFAULT_TIMEOUT_HOURS,
    DEPLOYMENT_VEHICLE,
    EVALUATION_MODEL_UNITS,
    PIPELINE_TAG_PREFIX,
    THROUGHPUT_VEHICLE,
    RunSpec,
)
from pipeline.runspec.model import REFERENCES_TEACHER

if TYPE_CHECKING:
    from pipeline.promotion import Source

TAG_PREFIX: Final = PIPELINE_TAG_PREFIX
RUN_ID_TAG: Final = f"{TAG_PREFIX}run-id"
RUN_NAME_TAG: Final = f"{TAG_PREFIX}run-name"
COMMITMENT_TAG: Final = f"{TAG_PREFIX}commitment"
# The execution that created a resource: its ARN and its start (an execution name, and with it the
# ARN, recurs after 90 days or in a re-created state machine; the pair names one execution). Cleanup
# deletes only what carries both of its own (pipeline.ownership), and the cleanup roles may delete only
# what carries an execution ARN of this stack's workflow (aws:ResourceTag).
EXECUTION_ARN_TAG: Final = f"{TAG_PREFIX}execution-arn"
EXECUTION_START_TAG: Final = f"{TAG_PREFIX}execution-start"
# evaluation | serving: what a throughput or deployment was created for (sweep and cleanup read it).
PURPOSE_TAG: Final = f"{TAG_PREFIX}purpose"
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
# Reinforcement fine-tuning samples several answers per prompt, has the grader Lambda score them and
# trains on the scores, step after step; "the RFT job can take a few hours" [UG:rft-submit-job] is
# all the guide says. Same 12 h floor as distillation (UNCONFIRMED), and the planning rate counts
# every sampled answer: tokens x epochs x answers per prompt.
_RFT_TIMEOUT_MIN_S: Final = 12 * 3600
_DEFAULT_RFT_SAMPLES_PER_PROMPT: Final = 4
_JOB_TIMEOUT_MAX_S: Final = 14 * 24 * 3600
_PLANNING_TOKENS_PER_SECOND: Final = 1000
_DEFAULT_DISTILLATION_EPOCHS: Final = 2

# The waits (re-exported: the plan is where the workflow's schedules come from). Intervals double
# from 30 s up to 10 min, so a wait costs at most a few dozen state transitions.
_PT_FIRST_WAIT_S: Final = 30
_PT_MAX_WAIT_S: Final = 600
# The smoke check on what will serve: a few prompts must answer before the run reports success.
SMOKE_PROMPTS: Final = 3


# The slots of the workflow's state document besides runSpec and preflight: where each state writes
# its result (docs/workflow-contract.md). The workflow creates them all as null in its first state.
# A slot's in-place model change (deployment or throughput) still going after 1 h is treated as
# failed and rolled back (UNCONFIRMED: no duration is published for either update).
SLOT_UPDATE_WAIT_LIMIT_S: Final = 3600

RUN_SLOTS: Final = (
    "job",
    "loss",
    "vehicle",
    "vehicleStatus",
    "evaluationApproval",
    "evaluation",
    "judgeJobs",
    "judgeStatus",
    "judge",
    "approval",
    "throughput",
    "ptStatus",
    "smoke",
    "released",
    "slotLock",
    "slotStatus",
    "slotChange",
    "slotFailure",
    "slotRollback",
    "slotRecord",
    "failure",
    "cleanup",
)


@dataclass(frozen=True)
class PlanContext:
    """Where the run happens: the deployed pipeline's bucket and the run's id.

    ``builtin_grader_arn``: the ARN of the stack's built-in grader function (unqualified); a run that
    names a built-in grader is given ``<that ARN>:<grader name>``, the alias of that grader.
    """

    bucket: str
    run_id: str
    builtin_grader_arn: str | None = None
    # The execution running the plan ($$.Execution.Id and $$.Execution.StartTime); None outside the
    # workflow (the CLI's check and estimate), where nothing is created.
    execution_arn: str | None = None
    execution_start: str | None = None
    # Serving slots: where the stack keeps them (the deployment manifest's prefix), what the run's
    # slot holds now (read by the preflight: None when the slot does not exist yet), and whether the
    # stack asks a person before every promotion into a slot (stack setting, e.g. in prod).
    environment: str | None = None
    slot: slots.Slot | None = None
    slot_requires_approval: bool = False
    # A promotion (pipeline.promotion): the earlier run whose model the run serves, trained by none.
    promotion: Source | None = None


JOB_VARIANTS: Final = ("WITH_VALIDATION", "WITHOUT_VALIDATION", "DISTILLATION", REINFORCEMENT_FINE_TUNING)
# The plan of a promotion trains nothing: the workflow goes from the preflight to the loss gate,
# which reads the earlier run's job (pipeline.promotion).
PROMOTION_VARIANT: Final = "PROMOTION"


def grader_arn(spec: RunSpec, builtin_grader_arn: str | None) -> str | None:
    """The Lambda ARN Bedrock invokes as the run's grader (None: not an RFT run, or not resolvable)."""
    grader = spec.grader
    if grader is None:
        return None
    if grader.lambda_arn is not None:
        return grader.lambda_arn
    if not builtin_grader_arn:
        return None
    return f"{builtin_grader_arn}:{grader.builtin}"


def rft_hyperparameters(spec: RunSpec) -> dict[str, Any]:
    """RFTHyperParameters as Step Functions passes them: members capitalised, values typed [BC]."""
    typed = spec.model.typed_hyperparameters(spec.hyper_parameters, REINFORCEMENT_FINE_TUNING)
    return {name[:1].upper() + name[1:]: value for name, value in typed.items()}


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
    estimated_tokens: int | None,
    epochs: int | None,
    customization_type: str | None = None,
    samples_per_prompt: int | None = None,
) -> int:
    floor = {DISTILLATION: _DISTILLATION_TIMEOUT_MIN_S, REINFORCEMENT_FINE_TUNING: _RFT_TIMEOUT_MIN_S}.get(
        customization_type or "", _JOB_TIMEOUT_MIN_S
    )
    tokens = (estimated_tokens or 0) * (epochs or _DEFAULT_DISTILLATION_EPOCHS)
    if customization_type == REINFORCEMENT_FINE_TUNING:
        tokens *= samples_per_prompt or _DEFAULT_RFT_SAMPLES_PER_PROMPT
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
    tags = _tags(spec, rid, context)
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
    elif spec.customization_type == REINFORCEMENT_FINE_TUNING:
        variant = REINFORCEMENT_FINE_TUNING
        arn = grader_arn(spec, context.builtin_grader_arn)
        if arn is None:
            raise ValueError(
                "the run names a built-in grader but the pipeline's built-in grader ARN is unknown "
                "(the preflight function's BUILTIN_GRADER_ARN is not set)"
            )
        # Typed members only: RFT takes no top-level (string) HyperParameters.
        del job["HyperParameters"]
        rft: dict[str, Any] = {"GraderConfig": {"LambdaGrader": {"LambdaArn": arn}}}
        hyperparameters = rft_hyperparameters(spec)
        if hyperparameters:
            rft["HyperParameters"] = hyperparameters
        job["CustomizationConfig"] = {"RftConfig": rft}
    elif spec.validation:
        variant = "WITH_VALIDATION"
        job["ValidationDataConfig"] = {"Validators": [{"S3Uri": uri} for uri in spec.validation]}
    else:
        variant = "WITHOUT_VALIDATION"
    if context.promotion is not None:
        variant = PROMOTION_VARIANT
        job = context.promotion.plan_job(spec.base_model, spec.customization_type)

    evaluation = spec.evaluation
    approval = costs.approval_decision(spec)
    slot_plan = _slot(spec, context)
    timeout_hours = spec.approval.timeout_hours if spec.approval is not None else DEFAULT_TIMEOUT_HOURS
    return {
        "runId": rid,
        "runName": spec.name,
        "region": spec.region,
        "baseModel": spec.base_model,
        "baseModelInvokeId": base_model_invoke_id(model, spec.region),
        "customizationType": spec.customization_type,
        "jobVariant": variant,
        "jobTimeoutSeconds": job_timeout_seconds(
            estimated_tokens, epochs, spec.customization_type, _samples_per_prompt(spec)
        ),
        "job": job,
        "evaluation": {
            "maxTrainingLoss": evaluation.max_training_loss if evaluation else None,
            "maxValidationLoss": evaluation.max_validation_loss if evaluation else None,
            "promptsUri": spec.prompts,
            "maxPrompts": evaluation.max_prompts if evaluation else DEFAULT_MAX_PROMPTS,
            "minQuality": evaluation.min_quality if evaluation else None,
            "minImprovementOverBase": evaluation.min_improvement_over_base if evaluation else None,
            # Only against a champion that serves: "not worse" unless the spec asks for more.
            **(
                {
                    "minImprovementOverChampion": (
                        evaluation.min_improvement_over_champion
                        if evaluation and evaluation.min_improvement_over_champion is not None
                        else 0.0
                    )
                }
                if slot_plan is not None and slot_plan["exists"]
                else {}
            ),
            "validationUris": list(spec.validation),
            "smokePrompts": SMOKE_PROMPTS,
            # Distillation: the teacher answers each prompt first, its answer is the reference.
            **(
                {"references": REFERENCES_TEACHER, "teacherInvokeId": teacher_invoke_id(spec)}
                if evaluation is not None and evaluation.references == REFERENCES_TEACHER
                else {}
            ),
        },
        "approval": {
            "required": approval.required,
            "policy": approval.policy,
            "reason": approval.reason,
            "timeoutSeconds": timeout_hours * 3600,
            "beforeEvaluation": approval.before_evaluation,
            "beforeServing": _asks_before_serving(approval, slot_plan, context),
        },
        "vehicle": _vehicle(spec, rid, tags, slot_plan),
        "serving": _serving(spec, rid, tags, slot_plan),
        "slot": slot_plan,
        "judge": _judge(spec, context, tags, slot_plan),
        "estimate": _estimate(
            spec,
            context,
            estimated_tokens,
            epochs,
            champion=bool(slot_plan is not None and slot_plan["exists"]),
        ),
        "promotion": context.promotion.to_dict() if context.promotion is not None else None,
        "bucket": context.bucket,
        "runPrefix": f"{RUNS_PREFIX}{rid}/",
        **_grader(spec, context),
    }


def _grader(spec: RunSpec, context: PlanContext) -> dict[str, Any]:
    """RFT only: which grader the job calls (the record and the report name it)."""
    if spec.grader is None:
        return {}
    return {
        "grader": {"builtin": spec.grader.builtin, "lambdaArn": grader_arn(spec, context.builtin_grader_arn)}
    }


def _judge(
    spec: RunSpec,
    context: PlanContext,
    tags: list[dict[str, str]],
    slot_plan: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The LLM judge: one evaluation job per model over the answers the comparison collected, the
    champion's too where the run's slot has one (the comparison asked it the same prompts).

    Datasets and results live under the run's prefix; names and tokens derive from the run id, so a
    retried start asks Bedrock for the same jobs.
    """
    judge = spec.judge
    if judge is None:
        return None
    rid, bucket = context.run_id, context.bucket
    prefix = f"{RUNS_PREFIX}{rid}/judge/"
    max_prompts = spec.evaluation.max_prompts if spec.evaluation else DEFAULT_MAX_PROMPTS
    champion = slot_plan is not None and bool(slot_plan["exists"])
    jobs = {
        which: {
            "JobName": naming.judge_job_name(rid, which),
            "ClientRequestToken": naming.judge_request_token(rid, which),
            "Description": f"Bedrock customization run {rid}: LLM judge of the {which} model's answers",
            "DatasetName": f"{which}-answers",
            "DatasetKey": f"{prefix}{which}-answers.jsonl",
            "DatasetUri": f"s3://{bucket}/{prefix}{which}-answers.jsonl",
            "SourceIdentifier": judging.SOURCE_IDENTIFIERS[which],
            "OutputPrefix": f"{prefix}output/{which}/",
            "OutputUri": f"s3://{bucket}/{prefix}output/{which}/",
        }
        for which in (*judging.MODELS, *([judging.CHAMPION] if champion else []))
    }
    return {
        "model": judge.model,
        "metrics": list(judge.metrics),
        "customMetrics": [m.to_dict() for m in judge.custom_metrics],
        "bars": {name: _judge_bar(bar.to_dict(), champion) for name, bar in judge.bars.items()},
        "maxPrompts": min(max_prompts, judging.MAX_PROMPTS),
        "prefix": prefix,
        "jobs": jobs,
        # Evaluation jobs take lowercase tag members [BC].
        "tags": [{"key": t["Key"], "value": t["Value"]} for t in tags],
        **_waits(JUDGE_WAIT_LIMIT_S),
    }


def _judge_bar(bar: Mapping[str, Any], champion: bool) -> dict[str, Any]:
    """A metric's bar as the verdict applies it. Against a champion, every barred metric must be
    at least as good as the champion's (0.0, as the ROUGE-L bar) unless the spec asks for more; a
    metric the spec leaves unbarred stays reported only. Without a champion there is nothing to
    compare with: that bar is dropped."""
    out = {key: value for key, value in bar.items() if key != "minImprovementOverChampion"}
    if champion:
        given = bar.get("minImprovementOverChampion")
        out["minImprovementOverChampion"] = given if given is not None else 0.0
    return out


def _samples_per_prompt(spec: RunSpec) -> int | None:
    value = spec.model.effective_hyperparameter(
        "trainingSamplePerPrompt", spec.hyper_parameters, spec.customization_type
    )
    return int(value) if value is not None and value.isdigit() else None


def teacher_invoke_id(spec: RunSpec) -> str | None:
    """The id the evaluation invokes the distillation teacher by (Converse): as the spec names it when
    that is a profile or an ARN, else its cross-Region profile where the catalog says the teacher
    answers only through one."""
    if spec.teacher is None:
        return None
    ref = parse_teacher(spec.teacher)
    if ref.via_profile or ref.arn_region is not None or ref.teacher is None or ref.teacher.on_demand:
        return spec.teacher
    return profile_id(ref.model_id, spec.region)


def base_model_invoke_id(model: ModelInfo, region: str | None = None) -> str:
    """The id Converse accepts for the base model, to compare it with the custom model.

    Customization ids carry a context suffix (``amazon.nova-micro-v1:0:128k``) that on-demand
    invocation does not take. A base the catalog marks as invoked through a cross-Region inference
    profile gets the profile id of the run's geography (``us.meta.llama3-3-70b-instruct-v1:0``);
    if the id is still refused, the evaluation says "not judged" instead of passing.
    """
    head, _, suffix = model.model_id.rpartition(":")
    plain = head if suffix.endswith("k") and suffix[:-1].isdigit() else model.model_id
    if model.invoked_through_profile and region is not None:
        return profile_id(plain, region)
    return plain


def _estimate(
    spec: RunSpec,
    context: PlanContext,
    estimated_tokens: int | None,
    epochs: int | None,
    *,
    champion: bool = False,
) -> dict[str, Any]:
    """The run's estimate; a promotion trains nothing, so its training costs nothing (known, not unknown)."""
    if context.promotion is None:
        return estimate(spec, estimated_tokens, epochs, champion=champion)
    estimated = estimate(spec, None, epochs, champion=champion)
    estimated["trainingUsd"] = 0.0
    estimated["basis"]["training"] = f"nothing trained: the model of run {context.promotion.run_id}"
    return estimated


def _waits(limit_s: int) -> dict[str, Any]:
    schedule = poll_schedule(limit_s)
    return {"pollSchedule": schedule, "firstWaitSeconds": schedule[0], "maxPolls": len(schedule) - 1}


def _slot(spec: RunSpec, context: PlanContext) -> dict[str, Any] | None:
    """The serving slot the run promotes into, as the preflight found it (pipeline.slots)."""
    name = spec.serving.slot
    if name is None:
        return None
    if context.environment is None:
        raise ValueError("the run names a serving slot but the plan was built without the environment")
    current = context.slot
    kind = slots.DEPLOYMENT if spec.serving.on_demand else slots.THROUGHPUT
    if current is not None:
        problem = slots.compatible_problem(current, kind=kind, base_model=spec.base_model)
        if problem is not None:
            raise slots.SlotError(problem)
    return {
        "name": name,
        "parameter": slots.parameter_name(context.environment, name),
        "kind": kind,
        "exists": current is not None,
        "endpointArn": current.endpoint_arn if current is not None else None,
        "championModelArn": current.champion.model_arn if current is not None else None,
        "championRunId": current.champion.run_id if current is not None else None,
        "requiresApproval": context.slot_requires_approval,
        **_waits(SLOT_UPDATE_WAIT_LIMIT_S),
    }


def _asks_before_serving(
    approval: costs.ApprovalDecision, slot_plan: Mapping[str, Any] | None, context: PlanContext
) -> bool:
    """Before the serving purchase as the policy asks; before any promotion into a slot where the
    stack asks it; and a promotion in place buys nothing, so only the policy 'always' or the stack
    asks then."""
    if slot_plan is None:
        return approval.before_serving
    if context.slot_requires_approval or approval.policy == "always":
        return True
    return approval.before_serving and not slot_plan["exists"]


def _vehicle(
    spec: RunSpec, rid: str, tags: list[dict[str, str]], slot_plan: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What the custom model is evaluated on, with the exact create request of it."""
    kind = spec.evaluation_vehicle
    # Into a slot that has an endpoint already, the model is swapped in place: the evaluation
    # vehicle never serves (released after the comparison); the first promotion keeps it.
    in_place = slot_plan is not None and bool(slot_plan["exists"])
    if kind == DEPLOYMENT_VEHICLE:
        serves = spec.serving.on_demand and not in_place
        return {
            "kind": kind,
            # Kept when it also serves (serving.mode on-demand), else deleted after the evaluation.
            "servesAfterwards": serves,
            "ModelDeploymentName": naming.deployment_name(rid),
            "ClientRequestToken": naming.deployment_request_token(rid),
            "Description": f"Bedrock customization run {rid}: evaluation"
            + (" and on-demand serving" if serves else " only"),
            "Tags": [
                *tags,
                {"Key": PURPOSE_TAG, "Value": "serving" if serves else "evaluation"},
            ],
            **_waits(DEPLOYMENT_WAIT_LIMIT_S),
        }
    if kind == THROUGHPUT_VEHICLE:
        reused = spec.serving_reuses_evaluation_throughput and not in_place
        # Reused for serving: named and tokened as the serving purchase, so there is one purchase.
        return {
            "kind": kind,
            "servesAfterwards": reused,
            "ModelUnits": EVALUATION_MODEL_UNITS,
            "ProvisionedModelName": naming.provisioned_model_name(rid)
            if reused
            else naming.evaluation_throughput_name(rid),
            "ClientRequestToken": naming.throughput_request_token(rid)
            if reused
            else naming.evaluation_throughput_request_token(rid),
            "Tags": [
                *tags,
                {"Key": COMMITMENT_TAG, "Value": "none"},
                {"Key": PURPOSE_TAG, "Value": "serving" if reused else "evaluation"},
            ],
            **_waits(PT_WAIT_LIMIT_S),
        }
    return {"kind": kind, "servesAfterwards": False}


def _serving(
    spec: RunSpec, rid: str, tags: list[dict[str, str]], slot_plan: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    serving = spec.serving
    in_place = slot_plan is not None and bool(slot_plan["exists"])
    plan: dict[str, Any] = {
        "mode": serving.mode,
        "commitment": serving.commitment if serving.buys_throughput else "none",
        "reusesEvaluationThroughput": spec.serving_reuses_evaluation_throughput and not in_place,
        # Into an existing slot nothing is bought or kept: its endpoint's model is changed in place.
        "promotesInPlace": in_place,
        **_waits(PT_WAIT_LIMIT_S),
    }
    if serving.buys_throughput:
        plan |= {
            "ModelUnits": serving.model_units,
            "ProvisionedModelName": naming.provisioned_model_name(rid),
            "ClientRequestToken": naming.throughput_request_token(rid),
            "Tags": [
                *tags,
                {"Key": COMMITMENT_TAG, "Value": serving.commitment},
                {"Key": PURPOSE_TAG, "Value": "serving"},
            ],
        }
        if serving.commitment != "none":
            plan["CommitmentDuration"] = serving.commitment
    return plan


def _tags(spec: RunSpec, rid: str, context: PlanContext) -> list[dict[str, str]]:
    """The spec's tags plus the pipeline's own, which cleanup and `throughput list` rely on: every
    resource the run creates names its run and the execution that created it."""
    execution = (
        {EXECUTION_ARN_TAG: context.execution_arn, EXECUTION_START_TAG: context.execution_start}
        if context.execution_arn and context.execution_start
        else {}
    )
    tags: Mapping[str, str] = {**spec.tags, RUN_ID_TAG: rid, RUN_NAME_TAG: spec.name, **execution}
    return [{"Key": key, "Value": value} for key, value in tags.items()]
