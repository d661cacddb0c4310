"""A run as the operator sees it: Step Functions execution + Bedrock job, evaluation vehicle, serving.

The execution is named after the run id (docs/workflow-contract.md), so a run is found by name.
Where it is comes from the execution history: the last state entered is the current state, the
last state exited carries the state document (``$.preflight``, ``$.loss``, ``$.vehicle``,
``$.evaluation``, ``$.throughput``, ...) as far as the run got. Nothing is stored by the CLI itself.

A run evaluates its custom model on an *evaluation vehicle* (``$.vehicle``: an on-demand custom
model deployment, or one model unit of no-commitment throughput bought for it), then serves it on
demand (the deployment is kept), on provisioned throughput (``$.throughput``, bought after the
quality bar; or the evaluation throughput itself, kept) or not at all.

Cost so far = the training estimate (once a job exists) + the evaluation's on-demand calls (measured
tokens x price, once evaluated) + each throughput's hourly price x hours since it was bought, each
purchase counted once (Bedrock bills from creation until deletion). An on-demand deployment has no
hourly charge. Unknown prices stay unknown.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pipeline import naming
from pipeline.costs import format_usd
from pipeline.operate import deployments, output, throughput
from pipeline.operate.aws import Clients
from pipeline.operate.deployments import ModelDeployment
from pipeline.operate.discovery import Deployment
from pipeline.operate.errors import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_OPERATIONAL,
    InvalidInputError,
    UnknownRunError,
    error_code,
)
from pipeline.operate.throughput import Throughput
from pipeline.plan import RUNS_PREFIX

CLI: Final = "bedrock-customize"
RUN_ID_RE: Final = re.compile(r"[0-9A-Za-z_-]{1,80}")
STATUSES: Final = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
NOT_FOUND: Final = frozenset({"NoSuchKey", "404", "NotFound"})
EVALUATION_STAGE: Final = "evaluation"
SERVING_STAGE: Final = "serving"
# The two approval waits of infra/constructs/customization_workflow.py and the purchase each gates.
APPROVAL_STATES: Final = {
    "Ask for approval to evaluate": EVALUATION_STAGE,
    "Ask for approval to serve": SERVING_STAGE,
}
DEPLOYMENT: Final = "deployment"
THROUGHPUT: Final = "throughput"

# State names of infra/constructs/customization_workflow.py, by prefix (most specific first), and
# what they mean to people.
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
    ("How is the custom model evaluated", "evaluation vehicle"),
    ("Ask for approval to evaluate: timed out", "approval timed out"),
    ("Ask for approval to evaluate: rejected", "purchase rejected"),
    ("Ask for approval to evaluate", "waiting for approval to evaluate"),
    ("Was the evaluation purchase approved", "approval"),
    ("Deploy the custom model on demand", "deploying on demand"),
    ("Buy throughput to evaluate on", "buying evaluation throughput"),
    ("Wait for the evaluation vehicle", "waiting for the evaluation vehicle"),
    ("Check the evaluation vehicle", "waiting for the evaluation vehicle"),
    ("Is the evaluation vehicle ready", "waiting for the evaluation vehicle"),
    ("Wait before checking the evaluation vehicle", "waiting for the evaluation vehicle"),
    ("Evaluation vehicle failed", "evaluation vehicle failed"),
    ("Evaluation vehicle not ready", "evaluation vehicle failed"),
    ("Compare the custom model", "evaluating"),
    ("Does the custom model meet the bar", "quality gate"),
    ("Custom model below the bar", "quality gate failed"),
    ("Evaluation not judged", "not judged"),
    ("How is the custom model served", "serving"),
    ("Ask for approval to serve: timed out", "approval timed out"),
    ("Ask for approval to serve: rejected", "purchase rejected"),
    ("Ask for approval to serve", "waiting for approval to serve"),
    ("Was the purchase approved", "approval"),
    ("Buy provisioned throughput", "buying throughput"),
    ("Serve on the evaluation throughput", "serving on the evaluation throughput"),
    ("Wait for the throughput", "waiting for throughput"),
    ("Check the throughput", "waiting for throughput"),
    ("Is the throughput ready", "waiting for throughput"),
    ("Wait before checking the throughput", "waiting for throughput"),
    ("Throughput failed", "throughput failed"),
    ("Throughput not in service", "throughput failed"),
    ("Smoke-check", "smoke check"),
    ("Does the throughput answer", "smoke check"),
    ("Does the deployment answer", "smoke check"),
    ("Smoke check failed", "smoke check failed"),
    ("Release the evaluation vehicle", "releasing the evaluation vehicle"),
    ("Record the run", "recording"),
    ("Compose a success notice", "recording"),
    ("Notify: run succeeded", "recording"),
    ("Run complete", "done"),
    ("Release what this run bought", "cleaning up"),
    ("Record the failed run", "cleaning up"),
    ("Compose a notice", "cleaning up"),
    ("Notify: run failed", "cleaning up"),
    ("Run failed", "failed"),
)
BUY_STATE: Final = "Buy provisioned throughput"
EVALUATION_BUY_STATE: Final = "Buy throughput to evaluate on"
DEPLOY_STATE: Final = "Deploy the custom model on demand"
RELEASE_STATE: Final = "Release the evaluation vehicle"
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
    # The serving throughput ($.throughput) as Bedrock describes it now (None: not bought, or gone).
    throughput: Throughput | None = None
    throughput_arn: str | None = None
    purchased_at: dt.datetime | None = None
    released_at: dt.datetime | None = None
    # The evaluation vehicle ($.vehicle) as Bedrock describes it now; ``vehicle_checked`` says it was
    # looked up, so None there means deleted (``list`` does not look deployments up).
    vehicle_throughput: Throughput | None = None
    vehicle_deployment: ModelDeployment | None = None
    vehicle_checked: bool = False
    vehicle_created_at: dt.datetime | None = None
    vehicle_released_at: dt.datetime | None = None
    approval_request: dict[str, Any] | None = None
    current_state_since: dt.datetime | None = None

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
        return self.status == "RUNNING" and self.current_state in APPROVAL_STATES

    @property
    def approval_stage(self) -> str | None:
        """evaluation | serving: which purchase the open approval request is about."""
        return APPROVAL_STATES.get(self.current_state or "") if self.waiting_for_approval else None

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
    def smoke(self) -> dict[str, Any]:
        return self.state.get("smoke") or {}

    @property
    def released(self) -> dict[str, Any]:
        """What "Release the evaluation vehicle" did ($.released)."""
        return self.state.get("released") or {}

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

    # ---- the evaluation vehicle and serving ---------------------------------------------------

    @property
    def vehicle_plan(self) -> dict[str, Any]:
        return self.plan.get("vehicle") or {}

    @property
    def vehicle(self) -> dict[str, Any]:
        """$.vehicle: {Kind, Arn, ...} once the deployment was created or the throughput bought."""
        vehicle = self.state.get("vehicle")
        return vehicle if isinstance(vehicle, dict) else {}

    @property
    def vehicle_kind(self) -> str | None:
        """deployment | throughput | none (nothing to evaluate); None before the plan exists."""
        kind = self.vehicle.get("Kind") or self.vehicle_plan.get("kind")
        return str(kind) if kind else None

    @property
    def vehicle_arn(self) -> str | None:
        arn = self.vehicle.get("Arn")
        return str(arn) if arn else None

    @property
    def vehicle_serves(self) -> bool:
        """The evaluation vehicle is kept to serve with (on-demand serving, or the reused throughput)."""
        return bool(self.vehicle_plan.get("servesAfterwards"))

    @property
    def serving_plan(self) -> dict[str, Any]:
        return self.plan.get("serving") or {}

    @property
    def serving_mode(self) -> str | None:
        """on-demand | provisioned | none."""
        mode = self.serving_plan.get("mode") or ((self.spec or {}).get("serving") or {}).get("mode")
        return str(mode) if mode else None

    @property
    def reuses_evaluation_throughput(self) -> bool:
        return bool(self.serving_plan.get("reusesEvaluationThroughput"))

    @property
    def serving_deployment_arn(self) -> str | None:
        """The deployment a run serving on demand answers on (its Converse modelId)."""
        if self.serving_mode == "on-demand" and self.vehicle_kind == DEPLOYMENT:
            return self.vehicle_arn
        return None

    def _released_arns(self) -> set[str]:
        arns: set[str] = set()
        for doc in (self.released, self.state.get("cleanup") or {}):
            for key in ("deleted", "deletedDeployments"):
                arns.update(str(a) for a in doc.get(key) or [] if a)
        return arns

    @property
    def vehicle_status(self) -> str | None:
        """Creating | Active | InService | Failed | deleted, as well as it is known."""
        arn = self.vehicle_arn
        if arn is None:
            return None
        if self.vehicle_kind == THROUGHPUT and arn == self.throughput_arn and self.throughput is not None:
            return self.throughput.status
        described: Throughput | ModelDeployment | None = self.vehicle_throughput or self.vehicle_deployment
        if described is not None:
            return described.status
        if self.vehicle_checked or arn in self._released_arns():
            return "deleted"
        status = (self.state.get("vehicleStatus") or {}).get("status")
        return str(status) if status else "created"

    # ---- time and money -----------------------------------------------------------------------

    def elapsed_seconds(self) -> float | None:
        if self.started is None:
            return None
        return ((self.stopped or self.now) - self.started).total_seconds()

    def _hours_cost(self, hourly: Any, start: dt.datetime | None, end: dt.datetime | None) -> float | None:
        if not isinstance(hourly, int | float) or isinstance(hourly, bool) or start is None:
            return None
        finish = end or self.stopped or self.now
        return float(hourly) * max(0.0, (finish - start).total_seconds()) / 3600

    def throughput_cost(self) -> float | None:
        """The serving throughput: hourly price x hours since the purchase, until deletion (or now)."""
        if self.throughput_arn is None:
            return 0.0
        if self.throughput is not None:
            return self.throughput.cost_so_far(self.now)
        if self.throughput_arn == self.vehicle_arn:
            return self.evaluation_throughput_cost()
        return self._hours_cost(self.estimate.get("throughputHourlyUsd"), self.purchased_at, self.released_at)

    def evaluation_throughput_cost(self) -> float | None:
        """The evaluation throughput: its hourly price x hours from its purchase until released."""
        if self.vehicle_kind != THROUGHPUT or self.vehicle_arn is None:
            return 0.0
        described = self.vehicle_throughput or (
            self.throughput if self.throughput and self.throughput.arn == self.vehicle_arn else None
        )
        if described is not None:
            return described.cost_so_far(self.now)
        hourly = throughput.hourly_cost(self.base_model, 1, throughput.NO_COMMITMENT)
        end = None if self.throughput_arn == self.vehicle_arn else self.vehicle_released_at
        return self._hours_cost(
            hourly.usd if hourly else None, self.vehicle_created_at, end or self.released_at
        )

    def evaluation_calls_cost(self) -> float | None:
        """What the evaluation's on-demand calls cost: measured tokens x each model's token price.

        The base model always answers on demand; the custom model too when it is evaluated on an
        on-demand deployment (on a throughput its calls are in the hourly price).
        """
        total = 0.0
        for name in ("custom", "base"):
            aggregate = self.evaluation.get(name) or {}
            pricing = aggregate.get("pricing") or {}
            if pricing.get("kind") != "on-demand" or not aggregate.get("prompts"):
                continue
            tokens_in = (aggregate.get("inputTokens") or {}).get("total") or 0
            tokens_out = (aggregate.get("outputTokens") or {}).get("total") or 0
            rate_in, rate_out = pricing.get("inputPer1MTokensUsd"), pricing.get("outputPer1MTokensUsd")
            if not isinstance(rate_in, int | float) or not isinstance(rate_out, int | float):
                return None
            total += (tokens_in * rate_in + tokens_out * rate_out) / 1_000_000
        return total

    def cost_parts(self) -> dict[str, float | None]:
        """Each billed part once: training, the evaluation's calls, each throughput purchase."""
        parts: dict[str, float | None] = {}
        if self.job_started:
            training = self.estimate.get("trainingUsd")
            parts["training"] = (
                float(training)
                if isinstance(training, int | float) and not isinstance(training, bool)
                else None
            )
        if self.evaluation:
            parts["evaluation calls"] = self.evaluation_calls_cost()
        if self.vehicle_kind == THROUGHPUT and self.vehicle_arn:
            label = (
                "throughput (evaluation, then serving)"
                if self.reuses_evaluation_throughput
                else "evaluation throughput"
            )
            parts[label] = self.evaluation_throughput_cost()
        if self.throughput_arn is not None and self.throughput_arn != self.vehicle_arn:
            parts["serving throughput"] = self.throughput_cost()
        return parts

    def cost_so_far(self) -> output.Money:
        return output.Money.of(self.cost_parts())

    def outcome_exit_code(self) -> int:
        """What ``watch``/``start --wait`` exit with: 0 succeeded, 2 invalid input, 1 otherwise."""
        if self.status == "SUCCEEDED":
            return EXIT_OK
        failure = self.failure or {}
        if failure.get("Error") == "PreflightFailed":
            return EXIT_INVALID
        return EXIT_OPERATIONAL

    # ---- rendering ----------------------------------------------------------------------------

    def live_throughputs(self) -> list[Throughput]:
        """The run's throughput that exists now (evaluation and serving), each once."""
        found = {t.arn: t for t in (self.vehicle_throughput, self.throughput) if t is not None}
        return list(found.values())

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
        if self.finished and any(not t.has_commitment for t in self.live_throughputs()):
            steps.append(f"{CLI} throughput delete {self.run_id}{env}   # billed hourly until deleted")
        return steps

    def progress_line(self) -> str:
        """One line for ``watch``: stage, job, losses, vehicle, evaluation, serving, cost."""
        parts = [f"{self.status.lower()}: {self.stage}"]
        if self.job is not None and not self.loss:
            parts.append(f"job {self.job.progress(self.now)}")
        if self.loss:
            parts.append(_loss_text(self.loss))
        if self.vehicle_arn:
            what = "deployment" if self.vehicle_kind == DEPLOYMENT else "evaluation throughput"
            parts.append(f"{what} {self.vehicle_status}")
        if self.evaluation:
            parts.append(f"evaluation {_verdict(self.evaluation)}")
        if self.throughput_arn and self.throughput_arn != self.vehicle_arn:
            parts.append(f"throughput {self.throughput.status if self.throughput else 'deleted'}")
        if self.smoke:
            parts.append("smoke check " + ("passed" if self.smoke.get("passed") else "failed"))
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
        if self.plan:
            pairs.append(("Evaluated on", _vehicle_text(self)))
        pairs += _approval_pairs(self, "evaluationApproval", EVALUATION_STAGE)
        if self.evaluation:
            pairs.append(("Evaluation", _evaluation_text(self.evaluation)))
        pairs += _approval_pairs(self, "approval", SERVING_STAGE)
        if self.plan:
            pairs.append(("Serving", _serving_text(self)))
        if self.smoke:
            verdict = "passed" if self.smoke.get("passed") else "failed"
            pairs.append(("Smoke check", f"{verdict}: {self.smoke.get('summary') or ''}".rstrip(": ")))
        if self.released.get("summary"):
            pairs.append(("Released", self.released["summary"]))
        cleanup = self.state.get("cleanup")
        if isinstance(cleanup, dict) and cleanup.get("summary"):
            pairs.append(("Cleanup", cleanup["summary"]))
        failure = self.failure
        if failure:
            pairs.append(("Failure", f"{failure.get('Error')}: {failure.get('Cause')}"))
        pairs.append(("Cost so far", _cost_text(self)))
        storage = self.estimate.get("storageMonthlyUsd")
        if self.custom_model_arn:
            recurring = f"custom model storage {output.usd_rate(storage, 'month')} while the model exists"
            if self.serving_deployment_arn and self.vehicle_status not in (None, "deleted"):
                recurring += "; on-demand calls per token as they are made"
            pairs.append(("Recurring", recurring))
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
            "evaluationVehicle": {
                "kind": self.vehicle_kind,
                "arn": self.vehicle_arn,
                "name": self.vehicle_plan.get("ModelDeploymentName")
                or self.vehicle_plan.get("ProvisionedModelName"),
                "status": self.vehicle_status,
                "servesAfterwards": self.vehicle_serves,
                "throughput": self.vehicle_throughput.to_dict(self.now) if self.vehicle_throughput else None,
                "deployment": self.vehicle_deployment.to_dict(self.now) if self.vehicle_deployment else None,
            }
            if self.plan
            else None,
            "evaluationApproval": self.state.get("evaluationApproval"),
            "evaluation": self.evaluation or None,
            "approval": self.state.get("approval"),
            "waitingForApproval": self.waiting_for_approval,
            "approvalStage": self.approval_stage,
            "approvalRequest": public_request(self.approval_request),
            "servingMode": self.serving_mode,
            "deploymentArn": self.serving_deployment_arn,
            "throughputArn": self.throughput_arn,
            "throughput": self.throughput.to_dict(self.now) if self.throughput else None,
            "throughputDeleted": self.throughput_arn is not None and self.throughput is None,
            "smoke": self.smoke or None,
            "released": self.released or None,
            "cleanup": self.state.get("cleanup"),
            "failure": self.failure,
            "estimate": self.estimate or None,
            "costSoFar": self.cost_so_far().to_dict(),
            "costParts": {k: (round(v, 4) if v is not None else None) for k, v in self.cost_parts().items()},
            "next": self.next_steps(),
        }


