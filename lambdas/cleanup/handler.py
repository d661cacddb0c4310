"""Release what a run no longer needs: its evaluation vehicle, and on failure everything it bought.

Event ``{"runId", "plan", "vehicle": {"Kind", "Arn"}|null, "throughput": {...}|null,
"failure": {...}|null, "mode": "failure"|"release-evaluation"}`` → ``{"deleted": [arn],
"deletedDeployments": [arn], "kept": [{"arn", "reason"}], "jobStopped": bool, "summary": str,
"job": {...}|null}``.

- ``failure`` (the failure path): delete the run's on-demand deployment, its no-commitment
  throughput (evaluation and serving), and stop its job if it still runs.
- ``release-evaluation`` (after a successful purchase, or when the model is not served): delete
  only the evaluation vehicle, unless the plan says it also serves (``vehicle.servesAfterwards``).

A commitment is never deleted: Bedrock refuses it before the term ends and it is billed for the
whole term anyway, so it is reported instead. A deletion Bedrock refuses for another reason (a
throughput still Creating) is retried with backoff for a bounded time, then reported loudly with
the command that deletes it. Running the handler twice is harmless: what is already gone is skipped.

Calls: bedrock:GetProvisionedModelThroughput, bedrock:ListProvisionedModelThroughputs and
bedrock:ListCustomModelDeployments (only when an ARN is unknown), bedrock:DeleteProvisionedModelThroughput,
bedrock:DeleteCustomModelDeployment, bedrock:GetModelCustomizationJob, bedrock:StopModelCustomizationJob.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.common import metric_names, runtime
from pipeline import naming

LOG = runtime.get_logger(__name__)
_GONE: Final = frozenset({"ResourceNotFoundException", "NotFound", "404"})
_RUNNING: Final = frozenset({"InProgress"})
FAILURE: Final = "failure"
RELEASE_EVALUATION: Final = "release-evaluation"
# A refused deletion is tried again after these waits (about 2.5 minutes in all, inside the
# function's timeout); read at call time so tests do not really wait.
CONFLICT_RETRY_WAITS: Final = (5, 10, 20, 40, 80)
SLEEP: Callable[[float], None] = time.sleep
CLI: Final = "bedrock-customize"


@dataclass
class Released:
    deleted: list[str] = field(default_factory=list)
    deleted_deployments: list[str] = field(default_factory=list)
    kept: list[dict[str, str]] = field(default_factory=list)
    stopped_evaluations: list[str] = field(default_factory=list)
    # Model units x hours from creation to deletion of each no-commitment throughput deleted.
    model_unit_hours: float = 0.0


def _find_throughput_by_name(name: str | None) -> str | None:
    """A purchase whose create call succeeded at Bedrock but whose answer never reached the workflow."""
    if not name:
        return None
    paginator = runtime.client("bedrock").get_paginator("list_provisioned_model_throughputs")
    for page in paginator.paginate(nameContains=name):
        for summary in page.get("provisionedModelSummaries", []):
            # nameContains is a substring match: another run's name may contain this one.
            if summary.get("provisionedModelName") == name:
                return str(summary["provisionedModelArn"])
    return None


def _find_deployment_by_name(name: str | None) -> str | None:
    if not name:
        return None
    bedrock = runtime.client("bedrock")
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"nameContains": name}
        if token:
            kwargs["nextToken"] = token
        page = bedrock.list_custom_model_deployments(**kwargs)
        for summary in page.get("modelDeploymentSummaries", []):
            if summary.get("customModelDeploymentName") == name:
                return str(summary["customModelDeploymentArn"])
        token = page.get("nextToken")
        if not token:
            return None


def find_throughput(plan: dict[str, Any], throughput: dict[str, Any] | None) -> str | None:
    """The serving purchase: by the ARN the workflow got back, else by its deterministic name."""
    arn = (throughput or {}).get("ProvisionedModelArn")
    if arn:
        return str(arn)
    return _find_throughput_by_name((plan.get("serving") or {}).get("ProvisionedModelName"))


def find_vehicle(plan: dict[str, Any], vehicle: dict[str, Any] | None) -> tuple[str, str | None]:
    """(kind, ARN) of the evaluation vehicle: from the workflow's slot, else looked up by name."""
    planned = plan.get("vehicle") or {}
    kind = str(planned.get("kind") or "none")
    arn = (vehicle or {}).get("Arn")
    if arn:
        return str((vehicle or {}).get("Kind") or kind), str(arn)
    if kind == "deployment":
        return kind, _find_deployment_by_name(planned.get("ModelDeploymentName"))
    if kind == "throughput":
        return kind, _find_throughput_by_name(planned.get("ProvisionedModelName"))
    return kind, None


