"""The stack's built-in reinforcement fine-tuning grader, invoked by Bedrock during an RFT job.

Event: the batch of samples Bedrock sends, in any shape AWS documents (pipeline.grader_payload: a
list or a ``batch``/``trajectories`` envelope; ``reference_answer`` at the top level or under
``metadata``; the answer's role ``assistant`` or ``nova_assistant``) → one ``{"id",
"aggregate_reward_score", "metrics_list"}`` per sample, in the same order (pipeline.grader_builtins).

Which grader runs is the alias the function was invoked through (``<function ARN>:exact-match``,
``:numeric``, ``:json-schema``, ``:rouge-l``), read from the context's ``invoked_function_arn``:
the plan hands Bedrock that qualified ARN. A malformed answer scores 0; a sample the grader cannot
read scores 0 with the ``unreadable_sample`` metric and one warning log line naming it and why;
when most of a batch is unreadable the invocation fails (``UnreadableBatchError``), so Bedrock
stops the job instead of training on zeros. The preflight checks every record against the grader
before a job starts.

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
    try:
        graded = graders.grade(grader, event)
    except graders.UnreadableBatchError as error:
        LOG.error("batch unreadable", extra={"grader": grader, "reason": str(error)})
        raise
    for sample_id, why in graded.unreadable:
        LOG.warning(
            "sample unreadable, scored 0",
            extra={
                "grader": grader,
                "sampleId": sample_id,
                "metric": graders.UNREADABLE_METRIC,
                "reason": why,
            },
        )
    scores = [float(r["aggregate_reward_score"]) for r in graded.results]
    LOG.info(
        "graded",
        extra={
            "grader": grader,
            "samples": len(graded.results),
            "unreadable": len(graded.unreadable),
            "meanScore": sum(scores) / len(scores) if scores else None,
        },
    )
    return graded.results