def public_request(request: Mapping[str, Any] | None) -> dict[str, Any] | None:
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


def _verdict(evaluation: Mapping[str, Any]) -> str:
    """passed | failed | not judged (too many failed calls: nothing was measured)."""
    if evaluation.get("judged") is False:
        return "not judged"
    return "passed" if evaluation.get("passed") else "failed"


def _evaluation_text(evaluation: Mapping[str, Any]) -> str:
    custom, base = evaluation.get("custom") or {}, evaluation.get("base") or {}
    return (
        f"{_verdict(evaluation)}: quality custom {_num(custom.get('quality'))} vs base "
        f"{_num(base.get('quality'))}\n{evaluation.get('summary', '')}"
    ).rstrip()


def _approval_pairs(view: RunView, slot: str, stage: str) -> list[tuple[str, Any]]:
    """The approval of one purchase: waiting (with its deadline) or answered."""
    label = "Approval to evaluate" if stage == EVALUATION_STAGE else "Approval to serve"
    if view.approval_stage == stage:
        request = view.approval_request or {}
        expires = output.parse_time(request.get("expiresAt"))
        return [
            (
                label,
                "waiting since "
                + output.utc(output.parse_time(request.get("requestedAt")))
                + (f", expires {output.utc(expires)} (no answer = rejected)" if expires else ""),
            )
        ]
    answer = view.state.get(slot)
    if isinstance(answer, dict) and "approved" in answer:
        verdict = "approved" if answer.get("approved") else "rejected"
        return [(label, f"{verdict} by {answer.get('approver')}: {answer.get('reason')}")]
    return []


