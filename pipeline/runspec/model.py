"""The run spec's model: the typed, validated sections of one customization run and what they mean.

Built only by the parser (:mod:`pipeline.runspec.parse`), which checks every field before it builds
one; the constants here are the values the sections take and the rest of the pipeline reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from pipeline import judge as judging
from pipeline.catalog import DEFAULT_JUDGE, FINE_TUNING, ModelInfo, get_model
from pipeline.problems import Problem

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
DEFAULT_TIMEOUT_HOURS: Final = 24


# evaluation.references: the prompts' own reference answers, or the distillation teacher's answers.
REFERENCES_DATASET: Final = "dataset"
REFERENCES_TEACHER: Final = "teacher"
REFERENCES: Final = (REFERENCES_DATASET, REFERENCES_TEACHER)


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
    # With serving.slot: how much better than the slot's champion the judge must score the run's
    # model on this metric (None: not worse, 0.0, once there is a champion; see pipeline.plan).
    min_improvement_over_champion: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "minScore": self.min_score,
            "minImprovementOverBase": self.min_improvement_over_base,
            # Left out when unset, so the spec hash (and run id) of every other spec stays.
            **(
                {"minImprovementOverChampion": self.min_improvement_over_champion}
                if self.min_improvement_over_champion is not None
                else {}
            ),
        }


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
    # With serving.slot: how much better than the champion serving in the slot the run must be to
    # replace it (None: not worse, 0.0, once there is a champion).
    min_improvement_over_champion: float | None = None
    # Where the reference answers come from: the prompts file ("dataset"), or, for distillation,
    # the teacher's answers to the prompts ("teacher": pipeline.evaluation asks it first).
    references: str = "dataset"

    def to_dict(self) -> dict[str, Any]:
        return {
            "maxTrainingLoss": self.max_training_loss,
            "maxValidationLoss": self.max_validation_loss,
            "prompts": self.prompts,
            "maxPrompts": self.max_prompts,
            "minQuality": self.min_quality,
            "minImprovementOverBase": self.min_improvement_over_base,
            # Left out when unset, so the spec hash (and run id) of every other spec stays.
            **(
                {"minImprovementOverChampion": self.min_improvement_over_champion}
                if self.min_improvement_over_champion is not None
                else {}
            ),
            # Left out without a judge, so the spec hash (and run id) of every other spec stays.
            **({"judge": self.judge.to_dict()} if self.judge is not None else {}),
            # Left out for the default, so the spec hash (and run id) of every other spec stays.
            **({"references": self.references} if self.references != REFERENCES_DATASET else {}),
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
    # A serving slot (pipeline.slots): one endpoint that keeps its ARN across promotions.
    slot: str | None = None

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
        slot = {"slot": self.slot} if self.slot is not None else {}
        if self.mode != PROVISIONED:
            return {"mode": self.mode, **slot}
        return {"mode": self.mode, "modelUnits": self.model_units, "commitment": self.commitment, **slot}


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
        return has_quality_bar(self.evaluation)

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
        from pipeline.runspec.parse import parse_run_spec  # the parser builds this model: import late

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


def has_quality_bar(evaluation: Evaluation | None) -> bool:
    """A bar the custom model is measured against (minQuality or minImprovementOverBase) is set."""
    return evaluation is not None and (
        evaluation.min_quality is not None or evaluation.min_improvement_over_base is not None
    )
