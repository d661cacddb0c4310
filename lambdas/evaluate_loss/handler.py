"""Read training and validation loss and decide against the run's bar (free: no model is invoked).

Event ``{"runId", "plan", "job"}`` → ``{"passed", "trainingLoss", "validationLoss", "curvesUri",
"summary", "jobArn", "outputModelArn"}`` (docs/workflow-contract.md).

Calls: bedrock:GetModelCustomizationJob (by job name), s3:ListBucket on the job's output prefix,
s3:GetObject on the metrics CSVs, s3:PutObject of runs/<runId>/loss-curves.json.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any, Final

from lambdas.common import runtime
from pipeline import training_loss

LOG = runtime.get_logger(__name__)
# Metrics CSVs hold one short row per training step; anything this large is not one of them.
MAX_METRICS_BYTES: Final = 64 * 1024 * 1024


def _job_name(plan: dict[str, Any], job: dict[str, Any]) -> str:
    # Bedrock's GetModelCustomizationJob accepts the name; the plan's name is the one the run used.
    name = (plan.get("job") or {}).get("JobName") or job.get("JobName") or job.get("jobName")
    if not name:
        raise ValueError("the plan names no customization job (plan.job.JobName)")
    return str(name)


def _list_keys(bucket: str, prefix: str) -> list[tuple[str, int]]:
    paginator = runtime.client("s3").get_paginator("list_objects_v2")
    found: list[tuple[str, int]] = []
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        found += [(obj["Key"], int(obj.get("Size", 0))) for obj in page.get("Contents", [])]
    return found


def read_curves(output_uri: str, job_arn: str | None) -> training_loss.CurveSet:
    """Every metrics CSV under the job's output prefix, parsed; unreadable files are listed, not fatal."""
    bucket, prefix = runtime.parse_s3_uri(output_uri)
    listing = _list_keys(bucket, prefix)
    sizes = dict(listing)
    found = training_loss.find_metrics_files(sizes, job_arn)
    result = training_loss.CurveSet()
    for kind, keys in found.items():
        for key in keys:
            uri = runtime.s3_uri(bucket, key)
            if sizes[key] > MAX_METRICS_BYTES:
                result.unreadable.append(
                    {"uri": uri, "reason": f"{sizes[key]:,} bytes: too large for a metrics file"}
                )
                continue
            response = runtime.client("s3").get_object(Bucket=bucket, Key=key)
            with closing(response["Body"]) as body:
                text = body.read().decode("utf-8", errors="replace")
            try:
                result.curves.append(training_loss.parse_metrics_csv(text, kind, uri))
            except training_loss.MetricsFormatError as error:
                result.unreadable.append({"uri": uri, "reason": str(error)})
    LOG.info(
        "metrics files",
        extra={"objectsListed": len(listing), "found": found, "unreadable": result.unreadable},
    )
    return result


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = runtime.require_env("TRAINING_BUCKET")
    run_id = str(event["runId"])
    plan: dict[str, Any] = event["plan"]
    job_state: dict[str, Any] = event.get("job") or {}
    job_name = _job_name(plan, job_state)

    described = runtime.client("bedrock").get_model_customization_job(jobIdentifier=job_name)
    job_arn = described.get("jobArn") or job_state.get("JobArn")
    output_model_arn = described.get("outputModelArn") or job_state.get("OutputModelArn")
    output_uri = (described.get("outputDataConfig") or {}).get("s3Uri") or plan["job"]["OutputDataConfig"][
        "S3Uri"
    ]

    curves = read_curves(output_uri, job_arn)
    losses = training_loss.resolve_losses(described, curves.curves)
    bar = training_loss.LossBar.from_plan(plan.get("evaluation"))
    problem = training_loss.job_problem(described.get("status"), described.get("failureMessage"))
    if problem is not None:
        passed, summary = False, f"Loss not judged: {problem}."
    else:
        passed, summary = training_loss.decide_loss(bar, losses.training, losses.validation)
        if passed and not output_model_arn:
            passed = False
            summary += " But Bedrock reports no output model ARN for the job, so there is nothing to buy for."
    unreadable = "; ".join(f"{u['uri']}: {u['reason']}" for u in curves.unreadable)
    if unreadable:
        summary += f" Unreadable metrics files: {unreadable}."

    curves_uri = None
    if curves.curves:
        run_prefix = str(plan.get("runPrefix") or f"runs/{run_id}/")
        curves_uri = runtime.put_json(
            bucket,
            f"{run_prefix}loss-curves.json",
            {
                "runId": run_id,
                "jobName": job_name,
                "jobArn": job_arn,
                "jobStatus": described.get("status"),
                "writtenAt": runtime.utc_now(),
                "final": losses.to_dict(),
                "bar": bar.to_dict(),
                "passed": passed,
                "summary": summary,
                **curves.to_dict(),
            },
        )
    result = {
        "passed": passed,
        "trainingLoss": losses.training,
        "validationLoss": losses.validation,
        "curvesUri": curves_uri,
        "summary": summary,
        "jobArn": job_arn,
        "outputModelArn": output_model_arn,
    }
    LOG.info("loss gate", extra={"runId": run_id, **result, **losses.to_dict()})
    return result
