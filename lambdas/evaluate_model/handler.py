"""Compare the custom model with its base model, or smoke-check what will serve it.

Event ``{"runId", "plan", "modelId", "vehicle": "deployment"|"throughput", "mode"}``:

- ``mode: "evaluate"`` (default) → ``{"passed", "judged", "summary", "resultsUri", "custom",
  "base"}``; per-prompt details go to runs/<runId>/evaluation.json. ``modelId`` is the evaluation
  vehicle: the on-demand deployment ARN or the evaluation throughput ARN.
- ``mode: "smoke"`` → ``{"passed", "summary", "modelId", "resultsUri"}``: the plan's
  ``evaluation.smokePrompts`` first prompts on what will serve (runs/<runId>/smoke-check.json).

Calls: s3:GetObject of the prompts file (or the validation/training dataset), bedrock:InvokeModel
(Converse) on the deployment or throughput and on the base model (its id or inference profile), and
on the distillation teacher where it answers for the references (evaluation.references=teacher),
s3:PutObject of the results.
"""

from __future__ import annotations

import time
from contextlib import closing
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.common import metric_names, runtime
from pipeline import evaluation

LOG = runtime.get_logger(__name__)
# Read at call time, so tests replace it and never really wait out a throttling backoff.
SLEEP: evaluation.Sleep = time.sleep

# The function may not list the bucket, so S3 answers AccessDenied for a missing object.
_UNREADABLE = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket", "403", "AccessDenied"})


def load_prompts(
    uri: str | None, kind: str, max_prompts: int, *, teacher: bool = False
) -> evaluation.PromptSet:
    """The first ``max_prompts`` usable records, streamed: a dataset may be gigabytes. ``teacher``:
    the references come from the distillation teacher, so a record needs only a prompt."""
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
        return evaluation.read_prompts(
            body.iter_lines(), uri=uri, kind=kind, max_prompts=max_prompts, teacher=teacher
        )


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = runtime.require_env("TRAINING_BUCKET")
    run_id = str(event["runId"])
    plan: dict[str, Any] = event["plan"]
    model_id = str(event["modelId"])
    vehicle = str(event.get("vehicle") or "throughput")
    settings = plan.get("evaluation") or {}
    max_prompts = int(settings.get("maxPrompts") or evaluation.DEFAULT_MAX_PROMPTS)
    run_prefix = str(plan.get("runPrefix") or f"runs/{run_id}/")
    converse = runtime.client("bedrock-runtime").converse

    uri, kind = evaluation.prompt_source(plan)
    teacher = evaluation.teacher_model_id(plan) is not None
    if event.get("mode") == "smoke":
        count = int(settings.get("smokePrompts") or 3)
        smoke = evaluation.smoke_check(
            load_prompts(uri, kind, count, teacher=teacher),
            model_id=model_id,
            converse=converse,
            count=count,
            sleep=SLEEP,
        )
        smoke_uri = runtime.put_json(
            bucket,
            f"{run_prefix}smoke-check.json",
            {"runId": run_id, "checkedAt": runtime.utc_now(), **smoke.to_dict()},
        )
        LOG.info("smoke check", extra={"runId": run_id, "passed": smoke.passed, "summary": smoke.summary})
        return {
            "passed": smoke.passed,
            "summary": smoke.summary,
            "modelId": model_id,
            "resultsUri": smoke_uri,
        }

    prompt_set = load_prompts(uri, kind, max_prompts, teacher=teacher)
    LOG.info("evaluation prompts", extra={"runId": run_id, **prompt_set.to_dict()})

    time_left = getattr(context, "get_remaining_time_in_millis", None)
    # In a serving slot with a champion, the champion answers the same prompts through the slot.
    slot = plan.get("slot") or {}
    result = evaluation.evaluate(
        plan,
        prompt_set,
        custom_model_id=model_id,
        converse=converse,
        vehicle=vehicle,
        champion_model_id=str(slot["endpointArn"]) if slot.get("exists") else None,
        sleep=SLEEP,
        time_left_ms=time_left,
    )
    results_uri = runtime.put_json(
        bucket,
        f"{run_prefix}evaluation.json",
        {"runId": run_id, "evaluatedAt": runtime.utc_now(), **result.to_dict()},
    )
    response = {
        "passed": result.passed,
        "judged": result.judged,
        # What the workflow's guard before each purchase reads: "passed" only for a bar set and met.
        "verdict": result.verdict,
        "vehicle": vehicle,
        "summary": result.summary,
        "resultsUri": results_uri,
        "custom": result.custom,
        "base": result.base,
        **({"champion": result.champion} if result.champion is not None else {}),
    }
    LOG.info("evaluation gate", extra={"runId": run_id, **response})
    emit_metrics(result)
    return response


def emit_metrics(result: evaluation.EvaluationResult) -> None:
    """The gate's verdict, and the quality scores when the comparison judged anything."""
    runtime.add_metric(metric_names.EVALUATIONS_JUDGED, 1 if result.judged else 0)
    runtime.add_metric(metric_names.EVALUATIONS_PASSED, 1 if result.passed else 0)
    if not result.judged:
        return
    for name, aggregate in (
        (metric_names.CUSTOM_MODEL_QUALITY, result.custom),
        (metric_names.BASE_MODEL_QUALITY, result.base),
    ):
        quality = (aggregate or {}).get("quality")
        if isinstance(quality, int | float) and not isinstance(quality, bool):
            runtime.add_metric(name, quality, MetricUnit.NoUnit)
