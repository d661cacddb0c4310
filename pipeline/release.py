"""Releasing what a run bought: the pure core that the cleanup and the stopped-run handlers share.

Two handlers release a run's resources: ``lambdas.cleanup`` (the workflow's own failure path, and
the release of the evaluation vehicle after a purchase) and ``lambdas.run_ended`` (an execution
stopped, timed out or broken from outside, found by the execution-status event). Each ships as a
Lambda asset of its own that holds ``lambdas/common``, its handler and ``pipeline``: so the logic
they share lives here, never in one handler imported by the other (that asset would not hold it).

Everything with an effect is injected: the Bedrock client, the sleep between retries of a refused
deletion, the clock. :class:`Releaser` does the releasing; what it found and did is collected in
:class:`Released`; :func:`summarize` words it for the notice.

A commitment is never deleted: Bedrock refuses it before the term ends and it is billed for the
whole term anyway, so it is reported instead. A deletion Bedrock refuses for another reason (a
throughput still Creating) is retried with backoff for a bounded time, then reported loudly with
the command that deletes it. Releasing twice is harmless: what is already gone is skipped.

Calls: bedrock:GetProvisionedModelThroughput, bedrock:ListProvisionedModelThroughputs and
bedrock:ListCustomModelDeployments (only when an ARN is unknown), bedrock:DeleteProvisionedModelThroughput,
bedrock:DeleteCustomModelDeployment, bedrock:GetModelCustomizationJob, bedrock:StopModelCustomizationJob,
bedrock:ListEvaluationJobs, bedrock:StopEvaluationJob.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from pipeline import naming

_GONE: Final = frozenset({"ResourceNotFoundException", "NotFound", "404"})
_RUNNING: Final = frozenset({"InProgress"})
FAILURE: Final = "failure"
RELEASE_EVALUATION: Final = "release-evaluation"
# A refused deletion is tried again after these waits (about 2.5 minutes in all, inside the
# function's timeout).
CONFLICT_RETRY_WAITS: Final = (5, 10, 20, 40, 80)
# The sleep between those tries, read at call time (tests replace it; the simulation points it at
# its virtual clock).
SLEEP: Callable[[float], None] = time.sleep
CLI: Final = "bedrock-customize"
DELETED: Final = "deleted"
GONE: Final = "gone"
JUDGED_MODELS: Final = ("custom", "base")


@dataclass
class Released:
    deleted: list[str] = field(default_factory=list)
    deleted_deployments: list[str] = field(default_factory=list)
    kept: list[dict[str, str]] = field(default_factory=list)
    stopped_evaluations: list[str] = field(default_factory=list)
    # Model units x hours from creation to deletion of each no-commitment throughput deleted.
    model_unit_hours: float = 0.0


def plan_from_run_id(run_id: str) -> dict[str, Any]:
    """The names a run's resources carry, derived from its run id alone (no state needed)."""
    return {
        "job": {"JobName": naming.job_name(run_id)},
        "serving": {"ProvisionedModelName": naming.provisioned_model_name(run_id)},
    }


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


