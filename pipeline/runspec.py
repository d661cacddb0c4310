"""Run specs: the typed, validated description of one customization run, loaded from YAML or JSON.

Schema (camelCase keys; unknown keys are errors)::

    name: support-bot-v3            # lowercase letters, digits, single hyphens; starts with a letter; 3 to 40
    region: us-east-1
    baseModel: amazon.nova-micro-v1:0:128k   # catalog id, with its context suffix
    customizationType: FINE_TUNING  # FINE_TUNING | CONTINUED_PRE_TRAINING | DISTILLATION
                                    #   | REINFORCEMENT_FINE_TUNING
    training: data/train.jsonl      # local path (relative to the spec file) or s3:// URI
    validation: data/val.jsonl      # optional; one location or a list of up to 10
    hyperParameters: {epochCount: 2}  # numbers or strings; strings on the wire
    teacher: amazon.nova-pro-v1:0   # DISTILLATION only
    maxResponseLengthForInference: 1000  # DISTILLATION only, optional
    grader: {builtin: exact-match}  # REINFORCEMENT_FINE_TUNING only: a built-in grader of the stack
                                    #   (exact-match | numeric | json-schema | rouge-l) or the team's
                                    #   own: {lambdaArn: arn:aws:lambda:<region>:<acct>:function:<name>}
    evaluation: {maxTrainingLoss, maxValidationLoss, prompts, maxPrompts, minQuality, minImprovementOverBase,
                 judge}             # judge (opt-in, its tokens are billed): a Bedrock evaluation job
                                    #   with an LLM judge over both models' answers:
                                    #   {model: amazon.nova-pro-v1:0, metrics: [Builtin.Correctness, ...],
                                    #    customMetrics: [{name, instructions, ratingScale: [{definition,
                                    #    value}]}], bars: {<metric>: {minScore, minImprovementOverBase}}}
    serving: {mode: on-demand}      # on-demand | provisioned (+ modelUnits, commitment) | none (default)
    approval: {policy: above-cost, monthlyCostThreshold: 500, timeoutHours: 24}
    tags: {team: ml}

Validation collects every problem before raising ``RunSpecError``, so one run of ``check`` shows
them all. This module imports PyYAML only inside ``load_run_spec_data`` (the Lambda runtime has no
PyYAML and only ever receives JSON).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from pipeline import judge as judging
from pipeline.catalog import (
    CUSTOMIZATION_TYPES,
    DEFAULT_JUDGE,
    DISTILLATION,
    FINE_TUNING,
    MAX_VALIDATION_FILES,
    NEW_CUSTOMIZATION,
    ON_DEMAND_DEPLOYMENT_SOURCE,
    REINFORCEMENT_FINE_TUNING,
    ModelInfo,
    UnknownModelError,
    check_judge,
    check_teacher,
    get_model,
    lifecycle_problems,
)
from pipeline.formats import s3_uri_problem
from pipeline.graders import BUILTIN_GRADERS, LAMBDA_ARN_RE, lambda_arn_problem
from pipeline.problems import DASH, Problem, did_you_mean, show

__all__ = [
    "Approval",
    "Evaluation",
    "Grader",
    "Judge",
    "ParsedRunSpec",
    "Problem",
    "RunSpec",
    "RunSpecError",
    "Serving",
    "load_run_spec",
    "load_run_spec_data",
    "parse_run_spec",
    "spec_hash",
]

# customModelName forbids consecutive separators and evaluation jobName forbids a trailing hyphen
# [BC]; names derived from the run name must satisfy both.
NAME_RE: Final = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){2,39}")
REGION_RE: Final = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-\d")
COMMITMENTS: Final = ("none", "OneMonth", "SixMonths")
# How the custom model is served once it passed its bars: kept on an on-demand custom model
# deployment (billed per token, no purchase), on Provisioned Throughput bought for it, or not at all.
ON_DEMAND: Final = "on-demand"
PROVISIONED: Final = "provisioned"
NOT_SERVED: Final = "none"
SERVING_MODES: Final = (ON_DEMAND, PROVISIONED, NOT_SERVED)
DEPLOYMENT_VEHICLE: Final = "deployment"
THROUGHPUT_VEHICLE: Final = "throughput"
NO_VEHICLE: Final = "none"
# The evaluation throughput: the smallest purchase there is, never with a commitment.
EVALUATION_MODEL_UNITS: Final = 1
APPROVAL_POLICIES: Final = ("always", "never", "above-cost")
DEFAULT_MAX_PROMPTS: Final = 50
MAX_PROMPTS_LIMIT: Final = 1000  # at most 1,000 prompts per custom evaluation dataset [UG]
DEFAULT_TIMEOUT_HOURS: Final = 24
# Nothing is bought without a verdict: Provisioned Throughput to serve with (hourly, commitments
# cannot be cancelled) is only ever bought for a model that passed a bar it was measured against.
NO_VERDICT_MESSAGE: Final = (
    "serving.mode=provisioned buys throughput for the custom model, and nothing is bought without a "
    "quality verdict, but this spec sets no quality bar. Add evaluation.minQuality and/or "
    "evaluation.minImprovementOverBase, measured on evaluation.prompts (JSONL of "
    '{"prompt", "reference"}; for fine-tuning, validation data can stand in for them); or serve with '
    "serving.mode=on-demand (nothing bought; served without a verdict, where Bedrock deploys this base "
    "on demand) or serving.mode=none"
)
# Tags [BC]: at most 200; key 1 to 128 chars, value 0 to 256, both from this character set.
TAG_RE: Final = re.compile(r"[a-zA-Z0-9\s._:/=+@-]*")
MAX_TAGS: Final = 200
# The pipeline adds tags of its own to everything a run creates (pipeline.plan: run id and name, the
# creating execution's ARN and start, a purchase's commitment and purpose), under its own prefix:
# a spec keeps room for them and may not use the prefix (cleanup decides ownership by those tags).
PIPELINE_TAG_PREFIX: Final = "bedrock-customization:"
PIPELINE_TAGS: Final = 6
MAX_SPEC_TAGS: Final = MAX_TAGS - PIPELINE_TAGS

TOP_LEVEL_KEYS: Final = (
    "name",
    "region",
    "baseModel",
    "customizationType",
    "training",
    "validation",
    "hyperParameters",
    "teacher",
    "maxResponseLengthForInference",
    "grader",
    "evaluation",
    "serving",
    "approval",
    "tags",
)
EVALUATION_KEYS: Final = (
    "maxTrainingLoss",
    "maxValidationLoss",
    "prompts",
    "maxPrompts",
    "minQuality",
    "minImprovementOverBase",
    "judge",
)
JUDGE_KEYS: Final = ("model", "metrics", "customMetrics", "bars")
CUSTOM_METRIC_KEYS: Final = ("name", "instructions", "ratingScale")
RATING_KEYS: Final = ("definition", "value")
BAR_KEYS: Final = ("minScore", "minImprovementOverBase")
METRIC_NAME_RE: Final = re.compile(judging.METRIC_NAME_PATTERN)
SERVING_KEYS: Final = ("mode", "modelUnits", "commitment")
GRADER_KEYS: Final = ("builtin", "lambdaArn")
APPROVAL_KEYS: Final = ("policy", "monthlyCostThreshold", "timeoutHours")


class RunSpecError(Exception):
    """A run spec with problems; ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[Problem], source: str = "run spec") -> None:
        self.problems = list(problems)
        self.source = source
        count = len(self.problems)
        lines = [f"{source}: {count} problem{'s' if count != 1 else ''}:"]
        lines += [f"  - {source}:{p.line}: {p}" if p.line else f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class CustomMetric:
    """A judge metric of the team's own: instructions for the judge and a rating scale."""

    name: str
    instructions: str
    rating_scale: tuple[tuple[str, float | str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "instructions": self.instructions,
            "ratingScale": [{"definition": d, "value": v} for d, v in self.rating_scale],
        }


@dataclass(frozen=True)
class MetricBar:
    min_score: float | None = None
    min_improvement_over_base: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"minScore": self.min_score, "minImprovementOverBase": self.min_improvement_over_base}


@dataclass(frozen=True)
class Judge:
    """An LLM judge over both models' answers (a Bedrock evaluation job per model), with bars per metric."""

    model: str = DEFAULT_JUDGE
    metrics: tuple[str, ...] = judging.DEFAULT_METRICS
    custom_metrics: tuple[CustomMetric, ...] = ()
    bars: Mapping[str, MetricBar] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "metrics": list(self.metrics),
            "customMetrics": [m.to_dict() for m in self.custom_metrics],
            "bars": {name: bar.to_dict() for name, bar in self.bars.items()},
        }


