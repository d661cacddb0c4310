"""Write the run record and compose the final notification (succeeded or failed).

Event ``{"runId", "status": "SUCCEEDED"|"FAILED", "state": $}`` (optionally ``"startedAt"``) →
``{"recordUri", "subject", "message"}``; the record goes to runs/<runId>/record.json.

The record pins exactly what was trained on: each dataset's S3 version id and SHA-256, hashed
from that version by streaming it in chunks (datasets may be gigabytes).

Calls: s3:GetObject (HeadObject) and s3:GetObjectVersion on the datasets, s3:GetObject of
runs/<runId>/approval-request.json, s3:PutObject of runs/<runId>/record.json.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import closing
from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.common import metric_names, runtime
from pipeline.costs import COMMITMENT_MONTHS, HOURS_PER_MONTH
from pipeline.money import usd
from pipeline.training_loss import fmt_number

LOG = runtime.get_logger(__name__)
SUBJECT_LIMIT: Final = 100  # SNS Subject: at most 100 printable ASCII characters, one line
CHUNK_BYTES: Final = 8 * 1024 * 1024
# Stop hashing while this much time is left, so the record is still written before the timeout.
HASH_RESERVE_MS: Final = 45_000
# Errors that are facts about the dataset (gone, not ours to read), recorded instead of raised.
_DATASET_ERRORS: Final = frozenset(
    {"404", "NoSuchKey", "NotFound", "NoSuchVersion", "403", "AccessDenied", "Forbidden"}
)


def dataset_uris(state: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, s3 URI) of every dataset of the run, from the spec and the plan, without repeats."""
    spec = state.get("runSpec") or {}
    plan = (state.get("preflight") or {}).get("plan") or {}
    job = plan.get("job") or {}
    found: list[tuple[str, Any]] = [("training", spec.get("training"))]
    validation = spec.get("validation")
    found += [("validation", v) for v in (validation if isinstance(validation, list) else [validation])]
    found.append(("prompts", (spec.get("evaluation") or {}).get("prompts")))
    found.append(("training", (job.get("TrainingDataConfig") or {}).get("S3Uri")))
    found += [
        ("validation", v.get("S3Uri")) for v in (job.get("ValidationDataConfig") or {}).get("Validators", [])
    ]
    found.append(("prompts", (plan.get("evaluation") or {}).get("promptsUri")))
    seen: set[str] = set()
    result = []
    for role, uri in found:
        if isinstance(uri, str) and uri.startswith("s3://") and uri not in seen:
            seen.add(uri)
            result.append((role, uri))
    return result


def fingerprint(uri: str, time_left_ms: Callable[[], int] | None = None) -> dict[str, Any]:
    """Version id, size and SHA-256 of one dataset object, or the reason they are unknown."""
    entry: dict[str, Any] = {"uri": uri, "versionId": None, "sha256": None, "bytes": None}
    s3 = runtime.client("s3")
    try:
        bucket, key = runtime.parse_s3_uri(uri)
        head = s3.head_object(Bucket=bucket, Key=key)
    except ValueError as error:
        return entry | {"error": str(error)}
    except Exception as error:
        if runtime.error_code(error) not in _DATASET_ERRORS:
            raise
        return entry | {"error": f"{runtime.error_code(error)}: {error}"}
    version = head.get("VersionId")
    entry |= {
        "versionId": version,
        "bytes": head.get("ContentLength"),
        "etag": head.get("ETag"),
        "lastModified": runtime.iso_utc(head.get("LastModified")),
    }
    # Hash the very version recorded, even if a newer one is uploaded meanwhile.
    request = {"Bucket": bucket, "Key": key} | (
        {"VersionId": version} if version and version != "null" else {}
    )
    digest = hashlib.sha256()
    response = s3.get_object(**request)
    with closing(response["Body"]) as body:
        for chunk in body.iter_chunks(chunk_size=CHUNK_BYTES):
            if time_left_ms is not None and time_left_ms() < HASH_RESERVE_MS:
                return entry | {"error": "SHA-256 not computed: the function ran out of time hashing"}
            digest.update(chunk)
    return entry | {"sha256": digest.hexdigest()}


