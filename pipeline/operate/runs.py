"""A run as the operator sees it: Step Functions execution + Bedrock job + throughput + S3 artifacts.

The execution is named after the run id (docs/workflow-contract.md), so a run is found by name.
Where it is comes from the execution history: the last state entered is the current state, the
last state exited carries the state document (``$.preflight``, ``$.loss``, ``$.throughput``, ...)
as far as the run got. Nothing is stored by the CLI itself.

Cost so far = the training estimate (once a job exists) + the throughput's hourly price x hours
since it was bought (Bedrock bills from creation until deletion). Unknown prices stay unknown.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TextIO

from pipeline import naming
from pipeline.costs import format_usd
from pipeline.operate import output, throughput
from pipeline.operate.aws import Clients
from pipeline.operate.discovery import Deployment
from pipeline.operate.errors import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_OPERATIONAL,
    InvalidInputError,
    OperationalError,
    UnknownRunError,
    error_code,
)
from pipeline.operate.throughput import Throughput
from pipeline.plan import RUNS_PREFIX

CLI: Final = "bedrock-customize"
RUN_ID_RE: Final = re.compile(r"[0-9A-Za-z_-]{1,80}")
STATUSES: Final = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
APPROVAL_STATE: Final = "Ask for approval"
NOT_FOUND: Final = frozenset({"NoSuchKey", "404", "NotFound"})

# State names of infra/constructs/customization_workflow.py, by prefix, and what they mean to people.
_STAGES: Final = (
    ("Start the run", "preflight"),
    ("Check the run spec", "preflight"),
    ("Is the run spec valid", "preflight"),
    ("Preflight failed", "preflight failed"),
    ("Which kind of customization job", "training"),
    ("Train the custom model", "training"),
    ("Distill the teacher", "training"),
    ("Read training and validation loss", "loss gate"),
    ("Is the loss within the bar", "loss gate"),
    ("Loss above the bar", "loss gate failed"),
    ("Does the run buy provisioned throughput", "loss gate"),
    ("Is approval required", "approval"),
    (APPROVAL_STATE, "waiting for approval"),
    ("Approval timed out", "approval timed out"),
    ("Was the purchase approved", "approval"),
    ("Purchase rejected", "purchase rejected"),
    ("Which commitment", "buying throughput"),
    ("Buy provisioned throughput", "buying throughput"),
    ("Start waiting for the throughput", "waiting for throughput"),
    ("Wait for the throughput", "waiting for throughput"),
    ("Check the throughput status", "waiting for throughput"),
    ("Is the throughput in service", "waiting for throughput"),
    ("Schedule the next status check", "waiting for throughput"),
    ("Throughput failed", "throughput failed"),
    ("Throughput not in service", "throughput failed"),
    ("Compare the custom model", "evaluating"),
    ("Does the custom model meet the bar", "evaluating"),
    ("Custom model below the bar", "evaluation failed"),
    ("Record the run", "recording"),
    ("Notify: run succeeded", "recording"),
    ("Run complete", "done"),
    ("Release what this run bought", "cleaning up"),
    ("Record the failed run", "cleaning up"),
    ("Compose a notice", "cleaning up"),
    ("Notify: run failed", "cleaning up"),
    ("Run failed", "failed"),
)
BUY_STATE: Final = "Buy provisioned throughput"
CLEANUP_STATE: Final = "Release what this run bought"


def stage_of(state: str | None) -> str:
    if not state:
        return "starting"
    for prefix, stage in _STAGES:
        if state.startswith(prefix):
            return stage
    return state


def check_run_id(text: str) -> str:
    """A run id, or the name at the end of an execution ARN."""
    run_id = text.rsplit(":", 1)[-1] if text.startswith("arn:") else text
    if not RUN_ID_RE.fullmatch(run_id):
        raise InvalidInputError(
            f"{text!r} is not a run id",
            hint=f"run ids look like support-bot-v1-3f9a2c1b7d; list them with `{CLI} list`",
        )
    return run_id


# --------------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    """The execution's events, oldest first."""

    events: tuple[Mapping[str, Any], ...]

    @classmethod
    def fetch(cls, sfn: Any, execution_arn: str) -> History:
        events: list[Mapping[str, Any]] = []
        paginator = sfn.get_paginator("get_execution_history")
        for page in paginator.paginate(
            executionArn=execution_arn, includeExecutionData=True, maxResults=1000
        ):
            events += page.get("events", [])
        return cls(tuple(sorted(events, key=lambda e: int(e.get("id", 0)))))

    def _named(self, kind: str) -> Iterable[tuple[str, Mapping[str, Any]]]:
        for event in self.events:
            details = event.get(kind)
            if isinstance(details, Mapping) and details.get("name"):
                yield str(details["name"]), event

    def current_state(self) -> str | None:
        """The last state entered."""
        entered = list(self._named("stateEnteredEventDetails"))
        return entered[-1][0] if entered else None

    def entered_at(self, prefix: str) -> dt.datetime | None:
        """When a state (by name prefix) was last entered."""
        times = [
            e.get("timestamp")
            for name, e in self._named("stateEnteredEventDetails")
            if name.startswith(prefix)
        ]
        return output.parse_time(times[-1]) if times else None

    def exited_at(self, prefix: str) -> dt.datetime | None:
        times = [
            e.get("timestamp")
            for name, e in self._named("stateExitedEventDetails")
            if name.startswith(prefix)
        ]
        return output.parse_time(times[-1]) if times else None

    def state_document(self) -> dict[str, Any]:
        """The state document as the last state that finished left it (``{}`` before the first)."""
        for _name, event in reversed(list(self._named("stateExitedEventDetails"))):
            raw = event["stateExitedEventDetails"].get("output")
            if isinstance(raw, str):
                try:
                    doc = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(doc, dict):
                    return doc
        return {}

    def failure(self) -> tuple[str | None, str | None]:
        for event in reversed(self.events):
            for key in (
                "executionFailedEventDetails",
                "executionAbortedEventDetails",
                "executionTimedOutEventDetails",
            ):
                details = event.get(key)
                if isinstance(details, Mapping):
                    return details.get("error"), details.get("cause")
        return None, None


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """The customization job as GetModelCustomizationJob (or the .sync result) reports it."""

    name: str
    arn: str | None
    status: str | None
    created: dt.datetime | None
    ended: dt.datetime | None
    output_model_arn: str | None
    training_loss: float | None
    validation_loss: float | None
    failure_message: str | None
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, name: str, item: Mapping[str, Any]) -> Job:
        """camelCase from boto3, PascalCase from the Step Functions .sync result: both accepted."""

        def get(key: str) -> Any:
            return item.get(key, item.get(key[0].upper() + key[1:]))

        validation = [
            v.get("validationLoss", v.get("ValidationLoss"))
            for v in get("validationMetrics") or []
            if isinstance(v, Mapping)
        ]
        numbers = [float(v) for v in validation if isinstance(v, int | float)]
        training = (get("trainingMetrics") or {}).get("trainingLoss")
        return cls(
            name=str(get("jobName") or name),
            arn=get("jobArn"),
            status=get("status"),
            created=output.parse_time(get("creationTime")),
            ended=output.parse_time(get("endTime")),
            output_model_arn=get("outputModelArn"),
            training_loss=float(training) if isinstance(training, int | float) else None,
            validation_loss=max(numbers) if numbers else None,
            failure_message=get("failureMessage"),
            details=dict(get("statusDetails") or {}),
        )

    def progress(self, now: dt.datetime) -> str:
        text = self.status or "unknown"
        if self.created is not None:
            text += f" for {output.duration(((self.ended or now) - self.created).total_seconds())}"
        stages = [
            f"{label} {self.details[key].get('status')}"
            for key, label in (
                ("validationDetails", "validation"),
                ("dataProcessingDetails", "data processing"),
                ("trainingDetails", "training"),
            )
            if isinstance(self.details.get(key), Mapping) and self.details[key].get("status")
        ]
        if stages:
            text += f" ({', '.join(stages)})"
        if self.failure_message:
            text += f": {self.failure_message}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "status": self.status,
            "createdAt": output.iso(self.created),
            "endedAt": output.iso(self.ended),
            "outputModelArn": self.output_model_arn,
            "trainingLoss": self.training_loss,
            "validationLoss": self.validation_loss,
            "failureMessage": self.failure_message,
            "statusDetails": {k: dict(v) for k, v in self.details.items() if isinstance(v, Mapping)},
        }