def _pt_line(pt: Throughput) -> str:
    commitment = (
        "no commitment"
        if not pt.has_commitment
        else f"{pt.commitment} until {output.utc(pt.commitment_expires)}"
    )
    return (
        f"{pt.status}, {pt.model_units} MU, {commitment}, "
        f"{output.usd_rate(pt.hourly_usd(), 'hour')} ({output.usd_rate(pt.per_day_usd(), 'day')})"
    )


def _vehicle_text(view: RunView) -> str:
    kind, arn, plan = view.vehicle_kind, view.vehicle_arn, view.vehicle_plan
    if kind == DEPLOYMENT:
        after = "kept to serve on demand" if view.vehicle_serves else "deleted after the evaluation"
        if arn is None:
            return f"on-demand deployment {plan.get('ModelDeploymentName') or ''} (not created yet); {after}"
        return (
            f"on-demand deployment {arn}\n{view.vehicle_status}, billed per token (no hourly charge); {after}"
        )
    if kind == THROUGHPUT:
        after = (
            "kept to serve with if the model passes, released if it fails"
            if view.vehicle_serves
            else "released after the evaluation"
        )
        if arn is None:
            name = plan.get("ProvisionedModelName") or ""
            return f"1 MU of no-commitment throughput {name} (not bought yet); {after}"
        pt = view.vehicle_throughput or (view.throughput if view.throughput_arn == arn else None)
        if pt is not None:
            return f"evaluation throughput {arn}\n{_pt_line(pt)}; {after}"
        released = f" at {output.utc(view.vehicle_released_at)}" if view.vehicle_released_at else ""
        return f"evaluation throughput {arn} (deleted{released})"
    return "nothing: no quality bar and no evaluation prompts"


