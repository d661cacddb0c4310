"""The stack's built-in reinforcement fine-tuning grader, invoked by Bedrock during an RFT job.

Event: the batch of samples Bedrock sends [UG:reward-functions], a list of
``{"id", "messages": [..., {"role": "assistant", "content": <sampled answer>}], "metadata":
{"reference_answer", ...}}`` → one ``{"id", "aggregate_reward_score", "metrics_list"}`` per sample,
in the same order (pipeline.graders).

Which grader runs is the alias the function was invoked through (``<function ARN>:exact-match``,
``:numeric``, ``:json-schema``, ``:rouge-l``), read from the context's ``invoked_function_arn``:
the plan hands Bedrock that qualified ARN. A malformed answer scores 0; a record the grader cannot
score raises (``UnscorableRecordError``), which fails the invocation loudly rather than train on a
made-up score. The preflight checks every record against the grader before a job starts.

Calls nothing: pure scoring, no AWS API.
"""

from __future__ import annotations

from typing import Any

from lambdas.common import runtime
from pipeline import graders

LOG = runtime.get_logger(__name__)


@runtime.observed
def lambda_handler(event: Any, context: Any) -> list[dict[str, Any]]:
    grader = graders.grader_from_arn(str(getattr(context, "invoked_function_arn", "") or ""))
    results = graders.grade_batch(grader, event)
    scores = [float(r["aggregate_reward_score"]) for r in results]
    LOG.info(
        "graded",
        extra={
            "grader": grader,
            "samples": len(results),
            "meanScore": sum(scores) / len(scores) if scores else None,
        },
    )
    return results
