"""What an operator does to a run: answer its approval, cancel it, watch it until it ends.

The read side (loading a run's state, rendering status and lists) lives in pipeline.operate.runs;
this module acts on a run through the deployed pipeline's APIs.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pipeline import money, naming
from pipeline.operate import approvals, deployments, hints, output, throughput
from pipeline.operate.aws import Clients
from pipeline.operate.discovery import Deployment
from pipeline.operate.errors import (
    InvalidInputError,
    OperationalError,
    error_code,
)
from pipeline.operate.run_lookup import load_run, read_run_json
from pipeline.operate.runs import (
    DEPLOY_STATE,
    DEPLOYMENT,
    EVALUATION_STAGE,
    SERVING_STAGE,
    RunView,
    approval_commands,
    public_request,
    with_commands,
)
from pipeline.operate.throughput import Throughput
from pipeline.plan import RUNS_PREFIX
from pipeline.slots import SLOT_TAG

# --------------------------------------------------------------------------------------------------
# Approve, reject, cancel
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalRequest:
    run_id: str
    # Only deployments from before the approval-answer function put the task token in the request.
    token: str | None
    document: Mapping[str, Any]
    plan: Mapping[str, Any] = field(default_factory=dict)
    environment: str | None = None

    @property
    def purchase(self) -> Mapping[str, Any]:
        return self.document.get("purchase") or {}

    @property
    def estimate(self) -> Mapping[str, Any]:
        return self.document.get("estimate") or {}

    @property
    def stage(self) -> str:
        """evaluation | serving (a request without a stage predates evaluation purchases: serving)."""
        return str(self.purchase.get("stage") or SERVING_STAGE)

    def _evaluation_hourly(self) -> float | None:
        """1 MU without commitment: the serving estimate when it is that same throughput, else the catalog."""
        vehicle = self.plan.get("vehicle") or {}
        if vehicle.get("servesAfterwards"):
            hourly = self.estimate.get("throughputHourlyUsd")
            if isinstance(hourly, int | float):
                return float(hourly)
        cost = throughput.hourly_cost(
            self.plan.get("baseModel"), self.purchase.get("modelUnits") or 1, "none"
        )
        return cost.usd if cost is not None else None

    def decision_line(self, view: RunView | None = None) -> str:
        """One line: what approving buys (units, purpose, commitment), at what cost, until when."""
        purchase, estimate = self.purchase, self.estimate
        model = output.short_arn(purchase.get("customModelArn"))
        deadline = self._deadline(view)
        if self.stage == EVALUATION_STAGE:
            hourly = self._evaluation_hourly()
            if (self.plan.get("vehicle") or {}).get("servesAfterwards"):
                after = (
                    "kept to serve with if the model passes its bar (billed hourly until deleted), "
                    "released if it fails"
                )
            else:
                cost = estimate.get("evaluationUsd")
                after = "released after the evaluation" + (
                    f" (about {money.usd(cost)} for the planned hours)" if cost is not None else ""
                )
            monthly = hourly * 730 if hourly is not None else None
            return (
                f"Approving buys {purchase.get('modelUnits') or 1} model unit(s) of no-commitment throughput "
                f"for {model} to evaluate it on: {_price(hourly, monthly)}; {after}{deadline}"
            )
        slot = purchase.get("slot")
        if slot and purchase.get("inPlace"):
            return (
                f"Approving changes the model behind serving slot {slot} to {model} in place (smoke-checked, "
                f"changed back if it fails): nothing is bought{deadline}"
            )
        if slot and purchase.get("modelUnits") is None:
            return (
                f"Approving keeps {model}'s on-demand deployment as serving slot {slot}'s endpoint: billed "
                f"per token, nothing by the hour{deadline}"
            )
        commitment = purchase.get("commitment") or "none"
        if commitment == "none":
            term = "no commitment: billed hourly until deleted"
        else:
            total = estimate.get("commitmentTermUsd")
            term = f"{commitment} commitment, " + (
                f"{money.usd(total)} for the term" if total is not None else "price of the term unknown"
            )
        price = _price(estimate.get("throughputHourlyUsd"), estimate.get("throughputMonthlyUsd"))
        return (
            f"Approving buys {purchase.get('modelUnits')} model unit(s) for {model} to serve it: "
            f"{price}; {term}{deadline}"
        )

    def _deadline(self, view: RunView | None) -> str:
        expires = output.parse_time(self.document.get("expiresAt"))
        if expires is None:
            return "."
        if view is None:
            return f". Answer before {output.utc(expires)}."
        from pipeline.operate.run_text import deadline_text

        requested = output.parse_time(self.document.get("requestedAt"))
        return f". Answer before it {deadline_text(view, requested, expires).removeprefix('expires ')}."

    def render(self, view: RunView | None = None) -> str:
        """The request as the approval_request handler wrote it, then the decision in one line.

        The request's own Approve/Reject lines name no environment (the function does not know how
        the operator reaches it): they are printed again with the --env/--region this command ran with.
        """
        summary = str(
            self.document.get("summary") or f"Run {self.run_id} asks to buy Provisioned Throughput."
        )
        env = view.environment if view is not None else self.environment
        lines = [with_commands(summary.rstrip(), approval_commands(self.run_id, env))]
        if view is not None and view.time_scale != 1:
            lines.append(
                f"(The sandbox runs {view.time_scale:g}x faster: the request's times are in sandbox time.)"
            )
        return "\n".join(lines) + f"\n\n{self.decision_line(view)}"

    def to_dict(self) -> dict[str, Any]:
        return public_request(self.document, self.environment) or {}


def _price(hourly: Any, monthly: Any) -> str:
    """``$20.50/hour ($14,965.00/month)``, or that the price is unknown, and what that means."""
    if not isinstance(hourly, int | float) or isinstance(hourly, bool):
        return "hourly price unknown (no source gives one: approve only if you know it)"
    month = f" ({money.usd_rate(float(monthly), 'month')})" if isinstance(monthly, int | float) else ""
    return f"{money.usd_rate(float(hourly), 'hour')}{month}"


# The handler stamps requestedAt to the second, and its clock is not the workflow's.
_REQUEST_CLOCK_SLACK: Final = dt.timedelta(minutes=2)


def pending_approval(
    clients: Clients, deployment: Deployment, run_id: str
) -> tuple[RunView, ApprovalRequest]:
    """The run's open approval request; InvalidInputError when the run is not waiting for one.

    A run may ask twice (before buying the evaluation throughput, and before buying to serve), and
    both requests are written to runs/<runId>/approval-request.json. The request read must be the
    one of the wait the run is in now: same stage, written after the wait began. An older one's
    token would answer nothing (or be refused), and its purchase is not the one being decided.
    """
    view = load_run(clients, deployment, run_id, with_job=False, with_request=False, with_resources=False)
    if not view.waiting_for_approval:
        where = f'state "{view.current_state}"' if view.current_state and not view.finished else view.stage
        raise InvalidInputError(
            f"run {run_id} is not waiting for approval: it is {view.status} ({where})",
            hint=f"see where it is with `{hints.command('status', run_id)}`",
        )
    document = read_run_json(clients, deployment, run_id, "approval-request.json")
    where = f"s3://{deployment.training_bucket}/{RUNS_PREFIX}{run_id}/approval-request.json"
    if not document:
        raise OperationalError(
            f"run {run_id} is waiting for approval but {where} is not there yet",
            hint="the approval request is written within seconds of the wait starting: retry shortly",
        )
    token = document.get("taskToken")
    request = ApprovalRequest(
        run_id, token if isinstance(token, str) and token else None, document, view.plan, view.environment
    )
    requested = output.parse_time(document.get("requestedAt"))
    entered = view.current_state_since
    stale = request.stage != view.approval_stage or (
        requested is not None and entered is not None and requested + _REQUEST_CLOCK_SLACK < entered
    )
    if stale:
        raise OperationalError(
            f"run {run_id} is waiting for approval to "
            f"{'evaluate' if view.approval_stage == EVALUATION_STAGE else 'serve'}, "
            f"but {where} still holds its earlier {request.stage} request",
            hint="the new request is written within seconds of the wait starting: retry shortly",
        )
    return view, request


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
    clients: Clients,
    deployment: Deployment,
    request: ApprovalRequest,
    *,
    approved: bool,
    approver: str,
    reason: str,
) -> dict[str, Any]:
    """Answer the run's pending approval; the answer as the workflow received it.

    Through the deployment's approval URL, as its approver role (the answer function records the
    STS-verified approver, and the workflow acts on that record); for a deployment from before it,
    whose request carries the task token,
    SendTaskSuccess with the answer the workflow expects (docs/workflow-contract.md).
    """
    if request.token is None:
        if not deployment.approval_url:
            raise OperationalError(
                f"run {request.run_id} waits for approval, but the {deployment.environment!r} deployment "
                "names no approval URL (approvalUrl) to answer it through",
                hint=f"redeploy the stack (`make deploy STACK={deployment.stack_name}`), then answer again",
            )
        request_id = request.document.get("requestId")
        return approvals.answer(
            clients(approvals.SERVICE),
            url=deployment.approval_url,
            role_arn=deployment.approver_role_arn,
            caller_arn=approver,
            run_id=request.run_id,
            request_id=request_id if isinstance(request_id, str) else None,
            approved=approved,
            reason=reason,
            audience=deployment.training_bucket,
            mfa_required=deployment.approver_mfa,
        )
    answer = {"approved": approved, "approver": approver, "reason": reason}
    try:
        clients("stepfunctions").send_task_success(taskToken=request.token, output=json.dumps(answer))
    except Exception as exc:
        if error_code(exc) in ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken"):
            raise InvalidInputError(
                f"the approval request of run {request.run_id} can no longer be answered "
                f"({error_code(exc)}): it expired (counted as a rejection) or was already answered",
                hint=f"see what happened with `{hints.command('status', request.run_id)}`",
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
    deployments_deleted: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "executionStopped": self.stopped,
            "jobStopped": self.job_stopped,
            "throughputDeleted": self.released,
            "deploymentsDeleted": self.deployments_deleted,
            "throughputKept": self.kept,
        }


def run_throughputs(clients: Clients, view: RunView) -> list[Throughput]:
    """The throughput a run bought (evaluation and serving): by its run-id tag, plus the ARNs in its
    state document."""
    bedrock = clients("bedrock")
    found = {t.arn: t for t in throughput.inventory(bedrock) if t.run_id == view.run_id}
    for pt in (view.vehicle_throughput, view.throughput):
        if pt is not None:
            found.setdefault(pt.arn, pt)
    return list(found.values())


def run_deployments(clients: Clients, view: RunView) -> list[str]:
    """The on-demand deployment a run created: the ARN in its state document, else (when the create
    call may have been made without its answer reaching the history) found by the run's name for it."""
    if view.vehicle_kind != DEPLOYMENT:
        return []
    if view.vehicle_arn:
        return [] if view.vehicle_status == "deleted" else [view.vehicle_arn]
    if view.current_state != DEPLOY_STATE:
        return []
    name = view.vehicle_plan.get("ModelDeploymentName") or naming.deployment_name(view.run_id)
    found = deployments.find_by_name(clients("bedrock"), str(name))
    return [found] if found else []


