"""The preflight's check of a promotion (``promoteFrom`` in the execution input, pipeline.promotion).

Reads the earlier run's custom model by name (bedrock:GetCustomModel), its tags
(bedrock:ListTagsForResource) and the earlier run's evaluation (s3:GetObject of
runs/<earlier run>/evaluation.json in the training bucket); pipeline.promotion decides. A model or an
evaluation that is not there is a problem of the promotion (valid=false); any other error raises,
for the workflow's retry: an unchecked source never passes silently.
"""

from __future__ import annotations

from typing import Any

from lambdas.common import runtime
from pipeline import promotion, slots
from pipeline.plan import RUNS_PREFIX
from pipeline.problems import Problem
from pipeline.runspec import RunSpec


def source_run_id(execution_input: Any) -> Any:
    """What the execution input names as the earlier run (None: not a promotion)."""
    return execution_input.get(promotion.PROMOTE_FROM) if isinstance(execution_input, dict) else None


def check(
    source_id: Any, run_id: str, spec: RunSpec, slot: slots.Slot | None, bucket: str
) -> tuple[promotion.Source | None, list[Problem]]:
    """The earlier run's model, or the problems that refuse the promotion."""
    problem = promotion.source_id_problem(source_id, run_id)
    if problem is not None:
        return None, [problem]
    assert isinstance(source_id, str)
    if spec.serving.slot is None:
        return None, [
            Problem(
                "serving.slot",
                None,
                "the slot to promote into",
                "a promotion serves an earlier run's model from a serving slot, and the spec names none",
            )
        ]
    return promotion.read_source(
        runtime.client("bedrock"),
        lambda name: runtime.get_json(bucket, f"{RUNS_PREFIX}{source_id}/{name}"),
        runtime.error_code,
        source_id,
        base_model=spec.base_model,
        champion_model_arn=slot.champion.model_arn if slot is not None else None,
        judged=spec.judge is not None,
    )
