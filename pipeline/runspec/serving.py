"""``serving``: how the custom model is served once it passed (on demand, on Provisioned Throughput
bought for it, or not at all), and what serving asks of the other sections: a commitment needs a
human approval, a purchase needs a quality verdict."""

from __future__ import annotations

from typing import Any, Final

from pipeline import slots
from pipeline.catalog import ON_DEMAND_DEPLOYMENT_SOURCE, ModelInfo
from pipeline.problems import did_you_mean, show
from pipeline.runspec.fields import Fields
from pipeline.runspec.model import (
    COMMITMENTS,
    NOT_SERVED,
    ON_DEMAND,
    PROVISIONED,
    SERVING_MODES,
    Approval,
    Evaluation,
    Serving,
    has_quality_bar,
)

SERVING_KEYS: Final = ("mode", "modelUnits", "commitment", "slot")
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


def parse_serving(fields: Fields, value: Any, model: ModelInfo | None, region: str | None) -> Serving | None:
    """How the model is served; on-demand only where Bedrock deploys custom models of this base."""
    section = fields.section(value, "serving", SERVING_KEYS)
    if section is None:
        return None
    allowed = " | ".join(SERVING_MODES)
    mode = section.get("mode")
    if mode not in SERVING_MODES:
        fields.problem(
            "serving.mode",
            mode,
            allowed,
            f"serving.mode is required ({allowed})"
            if mode is None
            else f"serving.mode={show(mode)} is not one of {allowed}{did_you_mean(str(mode), SERVING_MODES)}",
        )
        return None
    if mode != PROVISIONED:
        for key in ("modelUnits", "commitment"):
            if key in section:
                fields.problem(
                    f"serving.{key}",
                    section.get(key),
                    "only with mode: provisioned",
                    f"serving.{key} is only used with serving.mode=provisioned, not {mode}; remove it",
                )
    if mode == ON_DEMAND and model is not None and region is not None and not model.deploys_on_demand(region):
        where = ", ".join(model.on_demand_deployment_regions)
        fields.problem(
            "serving.mode",
            mode,
            f"on-demand in {where}" if where else "provisioned or none",
            f"custom models of {model.model_id} cannot be deployed on demand in {region} "
            + (f"(only in {where}); " if where else "(Bedrock offers no on-demand deployment for them); ")
            + f"use serving.mode=provisioned or none ({ON_DEMAND_DEPLOYMENT_SOURCE})",
        )
        return None
    slot = section.get("slot")
    if slot is not None:
        problem = slots.slot_name_problem(slot)
        if mode == NOT_SERVED:
            fields.problem(
                "serving.slot",
                slot,
                "with mode: on-demand or provisioned",
                "serving.slot promotes the model into a serving slot; serving.mode=none serves nothing",
            )
        elif problem is not None:
            fields.problem("serving.slot", slot, slots.SLOT_NAME_RULE, problem)
    if mode != PROVISIONED:
        return Serving(str(mode), slot=slot if isinstance(slot, str) else None)
    units = fields.integer(section.get("modelUnits"), "serving.modelUnits", 1, None, required=True)
    commitment = section.get("commitment", "none")
    if commitment is None:
        commitment = "none"
    if commitment not in COMMITMENTS:
        fields.problem(
            "serving.commitment",
            commitment,
            " | ".join(COMMITMENTS),
            f"serving.commitment={show(commitment)} is not one of {' | '.join(COMMITMENTS)}"
            f"{did_you_mean(str(commitment), COMMITMENTS)}",
        )
        return None
    return (
        Serving(PROVISIONED, units, str(commitment), slot=slot if isinstance(slot, str) else None)
        if units is not None
        else None
    )


def check_serving_needs(
    fields: Fields, serving: Serving | None, approval: Approval | None, evaluation: Evaluation | None
) -> None:
    """What serving asks of the other sections: a commitment, a human's approval; a purchase, a bar."""
    if serving is not None and serving.has_commitment:
        if approval is None:
            fields.problem(
                "approval.policy",
                None,
                "always or above-cost",
                f"serving.commitment={serving.commitment} "
                "commits you to pay for the whole term and "
                "cannot be cancelled; give an explicit approval.policy (always or above-cost)",
            )
        elif approval.policy == "never":
            fields.problem(
                "approval.policy",
                "never",
                "always or above-cost",
                "approval.policy=never is not allowed with "
                f"serving.commitment={serving.commitment}: "
                "a commitment cannot be cancelled, so a human must approve it",
            )

    if serving is not None and serving.slot is not None and not has_quality_bar(evaluation):
        fields.problem(
            "serving.slot",
            serving.slot,
            "a quality bar (evaluation.minQuality or evaluation.minImprovementOverBase)",
            f"serving.slot={serving.slot} replaces what serves in production, and nothing is promoted "
            "without a quality verdict: add evaluation.minQuality and/or evaluation.minImprovementOverBase "
            "(the champion, once there is one, must also be matched: evaluation.minImprovementOverChampion, "
            "default 0)",
        )
    elif serving is not None and serving.provisioned and not has_quality_bar(evaluation):
        fields.problem(
            "serving.mode",
            PROVISIONED,
            "a quality bar (evaluation.minQuality or evaluation.minImprovementOverBase), or "
            f"serving.mode {ON_DEMAND} | {NOT_SERVED}",
            NO_VERDICT_MESSAGE,
        )


def check_champion_bar(fields: Fields, serving: Serving | None, evaluation: Evaluation | None) -> None:
    """A bar against the champion means something only in a serving slot: the quality bar's and
    each of the judge's metric bars."""
    if evaluation is None or (serving is not None and serving.slot is not None):
        return
    champion_bar = evaluation.min_improvement_over_champion
    if champion_bar is not None:
        fields.problem(
            "evaluation.minImprovementOverChampion",
            champion_bar,
            "with serving.slot",
            "evaluation.minImprovementOverChampion compares with the champion of a serving slot; "
            "name the slot (serving.slot) or remove it",
        )
    for name, bar in (evaluation.judge.bars if evaluation.judge is not None else {}).items():
        if bar.min_improvement_over_champion is None:
            continue
        field = f"evaluation.judge.bars.{name}.minImprovementOverChampion"
        fields.problem(
            field,
            bar.min_improvement_over_champion,
            "with serving.slot",
            f"{field} compares the judge's scores with the champion of a serving slot; "
            "name the slot (serving.slot) or remove it",
        )