def _serving_text(view: RunView) -> str:
    mode = view.serving_mode
    if mode == "on-demand":
        arn = view.serving_deployment_arn
        if arn and view.status == "SUCCEEDED" and view.vehicle_status != "deleted":
            return f"on demand: deployment {arn} (Converse modelId; billed per token)"
        if arn and view.vehicle_status == "deleted":
            return f"on demand: deployment {arn} (deleted)"
        return "on demand: the evaluation deployment is kept once the model passes (billed per token)"
    if mode == "provisioned":
        if view.throughput_arn is None:
            plan = view.serving_plan
            if view.reuses_evaluation_throughput:
                return (
                    f"provisioned: {plan.get('ModelUnits') or '?'} MU, no commitment: the evaluation "
                    "throughput, kept once the model passes its quality bar"
                )
            when = (
                "not bought yet"
                if view.evaluation.get("passed")
                else "not bought: only once the model passes its quality bar"
            )
            return (
                f"provisioned: {plan.get('ModelUnits') or '?'} MU, commitment "
                f"{plan.get('commitment') or 'none'} ({when})"
            )
        if view.throughput is None:
            released = f" at {output.utc(view.released_at)}" if view.released_at else ""
            return f"provisioned throughput {view.throughput_arn} (deleted{released})"
        reused = " (the evaluation throughput, kept)" if view.throughput_arn == view.vehicle_arn else ""
        return f"provisioned throughput {view.throughput.arn}{reused}\n{_pt_line(view.throughput)}"
    if mode == "none":
        return "none: the model is not served"
    return "-"


