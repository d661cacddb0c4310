"""Compare the custom model (through its Provisioned Throughput) with its base model.

Event ``{"runId", "plan", "provisionedModelArn"}`` → ``{"passed", "summary", "resultsUri",
"custom", "base"}``; per-prompt details go to runs/<runId>/evaluation.json.

Calls: s3:GetObject of the prompts file (or the validation/training dataset), bedrock:InvokeModel
(Converse) on the provisioned model ARN and on the base model, s3:PutObject of evaluation.json.
"""

from __future__ import annotations

import time
from contextlib import closing
from typing import Any

from lambdas.common import runtime
from pipeline import evaluation

LOG = runtime.get_logger(__name__)
# Read at call time, so tests replace it and never really wait out a throttling backoff.
SLEEP: evaluation.Sleep = time.sleep

# The function may not list the bucket, so S3 answers AccessDenied for a missing object.
_UNREADABLE = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket", "403", "AccessDenied"})


def load_prompts(uri: str | None, kind: str, max_prompts: int) -> evaluation.PromptSet:
    """The first ``max_prompts`` usable records, streamed: a dataset may be gigabytes."""
    if uri is None:
        return evaluation.PromptSet(
            uri=None, kind=kind, notes=["the plan names no dataset to take prompts from"]
        )
    bucket, key = runtime.parse_s3_uri(uri)
    try:
        response = runtime.client("s3").get_object(Bucket=bucket, Key=key)
    except Exception as error:
        code = runtime.error_code(error)
        if code not in _UNREADABLE:
            raise
        return evaluation.PromptSet(
            uri=uri, kind=kind, notes=[f"{uri} does not exist or cannot be read ({code})"]
        )
    with closing(response["Body"]) as body:
        return evaluation.read_prompts(body.iter_lines(), uri=uri, kind=kind, max_prompts=max_prompts)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = runtime.require_env("TRAINING_BUCKET")
    run_id = str(event["runId"])
    plan: dict[str, Any] = event["plan"]
    provisioned_arn = str(event["provisionedModelArn"])
    max_prompts = int((plan.get("evaluation") or {}).get("maxPrompts") or evaluation.DEFAULT_MAX_PROMPTS)

    uri, kind = evaluation.prompt_source(plan)
    prompt_set = load_prompts(uri, kind, max_prompts)
    LOG.info("evaluation prompts", extra={"runId": run_id, **prompt_set.to_dict()})

    time_left = getattr(context, "get_remaining_time_in_millis", None)
    result = evaluation.evaluate(
        plan,
        prompt_set,
        custom_model_id=provisioned_arn,
        converse=runtime.client("bedrock-runtime").converse,
        sleep=SLEEP,
        time_left_ms=time_left,
    )
    run_prefix = str(plan.get("runPrefix") or f"runs/{run_id}/")
    results_uri = runtime.put_json(
        bucket,
        f"{run_prefix}evaluation.json",
        {"runId": run_id, "evaluatedAt": runtime.utc_now(), **result.to_dict()},
    )
    response = {
        "passed": result.passed,
        "summary": result.summary,
        "resultsUri": results_uri,
        "custom": result.custom,
        "base": result.base,
    }
    LOG.info("evaluation gate", extra={"runId": run_id, **response})
    return response