def _refused(arn: str, error: Exception, kind: str) -> dict[str, str]:
    what = "provisioned throughput" if kind == "throughput" else "deployment"
    billed = (
        "IT IS STILL BILLED HOURLY" if kind == "throughput" else "it is billed only per token, but remove it"
    )
    return {
        "arn": arn,
        "reason": (
            f"no commitment, but Bedrock refused to delete the {what} ({error}) for "
            f"{sum(CONFLICT_RETRY_WAITS)} s; {billed}. Delete it: {CLI} "
            + (f"throughput delete {arn} --yes" if kind == "throughput" else f"sweep --yes (or delete {arn})")
        ),
    }


DELETED: Final = "deleted"
GONE: Final = "gone"


def _delete_with_retries(delete: Callable[[], Any]) -> str | Exception:
    """Delete, retrying a ConflictException with backoff: DELETED, GONE (already), or the refusal."""
    for wait in (*CONFLICT_RETRY_WAITS, None):
        try:
            delete()
            return DELETED
        except Exception as error:
            code = runtime.error_code(error)
            if code in _GONE:
                return GONE
            if code != "ConflictException":
                raise
            if wait is None:
                return error
            SLEEP(wait)
    raise AssertionError("unreachable")  # pragma: no cover - the loop always returns


def release_throughput(arn: str, released: Released) -> None:
    bedrock = runtime.client("bedrock")
    try:
        described = bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
    except Exception as error:
        if runtime.error_code(error) in _GONE:
            return
        raise
    commitment = described.get("commitmentDuration")
    if commitment:
        expires = runtime.iso_utc(described.get("commitmentExpirationTime")) or "the end of the term"
        released.kept.append(
            {
                "arn": arn,
                "reason": (
                    f"{commitment} commitment: billed until {expires} whatever happens, and Bedrock refuses "
                    "to delete it before then; it was kept (release or reuse it after the term)"
                ),
            }
        )
        return
    outcome = _delete_with_retries(
        lambda: bedrock.delete_provisioned_model_throughput(provisionedModelId=arn)
    )
    if isinstance(outcome, Exception):
        released.kept.append(_refused(arn, outcome, "throughput"))
    elif outcome == DELETED:
        released.deleted.append(arn)
        hours = runtime.hours_between(described.get("creationTime"), runtime.utc_now())
        units = described.get("modelUnits")
        if hours is not None and isinstance(units, int) and not isinstance(units, bool):
            released.model_unit_hours += units * hours


def emit_metrics(released: Released) -> None:
    if released.model_unit_hours:
        runtime.add_metric(
            metric_names.THROUGHPUT_RELEASED_MU_HOURS, round(released.model_unit_hours, 3), MetricUnit.NoUnit
        )


def release_deployment(arn: str, released: Released) -> None:
    bedrock = runtime.client("bedrock")
    outcome = _delete_with_retries(
        lambda: bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
    )
    if isinstance(outcome, Exception):
        released.kept.append(_refused(arn, outcome, "deployment"))
    elif outcome == DELETED:
        released.deleted_deployments.append(arn)


def release_vehicle(plan: dict[str, Any], vehicle: dict[str, Any] | None, released: Released) -> None:
    kind, arn = find_vehicle(plan, vehicle)
    if arn is None:
        return
    if kind == "deployment":
        release_deployment(arn, released)
    else:
        release_throughput(arn, released)


