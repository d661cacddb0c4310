"""The run-spec parser: the top-level keys of a spec (name, region, base model, customization type,
hyperparameters, a distillation's teacher) and the order in which every section is read.

Each section has its parser in a module of its own (:mod:`.datasets`, :mod:`.evaluation` with the
judge, :mod:`.grader`, :mod:`.serving`, :mod:`.approval`, :mod:`.tags`); all of them write their
problems into one :class:`~pipeline.runspec.fields.Fields`, so one ``check`` shows them all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pipeline.catalog import (
    CUSTOMIZATION_TYPES,
    DISTILLATION,
    NEW_CUSTOMIZATION,
    ModelInfo,
    UnknownModelError,
    check_teacher,
    get_model,
    lifecycle_problems,
)
from pipeline.problems import DASH, Problem, did_you_mean, show
from pipeline.runspec.approval import parse_approval
from pipeline.runspec.datasets import parse_location, parse_validation
from pipeline.runspec.evaluation import parse_evaluation
from pipeline.runspec.fields import Fields, kind
from pipeline.runspec.grader import parse_grader
from pipeline.runspec.model import DEFAULT_MAX_PROMPTS, RunSpec, Serving
from pipeline.runspec.serving import check_champion_bar, check_serving_needs, parse_serving
from pipeline.runspec.tags import parse_tags

# customModelName forbids consecutive separators and evaluation jobName forbids a trailing hyphen
# [BC]; names derived from the run name must satisfy both.
NAME_RE: Final = re.compile(r"[a-z](?:[a-z0-9]|-(?=[a-z0-9])){2,39}")
REGION_RE: Final = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-\d")

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
    base = None if base_dir is None else str(base_dir)
    fields = Fields(require_s3=require_s3)
    if not isinstance(data, Mapping):
        fields.problem(
            "", data, "a mapping of run spec keys", f"a run spec must be a mapping, got {kind(data)}"
        )
        return ParsedRunSpec(None, fields.problems)
    fields.unknown_keys(data, TOP_LEVEL_KEYS, "")
    name = parse_name(fields, data.get("name"))
    region = parse_region(fields, data.get("region"))
    model = parse_model(fields, data.get("baseModel"))
    ctype = parse_customization_type(fields, data.get("customizationType"), model)
    if model is not None:  # Legacy and end-of-life bases take no new job (as of catalog.today_utc())
        fields.problems += lifecycle_problems(model, purpose=NEW_CUSTOMIZATION, customization_type=ctype)
    if model is not None and region is not None and region not in model.regions:
        fields.problem(
            "region",
            region,
            ", ".join(model.regions),
            f"{model.model_id} cannot be customized in {region}; it is offered in {', '.join(model.regions)}",
        )
    training = parse_location(fields, data.get("training"), "training", required=True)
    validation = parse_validation(fields, data.get("validation"), model, ctype)
    hyper_parameters = parse_hyper_parameters(fields, data.get("hyperParameters"), model, ctype)
    teacher = parse_teacher(fields, data.get("teacher"), model, ctype, region)
    max_response = parse_max_response_length(fields, data.get("maxResponseLengthForInference"), ctype)
    grader = parse_grader(fields, data.get("grader"), ctype, region)
    # "given", not "valid": a bad validation location is reported once, not again here
    evaluation = parse_evaluation(
        fields, data.get("evaluation"), data.get("validation") not in (None, []), ctype, region
    )
    serving = parse_serving(fields, data.get("serving"), model, region)
    approval = parse_approval(fields, data.get("approval"))
    tags = parse_tags(fields, data.get("tags"))
    check_serving_needs(fields, serving, approval, evaluation)
    check_champion_bar(fields, serving, evaluation)

    spec = None
    if not fields.problems:
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
            base_dir=base,
        )
    return ParsedRunSpec(
        spec=spec,
        problems=fields.problems,
        model=model,
        customization_type=ctype,
        region=region,
        training=training,
        validation=validation,
        prompts=evaluation.prompts if evaluation else None,
        max_prompts=evaluation.max_prompts if evaluation else DEFAULT_MAX_PROMPTS,
        hyper_parameters=hyper_parameters,
        base_dir=base,
    )


def parse_name(fields: Fields, value: Any) -> str | None:
    allowed = (
        f"3{DASH}40 lowercase letters, digits and single hyphens, starting with a letter, not ending in '-'"
    )
    if value is None:
        fields.problem("name", None, allowed, f"name is required ({allowed})")
        return None
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        fields.problem("name", value, allowed, f"name={show(value)} is not a valid run name; use {allowed}")
        return None
    return value


def parse_region(fields: Fields, value: Any) -> str | None:
    if value is None:
        fields.problem("region", None, "an AWS region, e.g. us-east-1", "region is required, e.g. us-east-1")
        return None
    if not isinstance(value, str) or not REGION_RE.fullmatch(value):
        fields.problem(
            "region", value, "an AWS region, e.g. us-east-1", f"region={show(value)} is not an AWS region"
        )
        return None
    return value


def parse_model(fields: Fields, value: Any) -> ModelInfo | None:
    if value is None:
        fields.problem(
            "baseModel",
            None,
            "a catalog model id",
            "baseModel is required, e.g. amazon.nova-micro-v1:0:128k",
        )
        return None
    if not isinstance(value, str):
        fields.problem(
            "baseModel", value, "a catalog model id", f"baseModel must be a string, got {kind(value)}"
        )
        return None
    try:
        return get_model(value)
    except UnknownModelError as exc:
        fields.problem("baseModel", value, "a catalog model id", str(exc))
        return None


def parse_customization_type(fields: Fields, value: Any, model: ModelInfo | None) -> str | None:
    allowed = " | ".join(CUSTOMIZATION_TYPES)
    if value is None:
        fields.problem("customizationType", None, allowed, f"customizationType is required ({allowed})")
        return None
    if value not in CUSTOMIZATION_TYPES:
        fields.problem(
            "customizationType",
            value,
            allowed,
            f"customizationType={show(value)} is not one of "
            f"{allowed}{did_you_mean(str(value), CUSTOMIZATION_TYPES)}",
        )
        return None
    if model is not None and not model.supports(value):
        fields.problem(
            "customizationType",
            value,
            ", ".join(model.customization_types),
            model.unsupported_message(value),
        )
        return None
    return str(value)


def parse_hyper_parameters(
    fields: Fields, value: Any, model: ModelInfo | None, ctype: str | None
) -> dict[str, str]:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        fields.problem(
            "hyperParameters",
            value,
            "a mapping name → value",
            f"hyperParameters must be a mapping, got {kind(value)}",
        )
        return {}
    if model is None or ctype is None:
        return {}
    normalized, problems = model.check_hyperparameters(value, ctype)
    fields.problems.extend(problems)
    return normalized


def parse_teacher(
    fields: Fields, value: Any, model: ModelInfo | None, ctype: str | None, region: str | None
) -> str | None:
    if ctype != DISTILLATION:
        if value is not None:
            fields.problem(
                "teacher",
                value,
                "only with DISTILLATION",
                f"teacher is only used with DISTILLATION, not {ctype}; remove it",
            )
        return None
    allowed = ", ".join(model.distillation_teachers) if model else "a teacher model id"
    if value is None:
        fields.problem("teacher", None, allowed, f"DISTILLATION needs a teacher; allowed: {allowed}")
        return None
    if not isinstance(value, str):
        fields.problem("teacher", value, allowed, f"teacher must be a model id string, got {kind(value)}")
        return None
    if model is not None and region is not None:
        fields.problems.extend(check_teacher(value, model, region))
    return value


def parse_max_response_length(fields: Fields, value: Any, ctype: str | None) -> int | None:
    if value is None:
        return None
    if ctype != DISTILLATION:
        fields.problem(
            "maxResponseLengthForInference",
            value,
            "only with DISTILLATION",
            "maxResponseLengthForInference is only used with DISTILLATION; remove it",
        )
        return None
    return fields.integer(value, "maxResponseLengthForInference", 1, None)