def _job(state: dict[str, Any]) -> dict[str, Any]:
    """The customization job as the run last saw it: from the .sync result, else from cleanup,
    else from the failure cause Step Functions recorded."""
    job = state.get("job") or {}
    if job:
        return {
            "jobName": job.get("JobName") or job.get("jobName"),
            "jobArn": job.get("JobArn") or job.get("jobArn"),
            "status": job.get("Status") or job.get("status"),
            "failureMessage": job.get("FailureMessage") or job.get("failureMessage"),
            "outputModelArn": job.get("OutputModelArn") or job.get("outputModelArn"),
            "createdAt": runtime.iso_utc(job.get("CreationTime") or job.get("creationTime")),
            "endedAt": runtime.iso_utc(job.get("EndTime") or job.get("endTime")),
        }
    cleaned = (state.get("cleanup") or {}).get("job")
    if cleaned:
        return dict(cleaned)
    failure = state.get("failure") or {}
    # A step that failed unexpectedly is named by the workflow; what Step Functions caught (for a
    # failed .sync job: the job as GetModelCustomizationJob describes it) is kept as Original.
    cause = (failure.get("Original") or failure).get("Cause")
    try:
        parsed = json.loads(cause) if isinstance(cause, str) else None
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and (parsed.get("JobArn") or parsed.get("jobArn")):
        return _job({"job": parsed})
    plan = (state.get("preflight") or {}).get("plan") or {}
    return {"jobName": (plan.get("job") or {}).get("JobName"), "jobArn": None, "status": None}


def _approval_requested_at(bucket: str, run_prefix: str) -> str | None:
    try:
        request = runtime.get_json(bucket, f"{run_prefix}approval-request.json")
    except Exception as error:
        # Without s3:ListBucket a missing object reads as AccessDenied; either way there is none.
        if runtime.error_code(error) in {"NoSuchKey", "404", "NotFound", "403", "AccessDenied"}:
            return None
        raise
    return request.get("requestedAt") if isinstance(request, dict) else None


def _approval_answer(answer: Any) -> dict[str, Any] | None:
    if not isinstance(answer, dict):
        return None
    return {
        "approved": answer.get("approved"),
        "approver": answer.get("approver"),
        "comment": answer.get("reason"),
    }


def build_record(
    event: dict[str, Any], bucket: str, time_left_ms: Callable[[], int] | None = None
) -> dict[str, Any]:
    run_id = str(event["runId"])
    state: dict[str, Any] = event.get("state") or {}
    preflight = state.get("preflight") or {}
    plan = preflight.get("plan") or {}
    loss = state.get("loss") or {}
    approval = state.get("approval")
    evaluation = state.get("evaluation") or {}
    throughput = state.get("throughput") or {}
    vehicle = state.get("vehicle") or {}
    planned_vehicle = plan.get("vehicle") or {}
    serving = plan.get("serving") or {}
    run_prefix = str(plan.get("runPrefix") or f"runs/{run_id}/")
    job = _job(state)
    # Read even when $.approval is empty: a request that timed out was still made.
    approval_requested = _approval_requested_at(bucket, run_prefix) if plan else None
    return {
        "schemaVersion": 1,
        "runId": run_id,
        "runName": plan.get("runName")
        or preflight.get("runName")
        or (state.get("runSpec") or {}).get("name"),
        "status": event.get("status"),
        "timestamps": {
            "startedAt": runtime.iso_utc(event.get("startedAt")),
            "jobCreatedAt": job.get("createdAt"),
            "jobEndedAt": job.get("endedAt"),
            "approvalRequestedAt": approval_requested,
            "recordedAt": runtime.utc_now(),
        },
        "spec": state.get("runSpec"),
        # A promotion (pipeline.promotion): the earlier run whose model it served; its job is that run's.
        "promotion": plan.get("promotion"),
        "datasets": [{"role": role} | fingerprint(uri, time_left_ms) for role, uri in dataset_uris(state)],
        "resources": {
            "job": job,
            "customModelArn": loss.get("outputModelArn") or job.get("outputModelArn"),
            "servingMode": serving.get("mode"),
            "provisionedModelArn": throughput.get("ProvisionedModelArn"),
            "provisionedModelName": serving.get("ProvisionedModelName"),
            "commitment": serving.get("commitment"),
            "modelUnits": serving.get("ModelUnits"),
            "deploymentArn": vehicle.get("Arn") if vehicle.get("Kind") == "deployment" else None,
            "deploymentName": planned_vehicle.get("ModelDeploymentName"),
            "evaluationVehicle": {
                "kind": planned_vehicle.get("kind"),
                "arn": vehicle.get("Arn"),
                "servesAfterwards": planned_vehicle.get("servesAfterwards"),
            },
            "released": state.get("released"),
            # Reinforcement fine-tuning: the grader function (alias) the job was given.
            "graderArn": (
                (((plan.get("job") or {}).get("CustomizationConfig") or {}).get("RftConfig") or {})
                .get("GraderConfig", {})
                .get("LambdaGrader", {})
                .get("LambdaArn")
            ),
        },
        "metrics": {
            "trainingLoss": loss.get("trainingLoss"),
            "validationLoss": loss.get("validationLoss"),
            "lossCurvesUri": loss.get("curvesUri"),
            "evaluation": {
                "custom": evaluation.get("custom"),
                "base": evaluation.get("base"),
                "resultsUri": evaluation.get("resultsUri"),
            }
            if evaluation
            else None,
        },
        "decisions": {
            "preflight": {
                "valid": preflight.get("valid"),
                "summary": preflight.get("summary"),
                "reportUri": preflight.get("reportUri"),
            },
            "loss": {"passed": loss.get("passed"), "summary": loss.get("summary")} if loss else None,
            "approval": {
                "required": (plan.get("approval") or {}).get("required"),
                "reason": (plan.get("approval") or {}).get("reason"),
                "approved": (approval or {}).get("approved"),
                "approver": (approval or {}).get("approver"),
                "comment": (approval or {}).get("reason"),
                "beforeEvaluation": (plan.get("approval") or {}).get("beforeEvaluation"),
                "beforeServing": (plan.get("approval") or {}).get("beforeServing"),
            },
            # Asked before buying a throughput to evaluate on (bases without on-demand deployment).
            "evaluationApproval": _approval_answer(state.get("evaluationApproval")),
            "evaluation": {
                "passed": evaluation.get("passed"),
                "judged": evaluation.get("judged"),
                "summary": evaluation.get("summary"),
            }
            if evaluation
            else None,
            "smoke": state.get("smoke"),
            # Only on runs the LLM judge scored (evaluation.judge): its verdict and where the scores are.
            **(
                {
                    "judge": {
                        k: (state.get("judge") or {}).get(k)
                        for k in ("passed", "summary", "reasons", "metrics", "resultsUri")
                    }
                }
                if state.get("judge")
                else {}
            ),
        },
        "approver": (approval or {}).get("approver"),
        "estimate": plan.get("estimate"),
        "cleanup": state.get("cleanup"),
        "errors": {
            name: state[name] for name in ("cleanupError", "recordError", "notifyError") if state.get(name)
        },
        "failure": state.get("failure"),
    }