@dataclass
class RunView:
    run_id: str
    environment: str
    region: str
    execution_arn: str
    status: str
    started: dt.datetime | None
    stopped: dt.datetime | None
    current_state: str | None
    spec: dict[str, Any] | None
    state: dict[str, Any]
    error: str | None
    cause: str | None
    now: dt.datetime
    job: Job | None = None
    throughput: Throughput | None = None
    throughput_arn: str | None = None
    purchased_at: dt.datetime | None = None
    released_at: dt.datetime | None = None
    approval_request: dict[str, Any] | None = None

    # ---- what the state document says ---------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.status not in ("RUNNING", "PENDING_REDRIVE")

    @property
    def preflight(self) -> dict[str, Any]:
        return self.state.get("preflight") or {}

    @property
    def plan(self) -> dict[str, Any]:
        return self.preflight.get("plan") or {}

    @property
    def estimate(self) -> dict[str, Any]:
        return self.plan.get("estimate") or {}

    @property
    def stage(self) -> str:
        if self.status == "SUCCEEDED":
            return "done"
        if self.status == "ABORTED":
            return "cancelled"
        if self.status == "TIMED_OUT":
            return "timed out"
        return stage_of(self.current_state)

    @property
    def waiting_for_approval(self) -> bool:
        return self.status == "RUNNING" and self.current_state == APPROVAL_STATE

    @property
    def base_model(self) -> str | None:
        return (self.spec or {}).get("baseModel") or self.plan.get("baseModel")

    @property
    def customization_type(self) -> str | None:
        return (self.spec or {}).get("customizationType") or self.plan.get("customizationType")

    @property
    def loss(self) -> dict[str, Any]:
        return self.state.get("loss") or {}

    @property
    def evaluation(self) -> dict[str, Any]:
        return self.state.get("evaluation") or {}

    @property
    def custom_model_arn(self) -> str | None:
        sync_job = self.state.get("job") or {}
        return (
            self.loss.get("outputModelArn")
            or (self.job.output_model_arn if self.job else None)
            or sync_job.get("OutputModelArn")
            or sync_job.get("outputModelArn")
        )

    @property
    def failure(self) -> dict[str, Any] | None:
        failure = self.state.get("failure")
        if isinstance(failure, dict) and failure.get("Error"):
            return failure
        if self.error or self.cause:
            return {"Error": self.error, "Cause": self.cause}
        return None

    @property
    def job_started(self) -> bool:
        return self.job is not None or bool(self.state.get("job"))

    # ---- time and money -----------------------------------------------------------------------

    def elapsed_seconds(self) -> float | None:
        if self.started is None:
            return None
        return ((self.stopped or self.now) - self.started).total_seconds()

    def throughput_cost(self) -> float | None:
        """Hourly price x hours since the purchase, until deletion (or now while it exists)."""
        if self.throughput_arn is None:
            return 0.0
        if self.throughput is not None:
            return self.throughput.cost_so_far(self.now)
        hourly = self.estimate.get("throughputHourlyUsd")
        if not isinstance(hourly, int | float) or self.purchased_at is None:
            return None
        end = self.released_at or self.stopped or self.now
        return float(hourly) * max(0.0, (end - self.purchased_at).total_seconds()) / 3600

    def cost_so_far(self) -> output.Money:
        parts: dict[str, float | None] = {}
        if self.job_started:
            training = self.estimate.get("trainingUsd")
            parts["training"] = float(training) if isinstance(training, int | float) else None
        if self.throughput_arn is not None:
            parts["throughput"] = self.throughput_cost()
        return output.Money.of(parts)

    def outcome_exit_code(self) -> int:
        """What ``watch``/``start --wait`` exit with: 0 succeeded, 2 invalid input, 1 otherwise."""
        if self.status == "SUCCEEDED":
            return EXIT_OK
        failure = self.failure or {}
        if failure.get("Error") == "PreflightFailed":
            return EXIT_INVALID
        return EXIT_OPERATIONAL

    # ---- rendering ----------------------------------------------------------------------------

    def next_steps(self) -> list[str]:
        steps: list[str] = []
        env = f" --env {self.environment}" if self.environment != "dev" else ""
        if self.waiting_for_approval:
            steps.append(f"{CLI} approve {self.run_id}{env}")
            steps.append(f'{CLI} reject {self.run_id}{env} --reason "..."')
        elif not self.finished:
            steps.append(f"{CLI} watch {self.run_id}{env}")
        if self.finished or self.loss:
            steps.append(f"{CLI} report {self.run_id}{env}")
        if self.throughput is not None and not self.throughput.has_commitment and self.finished:
            steps.append(f"{CLI} throughput delete {self.run_id}{env}   # billed hourly until deleted")
        return steps

    def progress_line(self) -> str:
        """One line for ``watch``: stage, job, losses, cost."""
        parts = [f"{self.status.lower()}: {self.stage}"]
        if self.job is not None and not self.loss:
            parts.append(f"job {self.job.progress(self.now)}")
        if self.loss:
            parts.append(_loss_text(self.loss))
        if self.throughput is not None:
            parts.append(f"throughput {self.throughput.status}")
        if self.evaluation:
            parts.append("evaluation " + ("passed" if self.evaluation.get("passed") else "failed"))
        parts.append(f"cost so far {self.cost_so_far()}")
        if self.waiting_for_approval:
            parts.append(f"run `{CLI} approve {self.run_id}` or `reject`")
        return " | ".join(parts)

    def render(self) -> str:
        pairs: list[tuple[str, Any]] = [
            ("Run", f"{self.run_id} (environment {self.environment}, {self.region})"),
            (
                "Status",
                f"{self.status}: {self.stage}"
                + (f' (state "{self.current_state}")' if not self.finished else ""),
            ),
            (
                "Started",
                f"{output.utc(self.started)} ({output.duration(self.elapsed_seconds())} "
                + ("elapsed)" if not self.finished else f"total, ended {output.utc(self.stopped)})"),
            ),
            ("Base model", f"{self.base_model or '-'} ({self.customization_type or '-'})"),
        ]
        preflight = self.preflight
        if preflight:
            pairs.append(
                ("Preflight", preflight.get("summary") or ("valid" if preflight.get("valid") else "invalid"))
            )
        if self.job is not None:
            pairs.append(("Job", f"{self.job.name}: {self.job.progress(self.now)}"))
        if self.loss:
            pairs.append(("Loss", f"{_loss_text(self.loss)}\n{self.loss.get('summary', '')}".rstrip()))
        if self.custom_model_arn:
            pairs.append(("Custom model", self.custom_model_arn))
        if self.waiting_for_approval:
            request = self.approval_request or {}
            expires = output.parse_time(request.get("expiresAt"))
            pairs.append(
                (
                    "Approval",
                    "waiting since "
                    + output.utc(output.parse_time(request.get("requestedAt")))
                    + (f", expires {output.utc(expires)} (no answer = rejected)" if expires else ""),
                )
            )
        approval = self.state.get("approval")
        if isinstance(approval, dict) and "approved" in approval:
            verdict = "approved" if approval.get("approved") else "rejected"
            pairs.append(("Approval", f"{verdict} by {approval.get('approver')}: {approval.get('reason')}"))
        if self.throughput_arn:
            pairs.append(("Throughput", _throughput_text(self)))
        if self.evaluation:
            pairs.append(("Evaluation", _evaluation_text(self.evaluation)))
        cleanup = self.state.get("cleanup")
        if isinstance(cleanup, dict) and cleanup.get("summary"):
            pairs.append(("Cleanup", cleanup["summary"]))
        failure = self.failure
        if failure:
            pairs.append(("Failure", f"{failure.get('Error')}: {failure.get('Cause')}"))
        pairs.append(("Cost so far", _cost_text(self)))
        storage = self.estimate.get("storageMonthlyUsd")
        if self.custom_model_arn:
            pairs.append(
                (
                    "Recurring",
                    f"custom model storage {output.usd_rate(storage, 'month')} while the model exists",
                )
            )
        steps = self.next_steps()
        if steps:
            pairs.append(("Next", "\n".join(steps)))
        return output.key_values(pairs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "environment": self.environment,
            "region": self.region,
            "executionArn": self.execution_arn,
            "status": self.status,
            "stage": self.stage,
            "currentState": self.current_state,
            "startedAt": output.iso(self.started),
            "stoppedAt": output.iso(self.stopped),
            "elapsedSeconds": self.elapsed_seconds(),
            "baseModel": self.base_model,
            "customizationType": self.customization_type,
            "customModelArn": self.custom_model_arn,
            "job": self.job.to_dict() if self.job else None,
            "preflight": {k: self.preflight.get(k) for k in ("valid", "summary", "reportUri")}
            if self.preflight
            else None,
            "loss": self.loss or None,
            "approval": self.state.get("approval"),
            "waitingForApproval": self.waiting_for_approval,
            "approvalRequest": _public_request(self.approval_request),
            "throughputArn": self.throughput_arn,
            "throughput": self.throughput.to_dict(self.now) if self.throughput else None,
            "throughputDeleted": self.throughput_arn is not None and self.throughput is None,
            "evaluation": self.evaluation or None,
            "cleanup": self.state.get("cleanup"),
            "failure": self.failure,
            "estimate": self.estimate or None,
            "costSoFar": self.cost_so_far().to_dict(),
            "next": self.next_steps(),
        }


