"""What a run will cost, before it starts: the plan's ``estimate`` (and the CLI's ``estimate``,
``check`` and approval requests read the same numbers).

Each part is None when a price is unknown, never 0: training (tokens x epochs), the evaluation (on
demand per token, or the evaluation throughput's hours; with the teacher's answers where it answers
for the references), the LLM judge's tokens (one job per model it judges), serving throughput (hourly,
monthly, the commitment term) and custom model storage, each with its basis and the dated prices it
used (pipeline.costs).
"""

from __future__ import annotations

from typing import Any

from pipeline import costs
from pipeline import judge as judging
from pipeline.catalog import judge_of, model_invoked_as, parse_teacher
from pipeline.runspec import DEFAULT_MAX_PROMPTS, DEPLOYMENT_VEHICLE, THROUGHPUT_VEHICLE, RunSpec
from pipeline.runspec.model import REFERENCES_TEACHER


def estimate(
    spec: RunSpec, estimated_tokens: int | None, epochs: int | None, *, champion: bool | None = None
) -> dict[str, Any]:
    """Costs of the run, each None when a price is unknown (never 0).

    ``champion``: whether the run's slot has a champion the judge judges too (a third job); None
    where that is not known (the CLI, before the preflight reads the slot): counted whenever the
    spec names a slot, so the estimate is never below what the run spends.
    """
    model = spec.model
    training = costs.training_cost(model, estimated_tokens, epochs) if estimated_tokens is not None else None
    serving = spec.serving
    hourly = monthly = term = None
    if serving.buys_throughput and serving.model_units is not None:
        hourly = costs.pt_hourly_cost(model, serving.model_units, serving.commitment)
        monthly = costs.pt_monthly_cost(model, serving.model_units, serving.commitment)
        term = costs.pt_commitment_cost(model, serving.model_units, serving.commitment)
    storage = costs.storage_monthly_cost(model)
    vehicle = spec.evaluation_vehicle
    max_prompts = spec.evaluation.max_prompts if spec.evaluation else DEFAULT_MAX_PROMPTS
    evaluation: costs.CostEstimate | None = None
    if vehicle == DEPLOYMENT_VEHICLE:
        evaluation = costs.on_demand_evaluation_cost(model, max_prompts)
    elif vehicle == THROUGHPUT_VEHICLE and not spec.serving_reuses_evaluation_throughput:
        evaluation = costs.evaluation_throughput_cost(model)
    if spec.evaluation is not None and spec.evaluation.references == REFERENCES_TEACHER:
        # The teacher's answers are part of the evaluation's bill; unknown if either part is.
        teacher = _teacher_cost(spec, max_prompts)
        if teacher is None:
            evaluation = None
        elif evaluation is not None:
            evaluation = costs.CostEstimate(
                evaluation.usd + teacher.usd,
                f"{evaluation.basis}; and {teacher.basis}",
                evaluation.prices + teacher.prices,
            )
        elif spec.serving_reuses_evaluation_throughput:
            evaluation = teacher  # the throughput is counted as serving; the teacher is the evaluation's
    judge: costs.CostEstimate | None = None
    if spec.judge is not None:
        metrics = len(spec.judge.metrics) + len(spec.judge.custom_metrics)
        judged = champion if champion is not None else spec.serving.slot is not None
        judge = costs.judge_cost(
            judge_of(spec.judge.model),
            min(max_prompts, judging.MAX_PROMPTS),
            metrics,
            models=len(judging.MODELS) + (1 if judged else 0),
        )
    return {
        "evaluationVehicle": vehicle,
        "servingMode": serving.mode,
        "evaluationUsd": _usd(evaluation),
        # Only with a judge (None there means unknown): without one the key is left out.
        **({"judgeUsd": _usd(judge)} if spec.judge is not None else {}),
        "trainingUsd": _usd(training),
        "throughputHourlyUsd": _usd(hourly),
        "throughputMonthlyUsd": _usd(monthly),
        "commitmentTermUsd": _usd(term),
        "storageMonthlyUsd": _usd(storage),
        "basis": {
            name: str(item)
            for name, item in (
                ("evaluation", evaluation),
                ("judge", judge),
                ("training", training),
                ("throughputHourly", hourly),
                ("throughputMonthly", monthly),
                ("commitmentTerm", term),
                ("storageMonthly", storage),
            )
            if item is not None
        },
    }


def _teacher_cost(spec: RunSpec, prompts: int) -> costs.CostEstimate | None:
    if spec.teacher is None:
        return None
    model_id = parse_teacher(spec.teacher).model_id
    invoked = model_invoked_as(model_id)
    sheet = invoked.prices if invoked is not None else getattr(judge_of(model_id), "prices", None)
    return costs.teacher_reference_cost(model_id, sheet, prompts)


def _usd(item: costs.CostEstimate | None) -> float | None:
    return round(item.usd, 4) if item is not None else None
