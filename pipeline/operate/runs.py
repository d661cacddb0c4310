"""A run as the operator sees it: Step Functions execution + Bedrock job, evaluation vehicle, serving.

The execution is named after the run id (docs/workflow-contract.md), so a run is found by name.
Where it is comes from the execution history: the last state entered is the current state, the
last state exited carries the state document (``$.preflight``, ``$.loss``, ``$.vehicle``,
``$.evaluation``, ``$.throughput``, ...) as far as the run got (pipeline.operate.run_history);
pipeline.operate.run_lookup reads them from AWS. Nothing is stored by the CLI itself. The view in
words (status, list, next steps) is pipeline.operate.run_text.

A run evaluates its custom model on an *evaluation vehicle* (``$.vehicle``: an on-demand custom
model deployment, or one model unit of no-commitment throughput bought for it), then serves it on
demand (the deployment is kept), on provisioned throughput (``$.throughput``, bought after the
quality bar; or the evaluation throughput itself, kept) or not at all.

Cost so far = the training estimate (once a job exists) + the evaluation's on-demand calls (measured
tokens x price, once evaluated) + the LLM judge's estimate (once its jobs started) + each
throughput's hourly price x hours since it was bought, each purchase counted once (Bedrock bills
from creation until deletion). An on-demand deployment has no hourly charge. A part without a
price stays unknown and is named.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pipeline import money
from pipeline.operate import hints, output, throughput
from pipeline.operate.deployments import ModelDeployment
from pipeline.operate.errors import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_OPERATIONAL,
    InvalidInputError,
)
from pipeline.operate.run_history import Job, Queue
from pipeline.operate.throughput import Throughput
from pipeline.workflow_names import (
    ASK_TO_EVALUATE,
    ASK_TO_SERVE,
    BUY_EVALUATION,
    DEPLOY_EVALUATION,
    RELEASE_ALL,
    RELEASE_VEHICLE,
)

RUN_ID_RE: Final = re.compile(r"[0-9A-Za-z_-]{1,80}")
STATUSES: Final = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
NOT_FOUND: Final = frozenset({"NoSuchKey", "404", "NotFound"})
EVALUATION_STAGE: Final = "evaluation"
SERVING_STAGE: Final = "serving"
# The two approval waits of infra/constructs/customization_workflow.py and the purchase each gates.
APPROVAL_STATES: Final = {
    ASK_TO_EVALUATE: EVALUATION_STAGE,
    ASK_TO_SERVE: SERVING_STAGE,
}
DEPLOYMENT: Final = "deployment"
THROUGHPUT: Final = "throughput"

# The history's timestamps name states by prefix: both serving purchases begin with this.
BUY_STATE: Final = "Buy provisioned throughput"
EVALUATION_BUY_STATE: Final = BUY_EVALUATION
DEPLOY_STATE: Final = DEPLOY_EVALUATION
RELEASE_STATE: Final = RELEASE_VEHICLE
CLEANUP_STATE: Final = RELEASE_ALL


def check_run_id(text: str) -> str:
    """A run id, or the name at the end of an execution ARN."""
    run_id = text.rsplit(":", 1)[-1] if text.startswith("arn:") else text
    if not RUN_ID_RE.fullmatch(run_id):
        raise InvalidInputError(
            f"{text!r} is not a run id",
            hint=f"run ids look like support-bot-v1-3f9a2c1b7d; list them with `{hints.command('list')}`",
        )
    return run_id


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


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
    # In line for a training slot (the job's create call refused by the quota), and what the account
    # says of its slots: {"jobsInProgress", "quota", "quotaName"} as far as they could be read.
    queue: Queue | None = None
    training_slots: dict[str, Any] | None = None
    # The run this one reruns (`start --rerun` records it in the execution input).
    rerun_of: str | None = None
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
    stage_since: dt.datetime | None = None
    # Where a run that ended without success stopped: its last state before the failure path.
    ended_in: str | None = None
    # How many times faster than the wall clock the deployment's waits run: 1 for AWS, the
    # sandbox's --speed there (its manifest says so). Deadlines are shown on the reader's clock.
    time_scale: float = 1.0

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
        """Where the run is, in plain words (pipeline.workflow_stages), or how it ended."""
        from pipeline.operate import run_text

        return run_text.stage_of(self)

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
    def judge(self) -> dict[str, Any]:
        """The LLM judge's verdict ($.judge: passed, metrics base vs custom, reasons), once read."""
        judge = self.state.get("judge")
        return judge if isinstance(judge, dict) and "passed" in judge else {}

    @property
    def judge_planned(self) -> bool:
        return bool(self.plan.get("judge"))

    @property
    def judge_started(self) -> bool:
        """The judge's evaluation jobs were started (their tokens are billed from here)."""
        return bool(self.state.get("judgeJobs") or self.judge)

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
        if self.judge_planned and self.judge_started:
            # The plan's estimate (prompts x judged models x metrics judge calls; the slot's champion
            # counts as a model where the preflight found one): Bedrock reports no token counts for
            # evaluation jobs, so the estimate is what is known.
            judge = self.estimate.get("judgeUsd")
            parts["LLM judge"] = (
                float(judge) if isinstance(judge, int | float) and not isinstance(judge, bool) else None
            )
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

    def cost_so_far(self) -> money.Money:
        return money.Money.of(self.cost_parts())

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
        from pipeline.operate import run_text

        return run_text.next_steps(self)

    def render(self) -> str:
        from pipeline.operate import run_text

        return run_text.render_status(self)

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
            "queue": {**self.queue.to_dict(), **(self.training_slots or {})} if self.queue else None,
            "rerunOf": self.rerun_of,
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
            "judge": self.judge or None,
            "approval": self.state.get("approval"),
            "waitingForApproval": self.waiting_for_approval,
            "approvalStage": self.approval_stage,
            "approvalRequest": public_request(self.approval_request, self.environment),
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


def public_request(request: Mapping[str, Any] | None, env: str | None = None) -> dict[str, Any] | None:
    """The approval request as people see it: without its task token (a credential to buy), and
    with its Approve/Reject commands carrying the environment (the function that wrote them does
    not know how the operator reaches it)."""
    if not request:
        return None
    doc = {k: v for k, v in request.items() if k != "taskToken"}
    run_id = str(doc.get("runId") or "")
    if run_id:
        commands = approval_commands(run_id, env)
        if isinstance(doc.get("commands"), Mapping):
            doc["commands"] = commands
        if isinstance(doc.get("summary"), str):
            doc["summary"] = with_commands(doc["summary"], commands)
    return doc


def approval_commands(run_id: str, env: str | None) -> dict[str, str]:
    return {
        "approve": hints.command("approve", run_id, env=env),
        "reject": hints.command("reject", run_id, "--reason", '"..."', env=env),
    }


def with_commands(summary: str, commands: Mapping[str, str]) -> str:
    """The request's text with its ``Approve:``/``Reject:`` lines replaced by ``commands``."""
    prefixes = {"  Approve: ": commands["approve"], "  Reject:  ": commands["reject"]}
    lines = []
    for line in summary.splitlines():
        prefix = next((p for p in prefixes if line.startswith(p)), None)
        lines.append(prefix + prefixes[prefix] if prefix else line)
    return "\n".join(lines)