def _cost_text(view: RunView) -> str:
    """Total first, then each part; an unknown part keeps the total a lower bound or unknown."""
    parts = view.cost_parts()
    if not parts:
        return "$0.00 (nothing billed yet)"
    money = output.Money.of(parts)
    if money.complete:
        total = str(money)
    else:
        total = output.UNKNOWN if money.known == 0 else f">= {format_usd(money.known)}"
    labels = {"training": "training estimate"}
    text = "; ".join(f"{labels.get(name, name)} {output.usd(value)}" for name, value in parts.items())
    return f"{total} ({text})"


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
    throughputs: Mapping[str, list[Throughput]] | None = None,
    with_job: bool = True,
    with_request: bool = True,
    with_resources: bool = True,
) -> RunView:
    """Everything known about a run.

    ``throughputs`` (the pipeline's throughput by run id, from one inventory) saves lookups per run
    in ``list``, which then reads a deployment's status from the state document instead of Bedrock.
    ``with_resources=False`` reads the execution only (no throughput or deployment lookups).
    """
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
        purchased_at=history.exited_at(BUY_STATE) or history.exited_at("Serve on the evaluation throughput"),
        released_at=history.exited_at(CLEANUP_STATE),
        vehicle_created_at=history.exited_at(EVALUATION_BUY_STATE) or history.exited_at(DEPLOY_STATE),
        vehicle_released_at=history.exited_at(RELEASE_STATE) or history.exited_at(CLEANUP_STATE),
    )
    if view.current_state:
        view.current_state_since = history.entered_at(view.current_state)
    bedrock = None
    if with_job and view.preflight.get("valid"):
        bedrock = clients("bedrock")
        view.job = _job(bedrock, view)
    pt_arn = (state.get("throughput") or {}).get("ProvisionedModelArn")
    view.throughput_arn = str(pt_arn) if pt_arn else None
    if with_resources:
        _describe_resources(view, lambda: bedrock or clients("bedrock"), throughputs)
    if with_request and view.waiting_for_approval:
        view.approval_request = read_run_json(clients, deployment, run_id, "approval-request.json")
    return view