def _public_request(request: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The approval request without its task token (the token is a credential to buy)."""
    if not request:
        return None
    return {k: v for k, v in request.items() if k != "taskToken"}


def _num(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) and not isinstance(value, bool) else "unknown"


def _loss_text(loss: Mapping[str, Any]) -> str:
    verdict = "passed" if loss.get("passed") else "failed"
    return (
        f"loss gate {verdict}: training {_num(loss.get('trainingLoss'))}, "
        f"validation {_num(loss.get('validationLoss'))}"
    )


def _evaluation_text(evaluation: Mapping[str, Any]) -> str:
    custom, base = evaluation.get("custom") or {}, evaluation.get("base") or {}
    verdict = "passed" if evaluation.get("passed") else "failed"
    return (
        f"{verdict}: quality custom {_num(custom.get('quality'))} vs base {_num(base.get('quality'))}\n"
        f"{evaluation.get('summary', '')}"
    ).rstrip()


def _throughput_text(view: RunView) -> str:
    if view.throughput is None:
        released = f" at {output.utc(view.released_at)}" if view.released_at else ""
        return f"{view.throughput_arn} (deleted{released})"
    pt = view.throughput
    commitment = (
        "no commitment"
        if not pt.has_commitment
        else f"{pt.commitment} until {output.utc(pt.commitment_expires)}"
    )
    return (
        f"{pt.arn}\n{pt.status}, {pt.model_units} MU, {commitment}, "
        f"{output.usd_rate(pt.hourly_usd(), 'hour')} ({output.usd_rate(pt.per_day_usd(), 'day')})"
    )


def _cost_text(view: RunView) -> str:
    """Total first, then each part; an unknown part keeps the total a lower bound or unknown."""
    money = view.cost_so_far()
    parts = []
    if view.job_started:
        parts.append(f"training estimate {output.usd(view.estimate.get('trainingUsd'))}")
    if view.throughput_arn is not None:
        parts.append(f"throughput {output.usd(view.throughput_cost())}")
    if not parts:
        return "$0.00 (nothing billed yet)"
    if money.complete:
        total = str(money)
    else:
        total = output.UNKNOWN if money.known == 0 else f">= {format_usd(money.known)}"
    return f"{total} ({'; '.join(parts)})"


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def describe_execution(sfn: Any, deployment: Deployment, run_id: str) -> dict[str, Any] | None:
    """The execution of a run, or None when there is none."""
    try:
        return dict(sfn.describe_execution(executionArn=deployment.execution_arn(run_id)))
    except Exception as exc:
        if error_code(exc) in ("ExecutionDoesNotExist", "InvalidArn"):
            return None
        raise


def unknown_run(run_id: str, deployment: Deployment) -> UnknownRunError:
    return UnknownRunError(
        f"no run {run_id!r} in the {deployment.environment!r} environment ({deployment.region})",
        hint=f"list runs with `{CLI} list --env {deployment.environment} --region {deployment.region}`",
    )


def load_run(
    clients: Clients,
    deployment: Deployment,
    run_id: str,
    *,
    now: dt.datetime | None = None,
    throughputs: Mapping[str, Throughput] | None = None,
    with_job: bool = True,
    with_request: bool = True,
) -> RunView:
    """Everything known about a run. ``throughputs`` (by run id) saves a lookup per run in ``list``."""
    sfn = clients("stepfunctions")
    described = describe_execution(sfn, deployment, run_id)
    if described is None:
        raise unknown_run(run_id, deployment)
    history = History.fetch(sfn, deployment.execution_arn(run_id))
    state = history.state_document()
    if described.get("status") == "SUCCEEDED" and isinstance(described.get("output"), str):
        with contextlib.suppress(json.JSONDecodeError):
            state = json.loads(described["output"]) or state
    spec = None
    try:
        spec = (json.loads(described.get("input") or "{}") or {}).get("runSpec")
    except (json.JSONDecodeError, AttributeError):
        spec = None
    error, cause = history.failure()
    view = RunView(
        run_id=run_id,
        environment=deployment.environment,
        region=deployment.region,
        execution_arn=deployment.execution_arn(run_id),
        status=str(described.get("status")),
        started=output.parse_time(described.get("startDate")),
        stopped=output.parse_time(described.get("stopDate")),
        current_state=history.current_state(),
        spec=spec if isinstance(spec, dict) else None,
        state=state,
        error=described.get("error") or error,
        cause=described.get("cause") or cause,
        now=now or dt.datetime.now(dt.UTC),
        purchased_at=history.exited_at(BUY_STATE),
        released_at=history.exited_at(CLEANUP_STATE),
    )
    bedrock = None
    if with_job and view.preflight.get("valid"):
        bedrock = clients("bedrock")
        view.job = _job(bedrock, view)
    pt_arn = (state.get("throughput") or {}).get("ProvisionedModelArn")
    if throughputs is not None:
        view.throughput = throughputs.get(run_id)
        view.throughput_arn = view.throughput.arn if view.throughput else pt_arn
    elif pt_arn:
        view.throughput_arn = str(pt_arn)
        view.throughput = throughput.describe(bedrock or clients("bedrock"), str(pt_arn))
    if with_request and view.waiting_for_approval:
        view.approval_request = read_run_json(clients, deployment, run_id, "approval-request.json")
    return view


def _job(bedrock: Any, view: RunView) -> Job | None:
    name = (view.plan.get("job") or {}).get("JobName") or naming.job_name(view.run_id)
    try:
        return Job.from_api(str(name), bedrock.get_model_customization_job(jobIdentifier=name))
    except Exception as exc:
        if error_code(exc) in ("ResourceNotFoundException", "ValidationException"):
            sync = view.state.get("job")
            return Job.from_api(str(name), sync) if isinstance(sync, Mapping) and sync else None
        raise


def read_run_json(clients: Clients, deployment: Deployment, run_id: str, name: str) -> dict[str, Any] | None:
    """One of the run's documents under runs/<runId>/, or None when it is not (yet) there."""
    try:
        response = clients("s3").get_object(
            Bucket=deployment.training_bucket, Key=f"{RUNS_PREFIX}{run_id}/{name}"
        )
    except Exception as exc:
        if error_code(exc) in NOT_FOUND:
            return None
        raise
    with response["Body"] as body:
        doc = json.loads(body.read())
    return doc if isinstance(doc, dict) else None


def list_runs(
    clients: Clients,
    deployment: Deployment,
    *,
    statuses: Iterable[str] = (),
    limit: int = 20,
    now: dt.datetime | None = None,
) -> list[RunView]:
    """The most recent runs (newest first), with their throughput and cost so far."""
    sfn = clients("stepfunctions")
    wanted: list[str | None] = [*dict.fromkeys(statuses)] or [None]
    executions: list[Mapping[str, Any]] = []
    for status in wanted:
        paginator = sfn.get_paginator("list_executions")
        params: dict[str, Any] = {"stateMachineArn": deployment.state_machine_arn}
        if status is not None:
            params["statusFilter"] = status
        for page in paginator.paginate(**params, PaginationConfig={"MaxItems": limit}):
            executions += page.get("executions", [])
    executions.sort(
        key=lambda e: output.parse_time(e.get("startDate")) or dt.datetime.min.replace(tzinfo=dt.UTC),
        reverse=True,
    )
    by_run = {t.run_id: t for t in throughput.inventory(clients("bedrock")) if t.run_id}
    now = now or dt.datetime.now(dt.UTC)
    views = []
    for execution in executions[:limit]:
        run_id = str(execution["name"])
        views.append(
            load_run(
                clients,
                deployment,
                run_id,
                now=now,
                throughputs=by_run,
                with_job=execution.get("status") == "RUNNING",
                with_request=False,
            )
        )
    return views


def running_run_ids(clients: Clients, deployment: Deployment) -> set[str]:
    paginator = clients("stepfunctions").get_paginator("list_executions")
    names: set[str] = set()
    for page in paginator.paginate(stateMachineArn=deployment.state_machine_arn, statusFilter="RUNNING"):
        names.update(str(e["name"]) for e in page.get("executions", []))
    return names


def render_list(views: list[RunView]) -> str:
    if not views:
        return "no runs"
    rows = []
    for v in views:
        pt = v.throughput
        if pt is not None:
            pt_text = f"{output.short_arn(pt.arn)} {pt.status}"
        elif v.throughput_arn:
            pt_text = f"{output.short_arn(v.throughput_arn)} deleted"
        else:
            pt_text = "-"
        rows.append(
            [
                v.run_id,
                v.status,
                v.stage,
                v.base_model or "-",
                output.short_arn(v.custom_model_arn),
                pt_text,
                output.utc(v.started),
                output.utc(v.stopped),
                str(v.cost_so_far()),
            ]
        )
    return output.table(
        [
            "RUN",
            "STATUS",
            "STAGE",
            "BASE MODEL",
            "CUSTOM MODEL",
            "THROUGHPUT",
            "STARTED",
            "ENDED",
            "COST SO FAR",
        ],
        rows,
    )


# --------------------------------------------------------------------------------------------------
# Approve, reject, cancel
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalRequest:
    run_id: str
    token: str
    document: Mapping[str, Any]

    @property
    def purchase(self) -> Mapping[str, Any]:
        return self.document.get("purchase") or {}

    @property
    def estimate(self) -> Mapping[str, Any]:
        return self.document.get("estimate") or {}

    def decision_line(self) -> str:
        """One line with what an approval buys: units, commitment, hourly and monthly cost, deadline."""
        purchase, estimate = self.purchase, self.estimate
        commitment = purchase.get("commitment") or "none"
        term = (
            f", {output.usd(estimate.get('commitmentTermUsd'))} for the {commitment} term"
            if commitment != "none"
            else ", no commitment: billed hourly until deleted"
        )
        expires = output.parse_time(self.document.get("expiresAt"))
        return (
            f"Approving buys {purchase.get('modelUnits')} model unit(s) for "
            f"{output.short_arn(purchase.get('customModelArn'))}: "
            f"{output.usd_rate(estimate.get('throughputHourlyUsd'), 'hour')}, "
            f"{output.usd_rate(estimate.get('throughputMonthlyUsd'), 'month')}{term}"
            + (f". Answer before {output.utc(expires)}." if expires else ".")
        )

    def render(self) -> str:
        """The request as the approval_request handler wrote it, then the decision in one line."""
        summary = str(
            self.document.get("summary") or f"Run {self.run_id} asks to buy Provisioned Throughput."
        )
        return f"{summary.rstrip()}\n\n{self.decision_line()}"

    def to_dict(self) -> dict[str, Any]:
        return _public_request(self.document) or {}


def pending_approval(
    clients: Clients, deployment: Deployment, run_id: str
) -> tuple[RunView, ApprovalRequest]:
    """The run's open approval request; InvalidInputError when the run is not waiting for one."""
    view = load_run(clients, deployment, run_id, with_job=False, with_request=False)
    if not view.waiting_for_approval:
        where = f'state "{view.current_state}"' if view.current_state and not view.finished else view.stage
        raise InvalidInputError(
            f"run {run_id} is not waiting for approval: it is {view.status} ({where})",
            hint=f"see where it is with `{CLI} status {run_id}`",
        )
    document = read_run_json(clients, deployment, run_id, "approval-request.json")
    token = (document or {}).get("taskToken")
    if not document or not isinstance(token, str) or not token:
        raise OperationalError(
            f"run {run_id} is waiting for approval but s3://{deployment.training_bucket}/{RUNS_PREFIX}{run_id}/"
            "approval-request.json is not there yet",
            hint="the approval request is written within seconds of the wait starting: retry shortly",
        )
    return view, ApprovalRequest(run_id, token, document)


def caller_identity(clients: Clients) -> str:
    """Who is answering: the STS caller ARN, else the local user name (marked unverified)."""
    try:
        return str(clients("sts").get_caller_identity()["Arn"])
    except Exception as exc:
        if not error_code(exc):
            from pipeline.operate.errors import describe_aws_error

            if describe_aws_error(exc) is None:
                raise
        return f"{getpass.getuser()} (unverified: STS unavailable)"


def send_decision(
    clients: Clients, request: ApprovalRequest, *, approved: bool, approver: str, reason: str
) -> dict[str, Any]:
    """SendTaskSuccess with the answer the workflow expects (docs/workflow-contract.md)."""
    answer = {"approved": approved, "approver": approver, "reason": reason}
    try:
        clients("stepfunctions").send_task_success(taskToken=request.token, output=json.dumps(answer))
    except Exception as exc:
        if error_code(exc) in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            raise InvalidInputError(
                f"the approval request of run {request.run_id} can no longer be answered "
                f"({error_code(exc)}): it expired (counted as a rejection) or was already answered",
                hint=f"see what happened with `{CLI} status {request.run_id}`",
            ) from exc
        raise
    return answer


@dataclass
class CancelResult:
    run_id: str
    stopped: bool
    job_stopped: bool
    released: list[str]
    kept: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "executionStopped": self.stopped,
            "jobStopped": self.job_stopped,
            "throughputDeleted": self.released,
            "throughputKept": self.kept,
        }