@dataclass(frozen=True)
class Evaluation:
    """The bar a customized model must clear before anything is bought for it."""

    max_training_loss: float | None = None
    max_validation_loss: float | None = None
    prompts: str | None = None
    max_prompts: int = DEFAULT_MAX_PROMPTS
    min_quality: float | None = None
    min_improvement_over_base: float | None = None
    judge: Judge | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "maxTrainingLoss": self.max_training_loss,
            "maxValidationLoss": self.max_validation_loss,
            "prompts": self.prompts,
            "maxPrompts": self.max_prompts,
            "minQuality": self.min_quality,
            "minImprovementOverBase": self.min_improvement_over_base,
            # Left out without a judge, so the spec hash (and run id) of every other spec stays.
            **({"judge": self.judge.to_dict()} if self.judge is not None else {}),
        }


@dataclass(frozen=True)
class Grader:
    """The reward function of a reinforcement fine-tuning run: a built-in grader of the stack (by name)
    or the team's own Lambda function (by ARN). Exactly one of the two is set."""

    builtin: str | None = None
    lambda_arn: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"builtin": self.builtin} if self.builtin is not None else {"lambdaArn": self.lambda_arn}


@dataclass(frozen=True)
class Serving:
    """How the custom model is served after it passed: ``mode`` plus, for provisioned, what is bought."""

    mode: str = NOT_SERVED
    model_units: int | None = None
    commitment: str = "none"

    @property
    def provisioned(self) -> bool:
        return self.mode == PROVISIONED

    @property
    def on_demand(self) -> bool:
        return self.mode == ON_DEMAND

    @property
    def buys_throughput(self) -> bool:
        return self.mode == PROVISIONED and self.model_units is not None

    @property
    def has_commitment(self) -> bool:
        return self.buys_throughput and self.commitment != "none"

    def to_dict(self) -> dict[str, Any]:
        if self.mode != PROVISIONED:
            return {"mode": self.mode}
        return {"mode": self.mode, "modelUnits": self.model_units, "commitment": self.commitment}


@dataclass(frozen=True)
class Approval:
    policy: str
    monthly_cost_threshold: float | None = None
    timeout_hours: int = DEFAULT_TIMEOUT_HOURS

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "monthlyCostThreshold": self.monthly_cost_threshold,
            "timeoutHours": self.timeout_hours,
        }