def _describe_resources(
    view: RunView, bedrock_client: Callable[[], Any], throughputs: Mapping[str, list[Throughput]] | None
) -> None:
    """The run's throughput and evaluation vehicle as Bedrock has them now (None: deleted)."""
    vehicle_arn = view.vehicle_arn
    if throughputs is not None:
        known = {t.arn: t for t in throughputs.get(view.run_id, [])}
        view.throughput = known.get(view.throughput_arn or "")
        if view.vehicle_kind == THROUGHPUT and vehicle_arn:
            view.vehicle_throughput = known.get(vehicle_arn)
            view.vehicle_checked = True
        return
    if view.throughput_arn:
        view.throughput = throughput.describe(bedrock_client(), view.throughput_arn)
    if vehicle_arn and view.vehicle_kind == THROUGHPUT:
        same = vehicle_arn == view.throughput_arn
        view.vehicle_throughput = (
            view.throughput if same else throughput.describe(bedrock_client(), vehicle_arn)
        )
        view.vehicle_checked = True
    elif vehicle_arn and view.vehicle_kind == DEPLOYMENT:
        view.vehicle_deployment = deployments.describe(bedrock_client(), vehicle_arn)
        view.vehicle_checked = True


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
    """The most recent runs (newest first), with their evaluation vehicle, serving and cost so far."""
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
    by_run: dict[str, list[Throughput]] = {}
    for pt in throughput.inventory(clients("bedrock")):
        if pt.run_id:
            by_run.setdefault(pt.run_id, []).append(pt)
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