def subject_line(text: str) -> str:
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in " ".join(text.split()))
    return clean if len(clean) <= SUBJECT_LIMIT else clean[: SUBJECT_LIMIT - 3] + "..."


def _num(value: Any) -> str:
    return (
        fmt_number(float(value))
        if isinstance(value, int | float) and not isinstance(value, bool)
        else "unknown"
    )


def _ms(value: Any) -> str:
    return f"{value:,.0f} ms" if isinstance(value, int | float) and not isinstance(value, bool) else "unknown"


def compose_message(record: dict[str, Any], record_uri: str) -> tuple[str, str]:
    run_id = record["runId"]
    succeeded = record["status"] == "SUCCEEDED"
    failure = record.get("failure") or {}
    resources = record["resources"]
    job = resources.get("job") or {}
    metrics = record["metrics"]
    decisions = record["decisions"]
    if succeeded:
        subject = subject_line(f"Bedrock customization run {run_id} succeeded")
        lines = [f"Run {run_id} SUCCEEDED."]
    else:
        subject = subject_line(
            f"Bedrock customization run {run_id} failed: {failure.get('Error', 'unknown error')}"
        )
        original = failure.get("Original") or {}
        lines = [
            f"Run {run_id} FAILED: {failure.get('Error', 'unknown error')}",
            *(
                [f"Caught:  {original.get('Error', 'unknown')}: {original.get('Cause', 'not recorded')}"]
                if original
                else [f"Cause: {failure.get('Cause', 'not recorded')}"]
            ),
        ]
    lines += ["", f"Base model:    {(record.get('spec') or {}).get('baseModel', 'unknown')}"]
    job_line = f"Job:           {job.get('jobName') or 'not started'}"
    if job.get("status"):
        job_line += (
            f" ({job['status']}" + (f": {job['failureMessage']}" if job.get("failureMessage") else "") + ")"
        )
    lines.append(job_line)
    if resources.get("customModelArn"):
        lines.append(f"Custom model:  {resources['customModelArn']}")
    if metrics.get("trainingLoss") is not None or metrics.get("validationLoss") is not None:
        lines.append(
            f"Loss:          training {_num(metrics.get('trainingLoss'))}, "
            f"validation {_num(metrics.get('validationLoss'))}"
        )
    approval = decisions.get("approval") or {}
    if approval.get("approver"):
        verdict = "approved" if approval.get("approved") else "rejected"
        lines.append(f"Purchase:      {verdict} by {approval['approver']}")
    if decisions.get("judge"):
        lines.append(f"LLM judge:     {decisions['judge'].get('summary')}")
    if decisions.get("evaluation"):
        lines.append(f"Evaluation:    {decisions['evaluation'].get('summary')}")
        evaluation = metrics.get("evaluation") or {}
        for name in ("custom", "base"):
            agg = evaluation.get(name) or {}
            latency = agg.get("latencyMs") or {}
            lines.append(
                f"  {name:<6} quality {_num(agg.get('quality'))}, latency p50 {_ms(latency.get('p50'))}, "
                f"p95 {_ms(latency.get('p95'))}, {usd(agg.get('costPer1000RequestsUsd'))} per 1,000 requests"
            )
    if resources.get("provisionedModelArn"):
        lines.append(f"Throughput:    {resources['provisionedModelArn']}")
    serving_deployment = (
        resources.get("deploymentArn") if resources.get("servingMode") == "on-demand" else None
    )
    if serving_deployment and succeeded:
        lines.append(f"Serving:       on demand, {serving_deployment} (Converse modelId; billed per token)")
    released = resources.get("released") or {}
    if released.get("summary"):
        lines.append(f"Evaluation vehicle: {released['summary']}")
    cleanup = record.get("cleanup") or {}
    if cleanup.get("summary"):
        lines.append(cleanup["summary"])
    if record["errors"].get("cleanupError"):
        lines.append(f"CLEANUP FAILED, check for throughput still billed: {record['errors']['cleanupError']}")
    if succeeded and resources.get("provisionedModelArn"):
        arn = resources["provisionedModelArn"]
        if resources.get("commitment") in (None, "none"):
            lines += [
                "",
                "The throughput is billed every hour until you delete it:",
                f"  aws bedrock delete-provisioned-model-throughput --provisioned-model-id {arn}",
            ]
        else:
            lines += [
                "",
                f"The throughput is billed for its whole {resources['commitment']} commitment term.",
            ]
    kept = [k["arn"] for k in cleanup.get("kept", [])]
    if kept:
        lines += ["", f"STILL BILLED (kept by cleanup): {', '.join(kept)}"]
    missing = [d["uri"] for d in record["datasets"] if d.get("error")]
    if missing:
        lines.append(f"Datasets not fingerprinted: {', '.join(missing)}")
    lines += ["", f"Run record: {record_uri}"]
    return subject, "\n".join(lines)