def cancel(
    clients: Clients,
    view: RunView,
    *,
    who: str,
    reason: str,
    release: bool,
    now: dt.datetime,
    throughputs: list[Throughput] | None = None,
    deployment_arns: list[str] | None = None,
) -> CancelResult:
    """Stop the execution (Step Functions stops the .sync job with it), make sure the job stops, and
    delete the run's no-commitment throughput and its on-demand deployment: a stopped execution runs
    no cleanup state. Never a serving slot's endpoint: a first promotion makes the run's own
    throughput or deployment the slot's (pipeline.slots.SLOT_TAG) before the run ends."""
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
        if pt.tags.get(SLOT_TAG):
            result.kept.append({"arn": pt.arn, "reason": f"the endpoint of serving slot {pt.tags[SLOT_TAG]}"})
        elif refusal is not None:
            result.kept.append({"arn": pt.arn, "reason": refusal})
        elif not release:
            result.kept.append(
                {"arn": pt.arn, "reason": "kept by --keep-throughput; billed hourly until deleted"}
            )
        elif throughput.delete(clients("bedrock"), pt):
            result.released.append(pt.arn)
    for arn in run_deployments(clients, view) if deployment_arns is None else deployment_arns:
        slot = throughput.tags_of(clients("bedrock"), arn).get(SLOT_TAG) if release else None
        if slot:
            result.kept.append({"arn": arn, "reason": f"the endpoint of serving slot {slot}"})
        elif not release:
            result.kept.append(
                {"arn": arn, "reason": "kept by --keep-throughput; billed per token only when called"}
            )
        elif deployments.delete(clients("bedrock"), arn):
            result.deployments_deleted.append(arn)
    return result