def stop_job(plan: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
    """Stop the run's job if it still runs; also return what Bedrock says about it, for the record."""
    name = (plan.get("job") or {}).get("JobName")
    if not name:
        return False, None
    bedrock = runtime.client("bedrock")
    try:
        described = bedrock.get_model_customization_job(jobIdentifier=name)
    except Exception as error:
        if runtime.error_code(error) in _GONE:
            return False, None
        raise
    job = {
        "jobName": name,
        "jobArn": described.get("jobArn"),
        "status": described.get("status"),
        "failureMessage": described.get("failureMessage") if described.get("status") == "Failed" else None,
        "outputModelArn": described.get("outputModelArn"),
        "createdAt": runtime.iso_utc(described.get("creationTime")),
        "endedAt": runtime.iso_utc(described.get("endTime")),
    }
    if described.get("status") not in _RUNNING:
        return False, job
    try:
        bedrock.stop_model_customization_job(jobIdentifier=name)
    except Exception as error:
        # Finished or already stopping between the two calls: nothing left to stop.
        if runtime.error_code(error) in _GONE | {"ConflictException"}:
            return False, job
        raise
    return True, job | {"status": "Stopping"}


JUDGED_MODELS: Final = ("custom", "base")


def stop_judge_jobs(run_id: str) -> list[str]:
    """Stop the run's LLM-judge evaluation jobs still in progress (their judge tokens are billed).

    Evaluation jobs are addressed by ARN only [BC]; they are found by the names derived from the
    run id (pipeline.naming.judge_job_name). Finished or already stopping jobs are skipped.
    """
    bedrock = runtime.client("bedrock")
    stopped = []
    for which in JUDGED_MODELS:
        name = naming.judge_job_name(run_id, which)
        page = bedrock.list_evaluation_jobs(nameContains=name, statusEquals="InProgress")
        for summary in page.get("jobSummaries", []):
            if summary.get("jobName") != name:
                continue
            try:
                bedrock.stop_evaluation_job(jobIdentifier=summary["jobArn"])
            except Exception as error:
                if runtime.error_code(error) in _GONE | {"ConflictException"}:
                    continue
                raise
            stopped.append(str(summary["jobArn"]))
    return stopped


def summarize(released: Released, job_stopped: bool, job: dict[str, Any] | None, mode: str = FAILURE) -> str:
    parts = []
    if released.deleted_deployments:
        parts.append(f"deleted on-demand deployment {', '.join(released.deleted_deployments)}")
    if released.deleted:
        parts.append(f"deleted provisioned throughput {', '.join(released.deleted)}")
    for item in released.kept:
        parts.append(f"KEPT {item['arn']}: {item['reason']}")
    if job_stopped and job is not None:
        parts.append(f"stopped customization job {job['jobName']}")
    if released.stopped_evaluations:
        parts.append(f"stopped judge evaluation job(s) {', '.join(released.stopped_evaluations)}")
    if not parts:
        parts.append(
            "nothing to release: the evaluation vehicle also serves, or there was none"
            if mode == RELEASE_EVALUATION
            else "nothing to release: this run bought no throughput, has no deployment and no running job"
        )
    return "Cleanup: " + "; ".join(parts) + "."


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run_id = str(event.get("runId"))
    plan: dict[str, Any] = event.get("plan") or {}
    mode = str(event.get("mode") or FAILURE)
    released = Released()
    job_stopped, job = False, None
    if plan:
        serves = bool((plan.get("vehicle") or {}).get("servesAfterwards"))
        if mode == FAILURE or not serves:
            release_vehicle(plan, event.get("vehicle"), released)
        if mode == FAILURE:
            arn = find_throughput(plan, event.get("throughput"))
            if (
                arn is not None
                and arn not in released.deleted
                and all(k["arn"] != arn for k in released.kept)
            ):
                release_throughput(arn, released)
            job_stopped, job = stop_job(plan)
            if plan.get("judge") and plan.get("runId"):
                released.stopped_evaluations = stop_judge_jobs(str(plan["runId"]))
    result = {
        "mode": mode,
        "deleted": released.deleted,
        "deletedDeployments": released.deleted_deployments,
        "kept": released.kept,
        "jobStopped": job_stopped,
        "stoppedEvaluationJobs": released.stopped_evaluations,
        "summary": summarize(released, job_stopped, job, mode),
        "job": job,
    }
    LOG.info("cleanup", extra={"runId": run_id, "failure": event.get("failure"), **result})
    emit_metrics(released)
    return result