def _vehicle_cell(view: RunView) -> str:
    if view.vehicle_kind == DEPLOYMENT and view.vehicle_arn:
        return f"deployment {output.short_arn(view.vehicle_arn)} {view.vehicle_status}"
    if view.vehicle_kind == THROUGHPUT and view.vehicle_arn:
        return f"throughput {output.short_arn(view.vehicle_arn)} {view.vehicle_status}"
    if view.vehicle_kind in (DEPLOYMENT, THROUGHPUT):
        return f"{view.vehicle_kind} (not yet)"
    return "-"


def _serving_cell(view: RunView) -> str:
    mode = view.serving_mode
    if mode == "provisioned":
        if view.throughput is not None:
            return f"{output.short_arn(view.throughput.arn)} {view.throughput.status}"
        if view.throughput_arn:
            return f"{output.short_arn(view.throughput_arn)} deleted"
        return "provisioned (not bought)"
    if mode == "on-demand":
        arn = view.serving_deployment_arn
        if arn and view.status == "SUCCEEDED":
            return f"on demand {output.short_arn(arn)}"
        return "on demand (not yet)"
    return mode or "-"


def render_list(views: list[RunView]) -> str:
    if not views:
        return "no runs"
    rows = [
        [
            v.run_id,
            v.status,
            v.stage,
            v.base_model or "-",
            output.short_arn(v.custom_model_arn),
            _vehicle_cell(v),
            _serving_cell(v),
            output.utc(v.started),
            output.utc(v.stopped),
            str(v.cost_so_far()),
        ]
        for v in views
    ]
    return output.table(
        [
            "RUN",
            "STATUS",
            "STAGE",
            "BASE MODEL",
            "CUSTOM MODEL",
            "EVALUATED ON",
            "SERVING",
            "STARTED",
            "ENDED",
            "COST SO FAR",
        ],
        rows,
    )