def run_throughputs(clients: Clients, view: RunView) -> list[Throughput]:
    """The throughput a run bought: by its run-id tag, plus the ARN in its state document."""
    bedrock = clients("bedrock")
    found = {t.arn: t for t in throughput.inventory(bedrock) if t.run_id == view.run_id}
    if view.throughput is not None:
        found.setdefault(view.throughput.arn, view.throughput)
    return list(found.values())


def cancel(
    clients: Clients,
    view: RunView,
    *,
    who: str,
    reason: str,
    release: bool,
    now: dt.datetime,
    throughputs: list[Throughput] | None = None,
) -> CancelResult:
    """Stop the execution (Step Functions stops the .sync job with it), make sure the job stops,
    and delete the run's no-commitment throughput: a stopped execution runs no cleanup state."""
    result = CancelResult(view.run_id, False, False, [], [])
    clients("stepfunctions").stop_execution(
        executionArn=view.execution_arn, error="Cancelled", cause=f"Cancelled by {who}: {reason}"[:32768]
    )
    result.stopped = True
    name = (view.plan.get("job") or {}).get("JobName")
    if name:
        bedrock = clients("bedrock")
        try:
            job = bedrock.get_model_customization_job(jobIdentifier=name)
            if job.get("status") == "InProgress":
                bedrock.stop_model_customization_job(jobIdentifier=name)
                result.job_stopped = True
        except Exception as exc:
            if error_code(exc) not in (
                "ResourceNotFoundException",
                "ConflictException",
                "ValidationException",
            ):
                raise
    for pt in run_throughputs(clients, view) if throughputs is None else throughputs:
        refusal = pt.deletion_refusal(now)
        if refusal is not None:
            result.kept.append({"arn": pt.arn, "reason": refusal})
        elif not release:
            result.kept.append(
                {"arn": pt.arn, "reason": "kept by --keep-throughput; billed hourly until deleted"}
            )
        elif throughput.delete(clients("bedrock"), pt):
            result.released.append(pt.arn)
    return result


# --------------------------------------------------------------------------------------------------
# Watch
# --------------------------------------------------------------------------------------------------


def watch(
    fetch: Callable[[], RunView],
    *,
    interval: float,
    sleep: Callable[[float], None],
    stream: TextIO,
    live: bool,
    timeout: float | None = None,
    clock: Callable[[], float] | None = None,
) -> RunView:
    """Follow a run until it ends. ``live`` (a terminal) rewrites one status line in place;
    otherwise a line is printed whenever the status changes (CI logs stay short)."""
    import time

    clock = clock or time.monotonic
    started = clock()
    last = ""
    width = 0
    while True:
        view = fetch()
        line = view.progress_line()
        elapsed = output.duration(view.elapsed_seconds())
        if live:
            text = f"[{elapsed}] {line}"
            stream.write("\r" + text.ljust(width))
            width = max(width, len(text))
            stream.flush()
        elif line != last:
            stream.write(f"{output.utc(view.now)} [{elapsed}] {line}\n")
            stream.flush()
        last = line
        if view.finished:
            if live:
                stream.write("\n")
            return view
        if timeout is not None and clock() - started >= timeout:
            if live:
                stream.write("\n")
            return view
        sleep(interval)