def emit_metrics(record: dict[str, Any]) -> None:
    """The run's outcome, training time and purchased throughput, as CloudWatch metrics."""
    if record["status"] == "SUCCEEDED":
        runtime.add_metric(metric_names.RUNS_SUCCEEDED, 1)
    else:
        runtime.add_metric(metric_names.RUNS_FAILED, 1)
        error = str((record.get("failure") or {}).get("Error") or "unknown")
        # A dimension value is at most 1,024 characters; error names are short.
        runtime.add_metric_with(metric_names.RUNS_FAILED_BY_ERROR, 1, {metric_names.ERROR: error[:250]})
    timestamps = record["timestamps"]
    training = runtime.hours_between(timestamps.get("jobCreatedAt"), timestamps.get("jobEndedAt"))
    if training is not None:
        runtime.add_metric(metric_names.TRAINING_HOURS, round(training, 3), MetricUnit.NoUnit)
    resources = record["resources"]
    units = resources.get("modelUnits")
    if (
        record["status"] == "SUCCEEDED"
        and resources.get("provisionedModelArn")
        and isinstance(units, int)
        and not isinstance(units, bool)
    ):
        runtime.add_metric(metric_names.THROUGHPUT_MODEL_UNITS_BOUGHT, units)
        months = COMMITMENT_MONTHS.get(str(resources.get("commitment")))
        if months:
            runtime.add_metric(
                metric_names.THROUGHPUT_COMMITTED_MU_HOURS,
                units * months * HOURS_PER_MONTH,
                MetricUnit.NoUnit,
            )


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = runtime.require_env("TRAINING_BUCKET")
    time_left = getattr(context, "get_remaining_time_in_millis", None)
    record = build_record(event, bucket, time_left)
    plan = ((event.get("state") or {}).get("preflight") or {}).get("plan") or {}
    run_prefix = str(plan.get("runPrefix") or f"runs/{record['runId']}/")
    record_uri = runtime.put_json(bucket, f"{run_prefix}record.json", record)
    subject, message = compose_message(record, record_uri)
    emit_metrics(record)
    LOG.info(
        "run recorded", extra={"runId": record["runId"], "status": record["status"], "recordUri": record_uri}
    )
    return {"recordUri": record_uri, "subject": subject, "message": message}
