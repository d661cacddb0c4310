"""``evaluation``: the bar a custom model must clear before anything is bought for it (loss bars,
evaluation prompts, quality bars) and its opt-in LLM ``judge`` (model, built-in and custom
metrics, bars per metric)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pipeline import judge as judging
from pipeline.catalog import DEFAULT_JUDGE, DISTILLATION, FINE_TUNING, REINFORCEMENT_FINE_TUNING, check_judge
from pipeline.problems import DASH, did_you_mean, show
from pipeline.runspec.datasets import parse_location
from pipeline.runspec.fields import Fields
from pipeline.runspec.model import (
    DEFAULT_MAX_PROMPTS,
    REFERENCES,
    REFERENCES_DATASET,
    REFERENCES_TEACHER,
    CustomMetric,
    Evaluation,
    Judge,
    MetricBar,
)

MAX_PROMPTS_LIMIT: Final = 1000  # at most 1,000 prompts per custom evaluation dataset [UG]
EVALUATION_KEYS: Final = (
    "maxTrainingLoss",
    "maxValidationLoss",
    "prompts",
    "maxPrompts",
    "minQuality",
    "minImprovementOverBase",
    "minImprovementOverChampion",
    "judge",
    "references",
)
JUDGE_KEYS: Final = ("model", "metrics", "customMetrics", "bars")
CUSTOM_METRIC_KEYS: Final = ("name", "instructions", "ratingScale")
RATING_KEYS: Final = ("definition", "value")
BAR_KEYS: Final = ("minScore", "minImprovementOverBase", "minImprovementOverChampion")
METRIC_NAME_RE: Final = re.compile(judging.METRIC_NAME_PATTERN)


def parse_evaluation(
    fields: Fields, value: Any, has_validation: bool, ctype: str | None, region: str | None = None
) -> Evaluation | None:
    section = fields.section(value, "evaluation", EVALUATION_KEYS)
    if section is None:
        return None
    prompts = parse_location(fields, section.get("prompts"), "evaluation.prompts")
    max_prompts_given = section.get("maxPrompts")
    max_prompts = fields.integer(max_prompts_given, "evaluation.maxPrompts", 1, MAX_PROMPTS_LIMIT)
    evaluation = Evaluation(
        max_training_loss=fields.number(
            section.get("maxTrainingLoss"), "evaluation.maxTrainingLoss", 0.0, None, exclusive_min=True
        ),
        max_validation_loss=fields.number(
            section.get("maxValidationLoss"),
            "evaluation.maxValidationLoss",
            0.0,
            None,
            exclusive_min=True,
        ),
        prompts=prompts,
        max_prompts=max_prompts if max_prompts is not None else DEFAULT_MAX_PROMPTS,
        min_quality=fields.number(section.get("minQuality"), "evaluation.minQuality", 0.0, 1.0),
        min_improvement_over_base=fields.number(
            section.get("minImprovementOverBase"), "evaluation.minImprovementOverBase", -1.0, 1.0
        ),
        judge=parse_judge(fields, section.get("judge"), region),
        min_improvement_over_champion=fields.number(
            section.get("minImprovementOverChampion"), "evaluation.minImprovementOverChampion", -1.0, 1.0
        ),
        references=_references(fields, section, ctype),
    )
    if ctype == REINFORCEMENT_FINE_TUNING and evaluation.max_training_loss is not None:
        fields.problem(
            "evaluation.maxTrainingLoss",
            evaluation.max_training_loss,
            "no loss bar for reinforcement fine-tuning",
            "maxTrainingLoss cannot gate reinforcement fine-tuning: its loss is a policy-gradient "
            "loss that says nothing against a fixed bar (and whether Bedrock reports it is "
            "UNCONFIRMED); gate on the evaluation instead (evaluation.prompts with minQuality)",
        )
    if evaluation.max_validation_loss is not None and not has_validation:
        fields.problem(
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
                fields.problem(
                    f"evaluation.{key}",
                    section.get(key),
                    "evaluation.prompts",
                    f"evaluation.{key} needs evaluation.prompts (prompt + reference answers to measure "
                    f"it on; only fine-tuning validation data can stand in for them); add them or "
                    f"remove {key}",
                )
    return evaluation


def _references(fields: Fields, section: Mapping[str, Any], ctype: str | None) -> str:
    """``teacher``: the distillation teacher answers each prompt first and its answer is the reference
    (a verdict without hand-written references); only for distillation, and only on held-out prompts."""
    value = section.get("references", REFERENCES_DATASET)
    allowed = " | ".join(REFERENCES)
    if value not in REFERENCES:
        fields.problem(
            "evaluation.references",
            value,
            allowed,
            f"evaluation.references={show(value)} is not one of {allowed}"
            + did_you_mean(str(value), REFERENCES),
        )
        return REFERENCES_DATASET
    if value == REFERENCES_TEACHER and ctype != DISTILLATION:
        fields.problem(
            "evaluation.references",
            value,
            REFERENCES_DATASET,
            "evaluation.references=teacher takes the distillation teacher's answers as references; this run "
            f"is {ctype or 'of no customization type'}, which has no teacher",
        )
        return REFERENCES_DATASET
    if value == REFERENCES_TEACHER and section.get("prompts") is None:
        fields.problem(
            "evaluation.references",
            value,
            "evaluation.prompts",
            'evaluation.references=teacher needs evaluation.prompts (JSONL of {"prompt"}, held out from '
            "the training prompts: on those the student learned the teacher's very answers)",
        )
    return str(value)


def parse_judge(fields: Fields, value: Any, region: str | None) -> Judge | None:
    """``evaluation.judge``: the judge model, its metrics and the bars per metric."""
    section = fields.section(value, "evaluation.judge", JUDGE_KEYS)
    if section is None:
        return None
    model = section.get("model", DEFAULT_JUDGE)
    metrics_given = section.get("metrics")
    metrics: tuple[str, ...] = judging.DEFAULT_METRICS if metrics_given is None else ()
    builtins = ", ".join(judging.BUILTIN_METRICS)
    if metrics_given is not None:
        if not isinstance(metrics_given, list) or not all(isinstance(m, str) for m in metrics_given):
            fields.problem(
                "evaluation.judge.metrics",
                metrics_given,
                builtins,
                "evaluation.judge.metrics must be a list",
            )
        else:
            for name in metrics_given:
                if name not in judging.BUILTIN_METRICS:
                    fields.problem(
                        "evaluation.judge.metrics",
                        name,
                        builtins,
                        f"{show(name)} is not a built-in judge metric"
                        f"{did_you_mean(name, judging.BUILTIN_METRICS)}; define it under customMetrics",
                    )
            if len(set(metrics_given)) != len(metrics_given):
                fields.problem(
                    "evaluation.judge.metrics",
                    metrics_given,
                    "distinct names",
                    "a metric is listed twice",
                )
            metrics = tuple(m for m in metrics_given if m in judging.BUILTIN_METRICS)
    custom = parse_custom_metrics(fields, section.get("customMetrics"))
    names = [*metrics, *(m.name for m in custom)]
    if not names:
        fields.problem(
            "evaluation.judge.metrics", metrics_given, builtins, "the judge needs at least one metric"
        )
    if len(names) > judging.MAX_METRIC_NAMES:
        fields.problem(
            "evaluation.judge.metrics",
            len(names),
            f"≤ {judging.MAX_METRIC_NAMES}",
            f"an evaluation job scores at most {judging.MAX_METRIC_NAMES} metrics",
        )
    if len(set(names)) != len(names):
        fields.problem(
            "evaluation.judge.customMetrics", names, "distinct names", "metric names must be distinct"
        )
    if not isinstance(model, str):
        fields.problem("evaluation.judge.model", model, "a judge model id", "must be a string")
    else:
        fields.problems += check_judge(
            model, region, builtin_metrics=bool(metrics), custom_metrics=bool(custom)
        )
    bars = parse_metric_bars(fields, section.get("bars"), names, custom)
    if not isinstance(model, str):
        return None
    return Judge(model=model, metrics=metrics, custom_metrics=custom, bars=bars)


def parse_custom_metrics(fields: Fields, value: Any) -> tuple[CustomMetric, ...]:
    where = "evaluation.judge.customMetrics"
    # An empty list is what Judge.to_dict() writes for "none", and the preflight reads that back: the
    # 1..10 of the API [BC] is for a customMetricConfig, which the job request leaves out then.
    if value is None or value == []:
        return ()
    if not isinstance(value, list) or not 1 <= len(value) <= judging.MAX_CUSTOM_METRICS:
        fields.problem(
            where,
            value,
            f"a list of 1{DASH}{judging.MAX_CUSTOM_METRICS}",
            f"{where} must be a list of 1{DASH}{judging.MAX_CUSTOM_METRICS} metric definitions [BC]",
        )
        return ()
    out: list[CustomMetric] = []
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        section = fields.section(item, at, CUSTOM_METRIC_KEYS)
        if section is None:
            continue
        name, instructions, scale = (
            section.get("name"),
            section.get("instructions"),
            section.get("ratingScale"),
        )
        ok = True
        if not isinstance(name, str) or METRIC_NAME_RE.fullmatch(name) is None or name.startswith("Builtin."):
            fields.problem(
                f"{at}.name",
                name,
                judging.METRIC_NAME_PATTERN,
                f"{at}.name={show(name)} must be 1{DASH}63 of [0-9a-zA-Z-_.], "
                "not starting with Builtin. [BC]",
            )
            ok = False
        if not isinstance(instructions, str) or not 1 <= len(instructions) <= judging.MAX_INSTRUCTIONS:
            fields.problem(
                f"{at}.instructions",
                instructions,
                f"1{DASH}{judging.MAX_INSTRUCTIONS} characters",
                f"{at}.instructions must be text of 1{DASH}{judging.MAX_INSTRUCTIONS} characters [BC]",
            )
            ok = False
        if ok and isinstance(instructions, str):
            ok = check_instruction_variables(fields, instructions, f"{at}.instructions")
        rating = parse_rating_scale(fields, scale, f"{at}.ratingScale")
        if ok and rating is not None:
            assert isinstance(name, str) and isinstance(instructions, str)
            out.append(CustomMetric(name, instructions, rating))
    return tuple(out)


def check_instruction_variables(fields: Fields, instructions: str, where: str) -> bool:
    """A custom metric's instructions show the judge the answer (``{{prediction}}``) and use only
    the documented input variables [UG:model-evaluation-custom-metrics-prompt-formats]."""
    used = judging.instruction_variables(instructions)
    allowed = ", ".join(f"{{{{{v}}}}}" for v in judging.INPUT_VARIABLES)
    ok = True
    for name in dict.fromkeys(v for v in used if v not in judging.INPUT_VARIABLES):
        fields.problem(
            where,
            f"{{{{{name}}}}}",
            allowed,
            f"{where} uses {{{{{name}}}}}, not an input variable of a model-as-a-judge custom metric"
            f"{did_you_mean(name, judging.INPUT_VARIABLES)}; the judge fills in {allowed}",
        )
        ok = False
    if judging.REQUIRED_VARIABLE not in used:
        fields.problem(
            where,
            instructions[:80],
            f"instructions containing {{{{{judging.REQUIRED_VARIABLE}}}}}",
            f"{where} must contain {{{{{judging.REQUIRED_VARIABLE}}}}}, where the judge is shown the "
            f"answer it rates (it may also use {{{{prompt}}}} and {{{{ground_truth}}}})",
        )
        ok = False
    return ok


def parse_rating_scale(fields: Fields, value: Any, where: str) -> tuple[tuple[str, float | str], ...] | None:
    allowed = f"a list of 1{DASH}{judging.MAX_RATING_SCALE} {{definition, value}}"
    if not isinstance(value, list) or not 1 <= len(value) <= judging.MAX_RATING_SCALE:
        fields.problem(where, value, allowed, f"{where} must be {allowed} [BC]")
        return None
    items: list[tuple[str, float | str]] = []
    for index, item in enumerate(value):
        section = fields.section(item, f"{where}[{index}]", RATING_KEYS)
        if section is None:
            return None
        definition, score = section.get("definition"), section.get("value")
        if not isinstance(definition, str) or not 1 <= len(definition) <= judging.MAX_RATING_DEFINITION:
            fields.problem(
                f"{where}[{index}].definition",
                definition,
                f"1{DASH}{judging.MAX_RATING_DEFINITION} characters",
                f"a rating's definition is text of 1{DASH}{judging.MAX_RATING_DEFINITION} characters [BC]",
            )
            return None
        if isinstance(score, bool) or not isinstance(score, int | float | str) or score == "":
            fields.problem(
                f"{where}[{index}].value",
                score,
                "a number or a string",
                "a rating's value is a number (floatValue) or a string (stringValue)",
            )
            return None
        items.append((definition, float(score) if isinstance(score, int | float) else score))
    return tuple(items)


def parse_metric_bars(
    fields: Fields, value: Any, names: Sequence[str], custom: Sequence[CustomMetric] = ()
) -> dict[str, MetricBar]:
    where = "evaluation.judge.bars"
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        fields.problem(
            where,
            value,
            "a mapping of metric name to {minScore, minImprovementOverBase, minImprovementOverChampion}",
            "must be a mapping",
        )
        return {}
    bars: dict[str, MetricBar] = {}
    for name, bar in value.items():
        at = f"{where}.{name}"
        if name not in names:
            fields.problem(
                at,
                name,
                ", ".join(names),
                f"{show(name)} is not a metric this judge scores"
                f"{did_you_mean(str(name), names)}; judged: {', '.join(names)}",
            )
            continue
        if name in judging.LOWER_IS_BETTER:
            fields.problem(
                at,
                name,
                "a metric where higher is better",
                f"{name} is higher when answers are worse; a minimum bar on it would reward that",
            )
            continue
        section = fields.section(bar, at, BAR_KEYS)
        if section is None:
            continue
        # A built-in metric scores 0..1; a custom metric, in its own rating scale: its bars are too.
        scale = judging.BUILTIN_SCALE
        definition = next((m for m in custom if m.name == name), None)
        if definition is not None:
            found = judging.numeric_scale([{"value": v} for _, v in definition.rating_scale])
            if found is None:
                fields.problem(
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
            fields.number(section.get("minScore"), f"{at}.minScore", scale[0], scale[1]),
            fields.number(
                section.get("minImprovementOverBase"), f"{at}.minImprovementOverBase", -width, width
            ),
            fields.number(
                section.get("minImprovementOverChampion"), f"{at}.minImprovementOverChampion", -width, width
            ),
        )
        if all(
            value is None
            for value in (
                parsed.min_score,
                parsed.min_improvement_over_base,
                parsed.min_improvement_over_champion,
            )
        ):
            fields.problem(
                at,
                dict(section),
                "minScore, minImprovementOverBase and/or minImprovementOverChampion",
                "a bar needs a number",
            )
            continue
        bars[str(name)] = parsed
    return bars
