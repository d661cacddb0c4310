"""Releasing what a run created: the pure core of the cleanup, stopped-run and retrying-release handlers.

Three handlers release a run's resources: ``lambdas.cleanup`` (the workflow's failure path, and the
release of the evaluation vehicle), ``lambdas.run_ended`` (an execution stopped, timed out or broken
from outside, found by the execution-status event) and ``lambdas.release`` (the retrying release:
whatever the first two could not delete yet, tried again until it is gone or a deadline passes;
pipeline.durable_release). Each ships as a Lambda asset of its own that holds ``lambdas/common``,
its handler and ``pipeline``: the logic they share lives here.

Ownership first. A resource is found by the ARN the workflow got back or by the name derived from
the run id, and names recur with run ids (pipeline.ownership): before anything is deleted or
stopped, its tags are read (ListTagsForResource) and must name this very execution. Anything else is
left alone and reported (:attr:`Released.not_owned`), with the command that deletes it by hand.
A serving slot's endpoint (it carries :data:`pipeline.slots.SLOT_TAG`: a first promotion made the
run's own deployment or throughput the slot's) is never deleted nor stopped, even by the execution
that created it: the slot serves applications through it (:attr:`Released.slot_endpoints`). The
stack's IAM deny ``NeverDeleteAServingSlotsEndpoint`` says the same to AWS.

A commitment is never deleted: Bedrock refuses it before the term ends and bills the whole term
anyway, so it is reported. A deletion Bedrock refuses for now (``ConflictException``: a throughput
still Creating) is tried twice more within seconds, then reported as *pending*: the handler hands it
to the retrying release, which keeps trying, and never returns as if it were done. Releasing twice
is harmless: what is already gone is skipped.

Everything with an effect is injected: the Bedrock client, the sleep between tries, the clock.

Calls: bedrock:ListTagsForResource, bedrock:GetProvisionedModelThroughput,
bedrock:ListProvisionedModelThroughputs and bedrock:ListCustomModelDeployments (only when an ARN is
unknown), bedrock:DeleteProvisionedModelThroughput, bedrock:DeleteCustomModelDeployment,
bedrock:GetModelCustomizationJob, bedrock:StopModelCustomizationJob, bedrock:ListEvaluationJobs,
bedrock:StopEvaluationJob.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from pipeline import judge as judging
from pipeline import naming
from pipeline.ownership import GONE, Execution, owner_of
from pipeline.slots import SLOT_TAG

_RUNNING: Final = frozenset({"InProgress"})
FAILURE: Final = "failure"
RELEASE_EVALUATION: Final = "release-evaluation"
# A refused deletion is tried again after these waits (seconds); still refused, it is pending and
# goes to the retrying release (a throughput leaves Creating in tens of minutes, not seconds).
CONFLICT_RETRY_WAITS: Final = (5, 10)
# The sleep between those tries, read at call time (tests replace it; the simulation points it at
# its virtual clock).
SLEEP: Callable[[float], None] = time.sleep
CLI: Final = "bedrock-customize"
DELETED: Final = "deleted"
# Every model a run's judge may have a job for (pipeline.judge): the champion's job exists only in a
# serving slot with a champion; a name no job carries lists nothing.
JUDGED_MODELS: Final = (*judging.MODELS, judging.CHAMPION)
THROUGHPUT: Final = "throughput"
DEPLOYMENT: Final = "deployment"
JOB: Final = "customization job"
EVALUATION_JOB: Final = "evaluation job"


def delete_command(kind: str, arn: str, *, env: str | None, region: str | None) -> str:
    """The command a person runs to delete one resource by its ARN, where the run ran.

    Throughput through the CLI (it refuses a commitment and shows the hourly cost first); a
    deployment through the AWS CLI (the pipeline's CLI has no per-deployment delete).
    """
    if kind == THROUGHPUT:
        parts = [CLI, "throughput", "delete", arn]
        if env:
            parts += ["--env", env]
    elif kind == DEPLOYMENT:
        parts = [
            "aws",
            "bedrock",
            "delete-custom-model-deployment",
            "--custom-model-deployment-identifier",
            arn,
        ]
    elif kind == JOB:
        parts = ["aws", "bedrock", "stop-model-customization-job", "--job-identifier", arn]
    else:
        parts = ["aws", "bedrock", "stop-evaluation-job", "--job-identifier", arn]
    if region:
        parts += ["--region", region]
    return " ".join(parts)


@dataclass
class Released:
    """What one release found and did."""

    deleted: list[str] = field(default_factory=list)  # throughput ARNs
    deleted_deployments: list[str] = field(default_factory=list)
    # Commitments: {"arn", "reason"}; never deleted.
    kept: list[dict[str, str]] = field(default_factory=list)
    # Owned, no commitment, refused for now: {"kind", "arn", "reason"}; for the retrying release.
    pending: list[dict[str, str]] = field(default_factory=list)
    # Found by name or ARN, created by another execution (or untagged): {"kind", "arn", "owner"}.
    not_owned: list[dict[str, str]] = field(default_factory=list)
    # A serving slot's endpoint, found by the run's names or ARNs: {"kind", "arn", "slot"}; never deleted.
    slot_endpoints: list[dict[str, str]] = field(default_factory=list)
    stopped_evaluations: list[str] = field(default_factory=list)
    # Model units x hours from creation to deletion of each no-commitment throughput deleted.
    model_unit_hours: float = 0.0

    def handled(self, arn: str) -> bool:
        return (
            arn in self.deleted
            or arn in self.deleted_deployments
            or any(
                arn == item["arn"]
                for item in (*self.kept, *self.pending, *self.not_owned, *self.slot_endpoints)
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "deleted": self.deleted,
            "deletedDeployments": self.deleted_deployments,
            "kept": self.kept,
            "pending": self.pending,
            "notOwned": self.not_owned,
            "slotEndpoints": self.slot_endpoints,
            "stoppedEvaluationJobs": self.stopped_evaluations,
        }


def plan_from_run_id(run_id: str) -> dict[str, Any]:
    """The names a run's resources carry, derived from its run id alone (no state needed)."""
    return {
        "job": {"JobName": naming.job_name(run_id)},
        "serving": {"ProvisionedModelName": naming.provisioned_model_name(run_id)},
    }


@dataclass
class Releaser:
    """Releases what ``owner`` created, through ``bedrock`` (a boto3 Bedrock client).

    ``owner`` None: the execution is unknown (an execution started before execution tags existed):
    nothing is owned, everything found is reported. ``error_code`` reads the AWS error code of an
    exception ('' for anything else); ``iso_utc`` and ``hours_between`` read API timestamps; ``now``
    is the current time as ISO 8601 UTC; ``sleep`` waits between tries of a refused deletion
    (default: :data:`SLEEP` at call time).
    """

    bedrock: Any
    error_code: Callable[[Exception], str]
    iso_utc: Callable[[Any], str | None]
    hours_between: Callable[[Any, Any], float | None]
    now: Callable[[], str]
    owner: Execution | None
    sleep: Callable[[float], None] | None = None

    # -- ownership --------------------------------------------------------------------------------

    def _tags(self, arn: str) -> dict[str, str] | None:
        """The resource's tags; None when it is gone."""
        try:
            response = self.bedrock.list_tags_for_resource(resourceARN=arn)
        except Exception as error:
            if self.error_code(error) in GONE:
                return None
            raise
        return {str(t["key"]): str(t["value"]) for t in response.get("tags", [])}

    def owned(self, kind: str, arn: str, released: Released) -> bool:
        """Whether this execution created ``arn`` and may release it; if another did, or a serving
        slot serves through it, it is reported and left alone."""
        tags = self._tags(arn)
        if tags is None:
            return False
        if SLOT_TAG in tags:
            released.slot_endpoints.append({"kind": kind, "arn": arn, "slot": tags[SLOT_TAG]})
            return False
        if self.owner is not None and self.owner.owns(tags):
            return True
        released.not_owned.append({"kind": kind, "arn": arn, "owner": owner_of(tags)})
        return False

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
        if kind == DEPLOYMENT:
            return kind, self._find_deployment_by_name(planned.get("ModelDeploymentName"))
        if kind == THROUGHPUT:
            return kind, self._find_throughput_by_name(planned.get("ProvisionedModelName"))
        return kind, None

    # -- deleting ---------------------------------------------------------------------------------

    def _delete_with_retries(self, delete: Callable[[], Any]) -> str | Exception | None:
        """Delete, retrying a ConflictException briefly: DELETED, None (gone already), or the refusal."""
        sleep = self.sleep or SLEEP
        for wait in (*CONFLICT_RETRY_WAITS, None):
            try:
                delete()
                return DELETED
            except Exception as error:
                code = self.error_code(error)
                if code in GONE:
                    return None
                if code != "ConflictException":
                    raise
                if wait is None:
                    return error
                sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns

    def release_throughput(self, arn: str, released: Released) -> None:
        if released.handled(arn) or not self.owned(THROUGHPUT, arn, released):
            return
        try:
            described = self.bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
        except Exception as error:
            if self.error_code(error) in GONE:
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
            released.pending.append(
                {
                    "kind": THROUGHPUT,
                    "arn": arn,
                    "reason": (
                        f"Bedrock refused the deletion for now ({outcome}); status {described.get('status')}"
                    ),
                }
            )
        elif outcome == DELETED:
            released.deleted.append(arn)
            hours = self.hours_between(described.get("creationTime"), self.now())
            units = described.get("modelUnits")
            if hours is not None and isinstance(units, int) and not isinstance(units, bool):
                released.model_unit_hours += units * hours

    def release_deployment(self, arn: str, released: Released) -> None:
        if released.handled(arn) or not self.owned(DEPLOYMENT, arn, released):
            return
        outcome = self._delete_with_retries(
            lambda: self.bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
        )
        if isinstance(outcome, Exception):
            released.pending.append(
                {
                    "kind": DEPLOYMENT,
                    "arn": arn,
                    "reason": f"Bedrock refused the deletion for now ({outcome})",
                }
            )
        elif outcome == DELETED:
            released.deleted_deployments.append(arn)

    def release(self, kind: str, arn: str, released: Released) -> None:
        if kind == DEPLOYMENT:
            self.release_deployment(arn, released)
        else:
            self.release_throughput(arn, released)

    def release_vehicle(
        self, plan: dict[str, Any], vehicle: dict[str, Any] | None, released: Released
    ) -> None:
        kind, arn = self.find_vehicle(plan, vehicle)
        if arn is not None:
            self.release(kind, arn, released)

    # -- stopping ---------------------------------------------------------------------------------

    def stop_job(self, plan: dict[str, Any], released: Released) -> tuple[bool, dict[str, Any] | None]:
        """Stop the run's job if it still runs; also return what Bedrock says about it, for the record.

        A job of the same name that another execution created is not this run's: it is neither
        stopped nor described as this run's job (reported only while it runs)."""
        name = (plan.get("job") or {}).get("JobName")
        if not name:
            return False, None
        try:
            described = self.bedrock.get_model_customization_job(jobIdentifier=name)
        except Exception as error:
            if self.error_code(error) in GONE:
                return False, None
            raise
        arn = str(described.get("jobArn") or name)
        running = described.get("status") in _RUNNING
        tags = self._tags(arn)
        if tags is None:
            return False, None
        if self.owner is None or not self.owner.owns(tags):
            if running:
                released.not_owned.append({"kind": JOB, "arn": arn, "owner": owner_of(tags)})
            return False, None
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
        if not running:
            return False, job
        try:
            self.bedrock.stop_model_customization_job(jobIdentifier=name)
        except Exception as error:
            # Finished or already stopping between the two calls: nothing left to stop.
            if self.error_code(error) in GONE | {"ConflictException"}:
                return False, job
            raise
        return True, job | {"status": "Stopping"}

    def stop_judge_jobs(self, run_id: str, released: Released) -> list[str]:
        """Stop the run's LLM-judge evaluation jobs still in progress (their judge tokens are billed).

        Evaluation jobs are addressed by ARN only [BC]; they are found by the names derived from the
        run id (pipeline.naming.judge_job_name). Finished or already stopping jobs are skipped, and
        so are jobs another execution created (reported).
        """
        stopped = []
        for which in JUDGED_MODELS:
            name = naming.judge_job_name(run_id, which)
            page = self.bedrock.list_evaluation_jobs(nameContains=name, statusEquals="InProgress")
            for summary in page.get("jobSummaries", []):
                if summary.get("jobName") != name:
                    continue
                arn = str(summary["jobArn"])
                if not self.owned(EVALUATION_JOB, arn, released):
                    continue
                try:
                    self.bedrock.stop_evaluation_job(jobIdentifier=arn)
                except Exception as error:
                    if self.error_code(error) in GONE | {"ConflictException"}:
                        continue
                    raise
                stopped.append(arn)
        return stopped

    def release_run(
        self, run_id: str, known: Iterable[dict[str, str]] = ()
    ) -> tuple[Released, bool, dict[str, Any] | None]:
        """Everything the run created, found by the names its run id gives (no workflow state needed)
        and by the ARNs in ``known`` (``{"kind", "arn"}``): its on-demand deployment, its evaluation
        and serving throughput, its job, its judge jobs. Only what this execution owns is touched."""
        released = Released()
        for item in known:
            self.release(item["kind"], item["arn"], released)
        deployment = self._find_deployment_by_name(naming.deployment_name(run_id))
        if deployment is not None:
            self.release_deployment(deployment, released)
        for name in (naming.evaluation_throughput_name(run_id), naming.provisioned_model_name(run_id)):
            arn = self._find_throughput_by_name(name)
            if arn is not None:
                self.release_throughput(arn, released)
        job_stopped, job = self.stop_job(plan_from_run_id(run_id), released)
        released.stopped_evaluations = self.stop_judge_jobs(run_id, released)
        return released, job_stopped, job


def summarize(
    released: Released,
    job_stopped: bool,
    job: dict[str, Any] | None,
    mode: str = FAILURE,
    *,
    env: str | None = None,
    region: str | None = None,
) -> str:
    parts = []
    if released.deleted_deployments:
        parts.append(f"deleted on-demand deployment {', '.join(released.deleted_deployments)}")
    if released.deleted:
        parts.append(f"deleted provisioned throughput {', '.join(released.deleted)}")
    for item in released.kept:
        parts.append(f"KEPT {item['arn']}: {item['reason']}")
    for item in released.pending:
        parts.append(
            f"NOT YET DELETED {item['kind']} {item['arn']} ({item['reason']}): handed to the retrying "
            f"release, which tries again until it is gone; to delete it yourself: "
            f"{delete_command(item['kind'], item['arn'], env=env, region=region)}"
        )
    for item in released.not_owned:
        parts.append(
            f"LEFT ALONE {item['kind']} {item['arn']}: created by {item['owner']}, not by this "
            "execution; if it is a leftover: "
            f"{delete_command(item['kind'], item['arn'], env=env, region=region)}"
        )
    for item in released.slot_endpoints:
        parts.append(
            f"LEFT ALONE {item['kind']} {item['arn']}: the endpoint of serving slot {item['slot']}, "
            "never deleted by a cleanup"
        )
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