@dataclass(frozen=True)
class RunSpec:
    """A validated customization run. Build it with ``from_dict`` or ``load_run_spec``.

    Dataset locations keep the form they were given in (relative paths stay relative to
    ``base_dir``, the spec file's folder); ``resolve()`` turns one into a readable path.
    """

    name: str
    region: str
    base_model: str
    customization_type: str
    training: str
    validation: tuple[str, ...] = ()
    hyper_parameters: Mapping[str, str] = field(default_factory=dict)
    teacher: str | None = None
    max_response_length_for_inference: int | None = None
    grader: Grader | None = None
    evaluation: Evaluation | None = None
    serving: Serving = field(default_factory=Serving)
    approval: Approval | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    base_dir: str | None = field(default=None, compare=False)

    @property
    def model(self) -> ModelInfo:
        return get_model(self.base_model)

    @property
    def prompts(self) -> str | None:
        return self.evaluation.prompts if self.evaluation else None

    @property
    def evaluates_on_model(self) -> bool:
        """Whether the custom model answers evaluation prompts before anything is decided for it.

        Always with a quality bar or evaluation prompts; and before serving a fine-tuned model,
        whose validation or training records carry reference answers to measure it on.
        """
        return (
            self.has_quality_bar
            or self.judge is not None
            or self.prompts is not None
            or (self.serving.mode != NOT_SERVED and self.customization_type == FINE_TUNING)
        )

    @property
    def evaluation_vehicle(self) -> str:
        """Where the custom model answers the evaluation prompts: chosen by the plan, never by hand.

        An on-demand custom model deployment where Bedrock offers one for the base in this region
        (no purchase, billed per token); else one model unit of no-commitment Provisioned
        Throughput bought only for the evaluation.
        """
        if self.serving.on_demand:
            return DEPLOYMENT_VEHICLE  # the deployment it is evaluated on is the one that serves
        if not self.evaluates_on_model:
            return NO_VEHICLE
        return DEPLOYMENT_VEHICLE if self.model.deploys_on_demand(self.region) else THROUGHPUT_VEHICLE

    @property
    def serving_reuses_evaluation_throughput(self) -> bool:
        """The evaluation throughput is exactly what the spec serves with: keep it, buy nothing more."""
        serving = self.serving
        return (
            self.evaluation_vehicle == THROUGHPUT_VEHICLE
            and serving.buys_throughput
            and serving.model_units == EVALUATION_MODEL_UNITS
            and serving.commitment == "none"
        )

    @property
    def judge(self) -> Judge | None:
        return self.evaluation.judge if self.evaluation else None

    @property
    def has_quality_bar(self) -> bool:
        """A bar the custom model is measured against: the quality verdict a purchase needs.

        The parser admits a bar only with reference answers to measure it on (evaluation.prompts,
        or fine-tuning validation data), so a bar always yields a verdict: passed, below the bar,
        or not judged.
        """
        return _has_bar(self.evaluation)

    @property
    def serves_without_verdict(self) -> bool:
        """Served on demand with no quality bar: allowed (nothing is bought), and said so."""
        return self.serving.on_demand and not self.has_quality_bar

    def verdict_warning(self) -> str | None:
        """What a person should know before starting a run whose model serves without a verdict."""
        if not self.serves_without_verdict:
            return None
        return (
            "serving.mode=on-demand without a quality bar: the custom model is kept serving on its "
            "on-demand deployment without a quality verdict (nothing is bought; it is billed per token "
            "as it is used). Set evaluation.minQuality or evaluation.minImprovementOverBase to gate it."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe camelCase form. Every key is present (null when unset) so that workflow states
        can address any field without failing on a missing key."""
        return {
            "name": self.name,
            "region": self.region,
            "baseModel": self.base_model,
            "customizationType": self.customization_type,
            "training": self.training,
            "validation": list(self.validation),
            "hyperParameters": dict(self.hyper_parameters),
            "teacher": self.teacher,
            "maxResponseLengthForInference": self.max_response_length_for_inference,
            "evaluation": self.evaluation.to_dict() if self.evaluation else None,
            "serving": self.serving.to_dict(),
            "approval": self.approval.to_dict() if self.approval else None,
            "tags": dict(self.tags),
            # Only reinforcement fine-tuning has a grader; the key is left out otherwise so that the
            # spec hash (and the run id) of every other spec stays what it was.
            **({"grader": self.grader.to_dict()} if self.grader is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Any, base_dir: str | Path | None = None) -> RunSpec:
        parsed = parse_run_spec(data, base_dir=base_dir)
        if parsed.spec is None:
            raise RunSpecError(parsed.problems)
        return parsed.spec

    def with_datasets(
        self,
        *,
        training: str | None = None,
        validation: str | Sequence[str] | None = None,
        prompts: str | None = None,
    ) -> RunSpec:
        """A copy with dataset locations replaced (e.g. by the s3:// URIs they were uploaded to)."""
        changes: dict[str, Any] = {}
        if training is not None:
            changes["training"] = training
        if validation is not None:
            changes["validation"] = (validation,) if isinstance(validation, str) else tuple(validation)
        if prompts is not None:
            if self.evaluation is None:
                raise ValueError("this run spec has no evaluation section to hold prompts")
            changes["evaluation"] = replace(self.evaluation, prompts=prompts)
        return replace(self, **changes)

    def resolve(self, location: str) -> str:
        """A dataset location made readable: s3:// URIs unchanged, relative paths joined to base_dir."""
        if location.startswith("s3://") or self.base_dir is None or Path(location).is_absolute():
            return location
        return str(Path(self.base_dir) / location)

    def dataset_locations(self) -> list[tuple[str, str]]:
        """(role, location as given) for every dataset of the run: training, validation, prompts."""
        items = [("training", self.training)] + [("validation", v) for v in self.validation]
        if self.prompts:
            items.append(("prompts", self.prompts))
        return items


def spec_hash(spec: RunSpec) -> str:
    """sha256 of the canonical JSON of ``spec.to_dict()``: equal specs hash equal on every machine."""
    canonical = json.dumps(spec.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ParsedRunSpec:
    """The result of validating a spec: the spec (None if any problem) plus what could be understood.

    The preflight uses the partial fields to validate datasets even when other parts of the spec
    are wrong, so one run reports the spec's problems and the data's problems together.
    """

    spec: RunSpec | None
    problems: list[Problem]
    model: ModelInfo | None = None
    customization_type: str | None = None
    region: str | None = None
    training: str | None = None
    validation: tuple[str, ...] = ()
    prompts: str | None = None
    max_prompts: int = DEFAULT_MAX_PROMPTS
    hyper_parameters: Mapping[str, str] = field(default_factory=dict)
    base_dir: str | None = None


def parse_run_spec(
    data: Any, base_dir: str | Path | None = None, *, require_s3: bool = False
) -> ParsedRunSpec:
    """Validate a run spec mapping; never raises for bad input.

    ``require_s3``: every dataset must already be an s3:// URI (inside the workflow, where local
    paths mean nothing).
    """
    return _Parser(require_s3=require_s3).parse(data, None if base_dir is None else str(base_dir))


class _Parser:
    def __init__(self, *, require_s3: bool) -> None:
        self.require_s3 = require_s3
        self.problems: list[Problem] = []

    def problem(self, field_name: str, value: Any, allowed: str, message: str) -> None:
        self.problems.append(Problem(field_name, value, allowed, message))

    # ---- the spec -----------------------------------------------------------------------------

    def parse(self, data: Any, base_dir: str | None) -> ParsedRunSpec:
        if not isinstance(data, Mapping):
            self.problem(
                "", data, "a mapping of run spec keys", f"a run spec must be a mapping, got {_kind(data)}"
            )
            return ParsedRunSpec(None, self.problems)
        self.unknown_keys(data, TOP_LEVEL_KEYS, "")
        name = self.name(data.get("name"))
        region = self.region(data.get("region"))
        model = self.model(data.get("baseModel"))
        ctype = self.customization_type(data.get("customizationType"), model)
        if model is not None:  # Legacy and end-of-life bases take no new job (as of catalog.today_utc())
            self.problems += lifecycle_problems(model, purpose=NEW_CUSTOMIZATION, customization_type=ctype)
        if model is not None and region is not None and region not in model.regions:
            self.problem(
                "region",
                region,
                ", ".join(model.regions),
                f"{model.model_id} cannot be customized in {region}; it "
                f"is offered in {', '.join(model.regions)}",
            )
        training = self.location(data.get("training"), "training", required=True)
        validation = self.validation(data.get("validation"), model, ctype)
        hyper_parameters = self.hyper_parameters(data.get("hyperParameters"), model, ctype)
        teacher = self.teacher(data.get("teacher"), model, ctype, region)
        max_response = self.max_response_length(data.get("maxResponseLengthForInference"), ctype)
        grader = self.grader(data.get("grader"), ctype, region)
        # "given", not "valid": a bad validation location is reported once, not again here
        evaluation = self.evaluation(
            data.get("evaluation"), data.get("validation") not in (None, []), ctype, region
        )
        serving = self.serving(data.get("serving"), model, region)
        approval = self.approval(data.get("approval"))
        tags = self.tags(data.get("tags"))
        if serving is not None and serving.has_commitment:
            if approval is None:
                self.problem(
                    "approval.policy",
                    None,
                    "always or above-cost",
                    f"serving.commitment={serving.commitment} "
                    "commits you to pay for the whole term and "
                    "cannot be cancelled; give an explicit approval.policy (always or above-cost)",
                )
            elif approval.policy == "never":
                self.problem(
                    "approval.policy",
                    "never",
                    "always or above-cost",
                    "approval.policy=never is not allowed with "
                    f"serving.commitment={serving.commitment}: "
                    "a commitment cannot be cancelled, so a human must approve it",
                )

        if serving is not None and serving.provisioned and not _has_bar(evaluation):
            self.problem(
                "serving.mode",
                PROVISIONED,
                "a quality bar (evaluation.minQuality or evaluation.minImprovementOverBase), or "
                f"serving.mode {ON_DEMAND} | {NOT_SERVED}",
                NO_VERDICT_MESSAGE,
            )

        spec = None
        if not self.problems:
            assert name and region and model and ctype and training is not None
            spec = RunSpec(
                name=name,
                region=region,
                base_model=model.model_id,
                customization_type=ctype,
                training=training,
                validation=validation,
                hyper_parameters=hyper_parameters,
                teacher=teacher,
                max_response_length_for_inference=max_response,
                grader=grader,
                evaluation=evaluation,
                serving=serving if serving is not None else Serving(),
                approval=approval,
                tags=tags,
                base_dir=base_dir,
            )
        return ParsedRunSpec(
            spec=spec,
            problems=self.problems,
            model=model,
            customization_type=ctype,
            region=region,
            training=training,
            validation=validation,
            prompts=evaluation.prompts if evaluation else None,
            max_prompts=evaluation.max_prompts if evaluation else DEFAULT_MAX_PROMPTS,
            hyper_parameters=hyper_parameters,
            base_dir=base_dir,
        )

    def unknown_keys(self, data: Mapping[Any, Any], allowed: Sequence[str], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                where = f"{prefix}.{key}" if prefix else str(key)
                hint = (
                    "; the throughput section became serving: {mode: provisioned, modelUnits, commitment} "
                    "(or mode: on-demand | none)"
                    if where == "throughput"
                    else did_you_mean(str(key), allowed)
                )
                self.problem(
                    where,
                    key,
                    ", ".join(allowed),
                    f"unknown key {key!r}{hint}; allowed: {', '.join(allowed)}",
                )

    def name(self, value: Any) -> str | None:
        allowed = (
            f"3{DASH}40 lowercase letters, digits and single hyphens, "
            "starting with a letter, not ending in '-'"
        )
        if value is None:
            self.problem("name", None, allowed, f"name is required ({allowed})")
            return None
        if not isinstance(value, str) or not NAME_RE.fullmatch(value):
            self.problem("name", value, allowed, f"name={show(value)} is not a valid run name; use {allowed}")
            return None
        return value

    def region(self, value: Any) -> str | None:
        if value is None:
            self.problem(
                "region", None, "an AWS region, e.g. us-east-1", "region is required, e.g. us-east-1"
            )
            return None
        if not isinstance(value, str) or not REGION_RE.fullmatch(value):
            self.problem(
                "region", value, "an AWS region, e.g. us-east-1", f"region={show(value)} is not an AWS region"
            )
            return None
        return value

    def model(self, value: Any) -> ModelInfo | None:
        if value is None:
            self.problem(
                "baseModel",
                None,
                "a catalog model id",
                "baseModel is required, e.g. amazon.nova-micro-v1:0:128k",
            )
            return None
        if not isinstance(value, str):
            self.problem(
                "baseModel", value, "a catalog model id", f"baseModel must be a string, got {_kind(value)}"
            )
            return None
        try:
            return get_model(value)
        except UnknownModelError as exc:
            self.problem("baseModel", value, "a catalog model id", str(exc))
            return None

    def customization_type(self, value: Any, model: ModelInfo | None) -> str | None:
        allowed = " | ".join(CUSTOMIZATION_TYPES)
        if value is None:
            self.problem("customizationType", None, allowed, f"customizationType is required ({allowed})")
            return None
        if value not in CUSTOMIZATION_TYPES:
            self.problem(
                "customizationType",
                value,
                allowed,
                f"customizationType={show(value)} is not one of "
                f"{allowed}{did_you_mean(str(value), CUSTOMIZATION_TYPES)}",
            )
            return None
        if model is not None and not model.supports(value):
            self.problem(
                "customizationType",
                value,
                ", ".join(model.customization_types),
                model.unsupported_message(value),
            )
            return None
        return str(value)

    def location(self, value: Any, field_name: str, *, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.problem(
                    field_name,
                    None,
                    "a local path or s3:// URI",
                    f"{field_name} is required (a local path or s3:// URI)",
                )
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(
                field_name,
                value,
                "a local path or s3:// URI",
                f"{field_name} must be a path or s3:// URI string",
            )
            return None
        if value.startswith("s3://"):
            problem = s3_uri_problem(value)
            if problem is not None:
                self.problem(
                    field_name, value, "an S3 URI Bedrock accepts", f"{field_name}={show(value)} {problem}"
                )
                return None
        elif self.require_s3:
            self.problem(
                field_name,
                value,
                "an s3:// URI",
                f"{field_name}={show(value)} is a local path; the workflow reads only s3:// URIs "
                "(the CLI uploads local files before it starts a run)",
            )
            return None
        return value

    def validation(self, value: Any, model: ModelInfo | None, ctype: str | None) -> tuple[str, ...]:
        if value is None or value == []:  # to_dict() writes [] for "no validation dataset"
            return ()
        items: list[Any] = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        if not items:
            self.problem(
                "validation",
                value,
                f"a location or a list of 1{DASH}10",
                "validation must be a location or a non-empty list of them",
            )
            return ()
        if len(items) > MAX_VALIDATION_FILES:
            self.problem(
                "validation",
                len(items),
                f"at most {MAX_VALIDATION_FILES}",
                f"{len(items)} validation datasets given; CreateModelCustomizationJob "
                f"accepts at most {MAX_VALIDATION_FILES}",
            )
        if (
            model is not None
            and ctype is not None
            and model.supports(ctype)
            and not model.rules(ctype).validation_allowed
        ):
            self.problem(
                "validation",
                value,
                "no validation dataset",
                f"{model.model_id} does not accept a validation dataset for {ctype}; remove 'validation'",
            )
            return ()
        single = isinstance(value, str)
        locations = [
            self.location(item, "validation" if single else f"validation[{i}]")
            for i, item in enumerate(items)
        ]
        return tuple(loc for loc in locations if loc is not None)

    def hyper_parameters(self, value: Any, model: ModelInfo | None, ctype: str | None) -> dict[str, str]:
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            self.problem(
                "hyperParameters",
                value,
                "a mapping name → value",
                f"hyperParameters must be a mapping, got {_kind(value)}",
            )
            return {}
        if model is None or ctype is None:
            return {}
        normalized, problems = model.check_hyperparameters(value, ctype)
        self.problems.extend(problems)
        return normalized

    def teacher(
        self, value: Any, model: ModelInfo | None, ctype: str | None, region: str | None
    ) -> str | None:
        if ctype != DISTILLATION:
            if value is not None:
                self.problem(
                    "teacher",
                    value,
                    "only with DISTILLATION",
                    f"teacher is only used with DISTILLATION, not {ctype}; remove it",
                )
            return None
        allowed = ", ".join(model.distillation_teachers) if model else "a teacher model id"
        if value is None:
            self.problem("teacher", None, allowed, f"DISTILLATION needs a teacher; allowed: {allowed}")
            return None
        if not isinstance(value, str):
            self.problem("teacher", value, allowed, f"teacher must be a model id string, got {_kind(value)}")
            return None
        if model is not None and region is not None:
            self.problems.extend(check_teacher(value, model, region))
        return value

    def max_response_length(self, value: Any, ctype: str | None) -> int | None:
        if value is None:
            return None
        if ctype != DISTILLATION:
            self.problem(
                "maxResponseLengthForInference",
                value,
                "only with DISTILLATION",
                "maxResponseLengthForInference is only used with DISTILLATION; remove it",
            )
            return None
        return self.integer(value, "maxResponseLengthForInference", 1, None)

    def grader(self, value: Any, ctype: str | None, region: str | None) -> Grader | None:
        """REINFORCEMENT_FINE_TUNING's reward function: ``{builtin: <name>}`` or ``{lambdaArn: <ARN>}``."""
        builtins = " | ".join(BUILTIN_GRADERS)
        allowed = (
            f"{{builtin: {builtins}}} or {{lambdaArn: arn:aws:lambda:<region>:<account>:function:<name>}}"
        )
        if ctype != REINFORCEMENT_FINE_TUNING:
            if value is not None:
                self.problem(
                    "grader",
                    value,
                    f"only with {REINFORCEMENT_FINE_TUNING}",
                    f"grader is only used with {REINFORCEMENT_FINE_TUNING}, not {ctype}; remove it",
                )
            return None
        if value is None:
            self.problem(
                "grader",
                None,
                allowed,
                f"{REINFORCEMENT_FINE_TUNING} needs a grader (the Lambda function that scores the sampled "
                f"answers): {allowed}",
            )
            return None
        section = self.section(value, "grader", GRADER_KEYS)
        if section is None:
            return None
        builtin, arn = section.get("builtin"), section.get("lambdaArn")
        if (builtin is None) == (arn is None):
            self.problem(
                "grader",
                dict(section),
                allowed,
                f"grader needs exactly one of builtin and lambdaArn: {allowed}",
            )
            return None
        if builtin is not None:
            if builtin not in BUILTIN_GRADERS:
                self.problem(
                    "grader.builtin",
                    builtin,
                    builtins,
                    f"grader.builtin={show(builtin)} is not a built-in grader; use one of {builtins}"
                    f"{did_you_mean(str(builtin), BUILTIN_GRADERS)}",
                )
                return None
            return Grader(builtin=str(builtin))
        if not isinstance(arn, str):
            self.problem(
                "grader.lambdaArn", arn, "a Lambda function ARN", "grader.lambdaArn must be a string"
            )
            return None
        problem = lambda_arn_problem(arn, region=region or "", account=None) if region else None
        if problem is None and LAMBDA_ARN_RE.fullmatch(arn) is None:
            problem = "is not a Lambda function ARN"
        if problem is not None:
            self.problem(
                "grader.lambdaArn",
                arn,
                f"a Lambda function ARN in {region or 'the run region'}",
                f"grader.lambdaArn={show(arn)} {problem}",
            )
            return None
        return Grader(lambda_arn=arn)

    def evaluation(
        self, value: Any, has_validation: bool, ctype: str | None, region: str | None = None
    ) -> Evaluation | None:
        section = self.section(value, "evaluation", EVALUATION_KEYS)
        if section is None:
            return None
        prompts = self.location(section.get("prompts"), "evaluation.prompts")
        max_prompts_given = section.get("maxPrompts")
        max_prompts = self.integer(max_prompts_given, "evaluation.maxPrompts", 1, MAX_PROMPTS_LIMIT)
        evaluation = Evaluation(
            max_training_loss=self.number(
                section.get("maxTrainingLoss"), "evaluation.maxTrainingLoss", 0.0, None, exclusive_min=True
            ),
            max_validation_loss=self.number(
                section.get("maxValidationLoss"),
                "evaluation.maxValidationLoss",
                0.0,
                None,
                exclusive_min=True,
            ),
            prompts=prompts,
            max_prompts=max_prompts if max_prompts is not None else DEFAULT_MAX_PROMPTS,
            min_quality=self.number(section.get("minQuality"), "evaluation.minQuality", 0.0, 1.0),
            min_improvement_over_base=self.number(
                section.get("minImprovementOverBase"), "evaluation.minImprovementOverBase", -1.0, 1.0
            ),
            judge=self.judge(section.get("judge"), region),
        )
        if ctype == REINFORCEMENT_FINE_TUNING and evaluation.max_training_loss is not None:
            self.problem(
                "evaluation.maxTrainingLoss",
                evaluation.max_training_loss,
                "no loss bar for reinforcement fine-tuning",
                "maxTrainingLoss cannot gate reinforcement fine-tuning: its loss is a policy-gradient "
                "loss that says nothing against a fixed bar (and whether Bedrock reports it is "
                "UNCONFIRMED); gate on the evaluation instead (evaluation.prompts with minQuality)",
            )
        if evaluation.max_validation_loss is not None and not has_validation:
            self.problem(
                "evaluation.maxValidationLoss",
                evaluation.max_validation_loss,
                "a validation dataset",
                "maxValidationLoss needs a validation dataset (no validation loss is reported without one); "
                "add 'validation' or remove maxValidationLoss",
            )
        # A quality bar needs reference answers to be measured against: the evaluation prompts, or
        # else a slice of the fine-tuning validation data (its final assistant turns / completions).
        # Continued pre-training text and distillation prompts carry no reference answers, so
        # without prompts the bar could never be measured. (maxPrompts alone is harmless, and
        # to_dict() always writes its default.)
        references_from_validation = has_validation and ctype == FINE_TUNING
        if section.get("prompts") is None and not references_from_validation:
            for key in ("minQuality", "minImprovementOverBase", "judge"):
                if section.get(key) is not None:
                    self.problem(
                        f"evaluation.{key}",
                        section.get(key),
                        "evaluation.prompts",
                        f"evaluation.{key} needs evaluation.prompts (prompt + reference answers to measure "
                        f"it on; only fine-tuning validation data can stand in for them); add them or "
                        f"remove {key}",
                    )
        return evaluation

    def judge(self, value: Any, region: str | None) -> Judge | None:
        """``evaluation.judge``: the judge model, its metrics and the bars per metric."""
        section = self.section(value, "evaluation.judge", JUDGE_KEYS)
        if section is None:
            return None
        model = section.get("model", DEFAULT_JUDGE)
        metrics_given = section.get("metrics")
        metrics: tuple[str, ...] = judging.DEFAULT_METRICS if metrics_given is None else ()
        builtins = ", ".join(judging.BUILTIN_METRICS)
        if metrics_given is not None:
            if not isinstance(metrics_given, list) or not all(isinstance(m, str) for m in metrics_given):
                self.problem(
                    "evaluation.judge.metrics",
                    metrics_given,
                    builtins,
                    "evaluation.judge.metrics must be a list",
                )
            else:
                for name in metrics_given:
                    if name not in judging.BUILTIN_METRICS:
                        self.problem(
                            "evaluation.judge.metrics",
                            name,
                            builtins,
                            f"{show(name)} is not a built-in judge metric"
                            f"{did_you_mean(name, judging.BUILTIN_METRICS)}; define it under customMetrics",
                        )
                if len(set(metrics_given)) != len(metrics_given):
                    self.problem(
                        "evaluation.judge.metrics",
                        metrics_given,
                        "distinct names",
                        "a metric is listed twice",
                    )
                metrics = tuple(m for m in metrics_given if m in judging.BUILTIN_METRICS)
        custom = self.custom_metrics(section.get("customMetrics"))
        names = [*metrics, *(m.name for m in custom)]
        if not names:
            self.problem(
                "evaluation.judge.metrics", metrics_given, builtins, "the judge needs at least one metric"
            )
        if len(names) > judging.MAX_METRIC_NAMES:
            self.problem(
                "evaluation.judge.metrics",
                len(names),
                f"≤ {judging.MAX_METRIC_NAMES}",
                f"an evaluation job scores at most {judging.MAX_METRIC_NAMES} metrics",
            )
        if len(set(names)) != len(names):
            self.problem(
                "evaluation.judge.customMetrics", names, "distinct names", "metric names must be distinct"
            )
        if not isinstance(model, str):
            self.problem("evaluation.judge.model", model, "a judge model id", "must be a string")
        else:
            self.problems += check_judge(
                model, region, builtin_metrics=bool(metrics), custom_metrics=bool(custom)
            )
        bars = self.metric_bars(section.get("bars"), names, custom)
        if not isinstance(model, str):
            return None
        return Judge(model=model, metrics=metrics, custom_metrics=custom, bars=bars)

    def custom_metrics(self, value: Any) -> tuple[CustomMetric, ...]:
        where = "evaluation.judge.customMetrics"
        if value is None:
            return ()
        if not isinstance(value, list) or not 1 <= len(value) <= judging.MAX_CUSTOM_METRICS:
            self.problem(
                where,
                value,
                f"a list of 1{DASH}{judging.MAX_CUSTOM_METRICS}",
                f"{where} must be a list of 1{DASH}{judging.MAX_CUSTOM_METRICS} metric definitions [BC]",
            )
            return ()
        out: list[CustomMetric] = []
        for index, item in enumerate(value):
            at = f"{where}[{index}]"
            section = self.section(item, at, CUSTOM_METRIC_KEYS)
            if section is None:
                continue
            name, instructions, scale = (
                section.get("name"),
                section.get("instructions"),
                section.get("ratingScale"),
            )
            ok = True
            if (
                not isinstance(name, str)
                or METRIC_NAME_RE.fullmatch(name) is None
                or name.startswith("Builtin.")
            ):
                self.problem(
                    f"{at}.name",
                    name,
                    judging.METRIC_NAME_PATTERN,
                    f"{at}.name={show(name)} must be 1{DASH}63 of [0-9a-zA-Z-_.], "
                    "not starting with Builtin. [BC]",
                )
                ok = False
            if not isinstance(instructions, str) or not 1 <= len(instructions) <= judging.MAX_INSTRUCTIONS:
                self.problem(
                    f"{at}.instructions",
                    instructions,
                    f"1{DASH}{judging.MAX_INSTRUCTIONS} characters",
                    f"{at}.instructions must be text of 1{DASH}{judging.MAX_INSTRUCTIONS} characters [BC]",
                )
                ok = False
            if ok and isinstance(instructions, str):
                ok = self.instruction_variables(instructions, f"{at}.instructions")
            rating = self.rating_scale(scale, f"{at}.ratingScale")
            if ok and rating is not None:
                assert isinstance(name, str) and isinstance(instructions, str)
                out.append(CustomMetric(name, instructions, rating))
        return tuple(out)

    def instruction_variables(self, instructions: str, where: str) -> bool:
        """A custom metric's instructions show the judge the answer (``{{prediction}}``) and use only
        the documented input variables [UG:model-evaluation-custom-metrics-prompt-formats]."""
        used = judging.instruction_variables(instructions)
        allowed = ", ".join(f"{{{{{v}}}}}" for v in judging.INPUT_VARIABLES)
        ok = True
        for name in dict.fromkeys(v for v in used if v not in judging.INPUT_VARIABLES):
            self.problem(
                where,
                f"{{{{{name}}}}}",
                allowed,
                f"{where} uses {{{{{name}}}}}, not an input variable of a model-as-a-judge custom metric"
                f"{did_you_mean(name, judging.INPUT_VARIABLES)}; the judge fills in {allowed}",
            )
            ok = False
        if judging.REQUIRED_VARIABLE not in used:
            self.problem(
                where,
                instructions[:80],
                f"instructions containing {{{{{judging.REQUIRED_VARIABLE}}}}}",
                f"{where} must contain {{{{{judging.REQUIRED_VARIABLE}}}}}, where the judge is shown the "
                f"answer it rates (it may also use {{{{prompt}}}} and {{{{ground_truth}}}})",
            )
            ok = False
        return ok

    def rating_scale(self, value: Any, where: str) -> tuple[tuple[str, float | str], ...] | None:
        allowed = f"a list of 1{DASH}{judging.MAX_RATING_SCALE} {{definition, value}}"
        if not isinstance(value, list) or not 1 <= len(value) <= judging.MAX_RATING_SCALE:
            self.problem(where, value, allowed, f"{where} must be {allowed} [BC]")
            return None
        items: list[tuple[str, float | str]] = []
        for index, item in enumerate(value):
            section = self.section(item, f"{where}[{index}]", RATING_KEYS)
            if section is None:
                return None
            definition, score = section.get("definition"), section.get("value")
            if not isinstance(definition, str) or not 1 <= len(definition) <= judging.MAX_RATING_DEFINITION:
                self.problem(
                    f"{where}[{index}].definition",
                    definition,
                    f"1{DASH}{judging.MAX_RATING_DEFINITION} characters",
                    f"a rating's definition is text of 1{DASH}{judging.MAX_RATING_DEFINITION} "
                    "characters [BC]",
                )
                return None
            if isinstance(score, bool) or not isinstance(score, int | float | str) or score == "":
                self.problem(
                    f"{where}[{index}].value",
                    score,
                    "a number or a string",
                    "a rating's value is a number (floatValue) or a string (stringValue)",
                )
                return None
            items.append((definition, float(score) if isinstance(score, int | float) else score))
        return tuple(items)

    def metric_bars(
        self, value: Any, names: Sequence[str], custom: Sequence[CustomMetric] = ()
    ) -> dict[str, MetricBar]:
        where = "evaluation.judge.bars"
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(
                where,
                value,
                "a mapping of metric name to {minScore, minImprovementOverBase}",
                "must be a mapping",
            )
            return {}
        bars: dict[str, MetricBar] = {}
        for name, bar in value.items():
            at = f"{where}.{name}"
            if name not in names:
                self.problem(
                    at,
                    name,
                    ", ".join(names),
                    f"{show(name)} is not a metric this judge scores"
                    f"{did_you_mean(str(name), names)}; judged: {', '.join(names)}",
                )
                continue
            if name in judging.LOWER_IS_BETTER:
                self.problem(
                    at,
                    name,
                    "a metric where higher is better",
                    f"{name} is higher when answers are worse; a minimum bar on it would reward that",
                )
                continue
            section = self.section(bar, at, BAR_KEYS)
            if section is None:
                continue
            # A built-in metric scores 0..1; a custom metric, in its own rating scale: its bars are too.
            scale = judging.BUILTIN_SCALE
            definition = next((m for m in custom if m.name == name), None)
            if definition is not None:
                found = judging.numeric_scale([{"value": v} for _, v in definition.rating_scale])
                if found is None:
                    self.problem(
                        at,
                        [v for _, v in definition.rating_scale],
                        "a rating scale of numbers",
                        f"{name} rates with strings; a bar needs a rating scale of numbers "
                        "(ratingScale[].value) to compare scores with",
                    )
                    continue
                scale = found
            width = scale[1] - scale[0]
            parsed = MetricBar(
                self.number(section.get("minScore"), f"{at}.minScore", scale[0], scale[1]),
                self.number(
                    section.get("minImprovementOverBase"), f"{at}.minImprovementOverBase", -width, width
                ),
            )
            if parsed.min_score is None and parsed.min_improvement_over_base is None:
                self.problem(
                    at, dict(section), "minScore and/or minImprovementOverBase", "a bar needs a number"
                )
                continue
            bars[str(name)] = parsed
        return bars

    def serving(self, value: Any, model: ModelInfo | None, region: str | None) -> Serving | None:
        """How the model is served; on-demand only where Bedrock deploys custom models of this base."""
        section = self.section(value, "serving", SERVING_KEYS)
        if section is None:
            return None
        allowed = " | ".join(SERVING_MODES)
        mode = section.get("mode")
        if mode not in SERVING_MODES:
            self.problem(
                "serving.mode",
                mode,
                allowed,
                f"serving.mode is required ({allowed})"
                if mode is None
                else f"serving.mode={show(mode)} is not one of {allowed}"
                f"{did_you_mean(str(mode), SERVING_MODES)}",
            )
            return None
        if mode != PROVISIONED:
            for key in ("modelUnits", "commitment"):
                if key in section:
                    self.problem(
                        f"serving.{key}",
                        section.get(key),
                        "only with mode: provisioned",
                        f"serving.{key} is only used with serving.mode=provisioned, not {mode}; remove it",
                    )
        if (
            mode == ON_DEMAND
            and model is not None
            and region is not None
            and not model.deploys_on_demand(region)
        ):
            where = ", ".join(model.on_demand_deployment_regions)
            self.problem(
                "serving.mode",
                mode,
                f"on-demand in {where}" if where else "provisioned or none",
                f"custom models of {model.model_id} cannot be deployed on demand in {region} "
                + (f"(only in {where}); " if where else "(Bedrock offers no on-demand deployment for them); ")
                + f"use serving.mode=provisioned or none ({ON_DEMAND_DEPLOYMENT_SOURCE})",
            )
            return None
        if mode != PROVISIONED:
            return Serving(str(mode))
        units = self.integer(section.get("modelUnits"), "serving.modelUnits", 1, None, required=True)
        commitment = section.get("commitment", "none")
        if commitment is None:
            commitment = "none"
        if commitment not in COMMITMENTS:
            self.problem(
                "serving.commitment",
                commitment,
                " | ".join(COMMITMENTS),
                f"serving.commitment={show(commitment)} is not one of {' | '.join(COMMITMENTS)}"
                f"{did_you_mean(str(commitment), COMMITMENTS)}",
            )
            return None
        return Serving(PROVISIONED, units, str(commitment)) if units is not None else None

    def approval(self, value: Any) -> Approval | None:
        section = self.section(value, "approval", APPROVAL_KEYS)
        if section is None:
            return None
        policy = section.get("policy")
        allowed = " | ".join(APPROVAL_POLICIES)
        if policy is None:
            self.problem(
                "approval.policy",
                None,
                allowed,
                f"approval.policy is required when 'approval' is given ({allowed})",
            )
            return None
        if policy not in APPROVAL_POLICIES:
            self.problem(
                "approval.policy",
                policy,
                allowed,
                f"approval.policy={show(policy)} is not one of "
                f"{allowed}{did_you_mean(str(policy), APPROVAL_POLICIES)}",
            )
            return None
        threshold = self.number(
            section.get("monthlyCostThreshold"), "approval.monthlyCostThreshold", 0.0, None
        )
        if policy == "above-cost" and section.get("monthlyCostThreshold") is None:
            self.problem(
                "approval.monthlyCostThreshold",
                None,
                "USD ≥ 0",
                "approval.policy=above-cost needs monthlyCostThreshold "
                "(USD per month above which a human approves)",
            )
        timeout = self.integer(section.get("timeoutHours"), "approval.timeoutHours", 1, 168)
        return Approval(str(policy), threshold, timeout if timeout is not None else DEFAULT_TIMEOUT_HOURS)

    def tags(self, value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(
                "tags", value, "a mapping key → value", f"tags must be a mapping, got {_kind(value)}"
            )
            return {}
        if len(value) > MAX_SPEC_TAGS:
            self.problem(
                "tags",
                len(value),
                f"at most {MAX_SPEC_TAGS}",
                f"{len(value)} tags given; at most {MAX_SPEC_TAGS}: Bedrock accepts {MAX_TAGS} per "
                f"resource and the pipeline adds up to {PIPELINE_TAGS} of its own",
            )
        tags: dict[str, str] = {}
        charset = "letters, digits, spaces and . _ : / = + @ -"
        for key, raw in value.items():
            where = f"tags.{key}"
            if not isinstance(key, str) or not 1 <= len(key) <= 128 or not TAG_RE.fullmatch(key):
                self.problem(
                    where,
                    key,
                    f"1{DASH}128 characters: {charset}",
                    f"tag key {show(key)} must be 1{DASH}128 characters of {charset}",
                )
                continue
            if key.lower().startswith(PIPELINE_TAG_PREFIX):
                self.problem(
                    where,
                    key,
                    f"a key not starting with {PIPELINE_TAG_PREFIX!r}",
                    f"tag key {show(key)} uses the pipeline's own prefix {PIPELINE_TAG_PREFIX!r} "
                    "(its tags name the run and the execution that created each resource); choose "
                    "another key",
                )
                continue
            text = str(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else raw
            if not isinstance(text, str) or len(text) > 256 or not TAG_RE.fullmatch(text):
                self.problem(
                    where,
                    raw,
                    f"0{DASH}256 characters: {charset}",
                    f"tag value {show(raw)} must be 0{DASH}256 characters of {charset}",
                )
                continue
            tags[key] = text
        return tags

    # ---- typed leaves -------------------------------------------------------------------------

    def section(self, value: Any, name: str, keys: Sequence[str]) -> Mapping[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.problem(
                name,
                value,
                f"a mapping with {', '.join(keys)}",
                f"{name} must be a mapping, got {_kind(value)}",
            )
            return None
        self.unknown_keys(value, keys, name)
        return value

    def integer(
        self, value: Any, field_name: str, low: int | None, high: int | None, *, required: bool = False
    ) -> int | None:
        allowed = _range(low, high)
        if value is None:
            if required:
                self.problem(field_name, None, allowed, f"{field_name} is required ({allowed})")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(
                field_name, value, allowed, f"{field_name}={show(value)} must be an integer ({allowed})"
            )
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            self.problem(field_name, value, allowed, f"{field_name}={value} is out of range {allowed}")
            return None
        return value

    def number(
        self,
        value: Any,
        field_name: str,
        low: float | None,
        high: float | None,
        *,
        exclusive_min: bool = False,
    ) -> float | None:
        allowed = f"> {low:g}" if exclusive_min and high is None and low is not None else _range(low, high)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.problem(
                field_name, value, allowed, f"{field_name}={show(value)} must be a number ({allowed})"
            )
            return None
        too_low = low is not None and (value <= low if exclusive_min else value < low)
        if too_low or (high is not None and value > high):
            self.problem(field_name, value, allowed, f"{field_name}={value} is out of range {allowed}")
            return None
        return float(value)


def _has_bar(evaluation: Evaluation | None) -> bool:
    return evaluation is not None and (
        evaluation.min_quality is not None or evaluation.min_improvement_over_base is not None
    )


def _range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g}{DASH}{high:g}"
    if low is not None:
        return f"≥ {low:g}"
    if high is not None:
        return f"≤ {high:g}"
    return "any"


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------


def load_run_spec_data(path: str | Path) -> Any:
    """Read a spec file as plain data (YAML for .yaml/.yml, JSON otherwise); syntax errors → RunSpecError.

    Duplicate keys are errors: YAML and JSON parsers otherwise keep the last one silently.
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunSpecError(
            [Problem("", source, "an existing file", f"run spec file {source} does not exist")], source
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RunSpecError(
            [Problem("", source, "a readable UTF-8 file", f"cannot read {source}: {exc}")], source
        ) from exc
    if path.suffix.lower() in (".yaml", ".yml"):
        return _load_yaml(text, source)
    return _load_json(text, source)


def load_run_spec(path: str | Path) -> RunSpec:
    """Load and validate a spec file; relative dataset paths are relative to the file's folder."""
    path = Path(path)
    data = load_run_spec_data(path)
    parsed = parse_run_spec(data, base_dir=path.resolve().parent)
    if parsed.spec is None:
        raise RunSpecError(parsed.problems, str(path))
    return parsed.spec


class _DuplicateKeyError(ValueError):
    pass


def _load_json(text: str, source: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise _DuplicateKeyError(f"duplicate key {key!r}")
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except _DuplicateKeyError as exc:
        raise RunSpecError(
            [Problem("", source, "unique keys", f"{source} is not valid: {exc}")], source
        ) from exc
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} (column {exc.colno})"
        raise RunSpecError([Problem("", source, "valid JSON", message, exc.lineno)], source) from exc


def _load_yaml(text: str, source: str) -> Any:
    import yaml  # deferred: the Lambda runtime has no PyYAML and never reads YAML

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    mark = key_node.start_mark
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        detail = getattr(exc, "problem", None) or str(exc)
        column = f" (column {mark.column + 1})" if mark is not None else ""
        line = mark.line + 1 if mark is not None else None
        raise RunSpecError(
            [Problem("", source, "valid YAML", f"not valid YAML: {detail}{column}", line)], source
        ) from exc