@dataclass
class Releaser:
    """Releases a run's Bedrock resources through ``bedrock`` (a boto3 Bedrock client).

    ``error_code`` reads the AWS error code of an exception ('' for anything else);
    ``iso_utc`` and ``hours_between`` read API timestamps; ``now`` is the current time as ISO 8601
    UTC; ``sleep`` waits between tries of a refused deletion (default: :data:`SLEEP` at call time).
    """

    bedrock: Any
    error_code: Callable[[Exception], str]
    iso_utc: Callable[[Any], str | None]
    hours_between: Callable[[Any, Any], float | None]
    now: Callable[[], str]
    sleep: Callable[[float], None] | None = None

    # -- finding ----------------------------------------------------------------------------------

    def _find_throughput_by_name(self, name: str | None) -> str | None:
        """A purchase whose create call succeeded at Bedrock but whose answer never reached the workflow."""
        if not name:
            return None
        paginator = self.bedrock.get_paginator("list_provisioned_model_throughputs")
        for page in paginator.paginate(nameContains=name):
            for summary in page.get("provisionedModelSummaries", []):
                # nameContains is a substring match: another run's name may contain this one.
                if summary.get("provisionedModelName") == name:
                    return str(summary["provisionedModelArn"])
        return None

    def _find_deployment_by_name(self, name: str | None) -> str | None:
        if not name:
            return None
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"nameContains": name}
            if token:
                kwargs["nextToken"] = token
            page = self.bedrock.list_custom_model_deployments(**kwargs)
            for summary in page.get("modelDeploymentSummaries", []):
                if summary.get("customModelDeploymentName") == name:
                    return str(summary["customModelDeploymentArn"])
            token = page.get("nextToken")
            if not token:
                return None

    def find_throughput(self, plan: dict[str, Any], throughput: dict[str, Any] | None) -> str | None:
        """The serving purchase: by the ARN the workflow got back, else by its deterministic name."""
        arn = (throughput or {}).get("ProvisionedModelArn")
        if arn:
            return str(arn)
        return self._find_throughput_by_name((plan.get("serving") or {}).get("ProvisionedModelName"))

    def find_vehicle(self, plan: dict[str, Any], vehicle: dict[str, Any] | None) -> tuple[str, str | None]:
        """(kind, ARN) of the evaluation vehicle: from the workflow's slot, else looked up by name."""
        planned = plan.get("vehicle") or {}
        kind = str(planned.get("kind") or "none")
        arn = (vehicle or {}).get("Arn")
        if arn:
            return str((vehicle or {}).get("Kind") or kind), str(arn)
        if kind == "deployment":
            return kind, self._find_deployment_by_name(planned.get("ModelDeploymentName"))
        if kind == "throughput":
            return kind, self._find_throughput_by_name(planned.get("ProvisionedModelName"))
        return kind, None

    # -- deleting ---------------------------------------------------------------------------------

    def _delete_with_retries(self, delete: Callable[[], Any]) -> str | Exception:
        """Delete, retrying a ConflictException with backoff: DELETED, GONE (already), or the refusal."""
        sleep = self.sleep or SLEEP
        for wait in (*CONFLICT_RETRY_WAITS, None):
            try:
                delete()
                return DELETED
            except Exception as error:
                code = self.error_code(error)
                if code in _GONE:
                    return GONE
                if code != "ConflictException":
                    raise
                if wait is None:
                    return error
                sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def release_throughput(self, arn: str, released: Released) -> None:
        try:
            described = self.bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
        except Exception as error:
            if self.error_code(error) in _GONE:
                return
            raise
        commitment = described.get("commitmentDuration")
        if commitment:
            expires = self.iso_utc(described.get("commitmentExpirationTime")) or "the end of the term"
            released.kept.append(
                {
                    "arn": arn,
                    "reason": (
                        f"{commitment} commitment: billed until {expires} whatever happens, and Bedrock "
                        "refuses to delete it before then; it was kept (release or reuse it after the term)"
                    ),
                }
            )
            return
        outcome = self._delete_with_retries(
            lambda: self.bedrock.delete_provisioned_model_throughput(provisionedModelId=arn)
        )
        if isinstance(outcome, Exception):
            released.kept.append(_refused(arn, outcome, "throughput"))
        elif outcome == DELETED:
            released.deleted.append(arn)
            hours = self.hours_between(described.get("creationTime"), self.now())
            units = described.get("modelUnits")
            if hours is not None and isinstance(units, int) and not isinstance(units, bool):
                released.model_unit_hours += units * hours

    def release_deployment(self, arn: str, released: Released) -> None:
        outcome = self._delete_with_retries(
            lambda: self.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
        )
        if isinstance(outcome, Exception):
            released.kept.append(_refused(arn, outcome, "deployment"))
        elif outcome == DELETED:
            released.deleted_deployments.append(arn)

    def release_vehicle(
        self, plan: dict[str, Any], vehicle: dict[str, Any] | None, released: Released
    ) -> None:
        kind, arn = self.find_vehicle(plan, vehicle)
        if arn is None:
            return
        if kind == "deployment":
            self.release_deployment(arn, released)
        else:
            self.release_throughput(arn, released)

    # -- stopping ---------------------------------------------------------------------------------

    def stop_job(self, plan: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
        """Stop the run's job if it still runs; also return what Bedrock says about it, for the record."""
        name = (plan.get("job") or {}).get("JobName")
        if not name:
            return False, None
        try:
            described = self.bedrock.get_model_customization_job(jobIdentifier=name)
        except Exception as error:
            if self.error_code(error) in _GONE:
                return False, None
            raise
        job = {
            "jobName": name,
            "jobArn": described.get("jobArn"),
            "status": described.get("status"),
            "failureMessage": described.get("failureMessage")
            if described.get("status") == "Failed"
            else None,
            "outputModelArn": described.get("outputModelArn"),
            "createdAt": self.iso_utc(described.get("creationTime")),
            "endedAt": self.iso_utc(described.get("endTime")),
        }
        if described.get("status") not in _RUNNING:
            return False, job
        try:
            self.bedrock.stop_model_customization_job(jobIdentifier=name)
        except Exception as error:
            # Finished or already stopping between the two calls: nothing left to stop.
            if self.error_code(error) in _GONE | {"ConflictException"}:
                return False, job
            raise
        return True, job | {"status": "Stopping"}

    def stop_judge_jobs(self, run_id: str) -> list[str]:
        """Stop the run's LLM-judge evaluation jobs still in progress (their judge tokens are billed).

        Evaluation jobs are addressed by ARN only [BC]; they are found by the names derived from the
        run id (pipeline.naming.judge_job_name). Finished or already stopping jobs are skipped.
        """
        stopped = []
        for which in JUDGED_MODELS:
            name = naming.judge_job_name(run_id, which)
            page = self.bedrock.list_evaluation_jobs(nameContains=name, statusEquals="InProgress")
            for summary in page.get("jobSummaries", []):
                if summary.get("jobName") != name:
                    continue
                try:
                    self.bedrock.stop_evaluation_job(jobIdentifier=summary["jobArn"])
                except Exception as error:
                    if self.error_code(error) in _GONE | {"ConflictException"}:
                        continue
                    raise
                stopped.append(str(summary["jobArn"]))
        return stopped

    def release_run(self, run_id: str) -> tuple[Released, bool, dict[str, Any] | None]:
        """Everything a run created, found by the names its run id gives (no workflow state needed):
        its on-demand deployment, its evaluation and serving throughput, its job, its judge jobs."""
        released = Released()
        deployment = self.find_vehicle(
            {"vehicle": {"kind": "deployment", "ModelDeploymentName": naming.deployment_name(run_id)}}, None
        )[1]
        if deployment is not None:
            self.release_deployment(deployment, released)
        for name in (naming.evaluation_throughput_name(run_id), naming.provisioned_model_name(run_id)):
            arn = self.find_vehicle({"vehicle": {"kind": "throughput", "ProvisionedModelName": name}}, None)[
                1
            ]
            if arn is not None:
                self.release_throughput(arn, released)
        job_stopped, job = self.stop_job(plan_from_run_id(run_id))
        released.stopped_evaluations = self.stop_judge_jobs(run_id)
        return released, job_stopped, job


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
