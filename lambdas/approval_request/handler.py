"""Ask a human whether to buy the run's Provisioned Throughput (``.waitForTaskToken``).

Event ``{"taskToken", "runId", "executionArn", "executionStart", "plan", "loss", "stage",
"evaluation"}`` → ``{"requestUri"}``. The state's result is what the approval-answer function sends
back with SendTaskSuccess, which the workflow then checks against the decision of record
(lambdas/approval_verify). ``stage`` is ``serving`` (the
purchase to serve with, asked after the quality bar passed, with the evaluation's verdict in the
request) or ``evaluation`` (the 1-MU no-commitment throughput a model without on-demand deployment
is evaluated on, asked before it is bought).

Each request has an id (pipeline.approval_records.request_id: the execution and the stage); the
answer must name it, so an answer to an earlier request or another run is refused. The request says
who started the run (the starter record the start function wrote) and whether they may approve it
(``ALLOW_SELF_APPROVAL``).

The task token never reaches a person: it goes to approvals/<runId>.json, which only the
approval-answer function (lambdas/approval_answer) may read. That function sits behind an
IAM-authenticated function URL and records the verified approver; the request a person reads
(runs/<runId>/approval-request.json, and the notice) holds no token.

Calls: s3:PutObject of approvals/<runId>.json and runs/<runId>/approval-request.json,
s3:GetObject of starters/<runId>.json, sns:Publish to TOPIC_ARN.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import Any, Final

from lambdas.common import runtime
from pipeline import approval_records
from pipeline.money import usd
from pipeline.training_loss import fmt_number

LOG = runtime.get_logger(__name__)
CLI: Final = "bedrock-customize"
SUBJECT_LIMIT: Final = 100  # SNS Subject: at most 100 printable ASCII characters, one line
APPROVALS_PREFIX: Final = approval_records.PENDING_PREFIX
_MISSING: Final = approval_records.ABSENT


def pending_key(run_id: str) -> str:
    """Where the pending approval's task token waits for the approval-answer function."""
    return approval_records.pending_key(run_id)


def starter_line(starter: approval_records.Principal | None, *, self_approval: bool) -> str:
    """Who started the run, as the approver should read it (and whether they may approve it)."""
    if starter is None:
        return "Started by:      not on record (started without the start command of the CLI)" + (
            "" if self_approval else "; this request can only be rejected (self-approval is not allowed)"
        )
    how = "verified by STS" + ("" if starter.bound else f"; {starter.basis}")
    rule = "" if self_approval else "; they may not approve it themselves"
    return f"Started by:      {starter.name} ({starter.arn}, {how}){rule}"


def duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def subject_line(text: str) -> str:
    """Printable ASCII on one line, cut to the SNS limit."""
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in " ".join(text.split()))
    return clean if len(clean) <= SUBJECT_LIMIT else clean[: SUBJECT_LIMIT - 3] + "..."


def commands(run_id: str) -> dict[str, str]:
    return {
        "approve": f"{CLI} approve {run_id}",
        "reject": f'{CLI} reject {run_id} --reason "..."',
    }


def _loss_text(value: Any) -> str:
    return (
        fmt_number(float(value))
        if isinstance(value, int | float) and not isinstance(value, bool)
        else "unknown"
    )


def _estimate_details(estimate: dict[str, Any]) -> list[str]:
    """Where the figures come from: the plan carries a basis per figure and/or a price date."""
    lines = [f"  prices as of:    {estimate['asOf']}"] if estimate.get("asOf") else []
    basis = estimate.get("basis")
    if isinstance(basis, dict):
        lines += [f"  {name}: {text}" for name, text in basis.items()]
    return lines


def _quality_line(evaluation_result: Mapping[str, Any] | None) -> list[str]:
    """The compared models' quality side by side: custom, the slot's champion (if any), base."""
    result = evaluation_result or {}
    compared = [(label, result.get(label)) for label in ("custom", "champion", "base")]
    parts = [
        f"{label} {agg['quality']:.3f}"
        for label, agg in compared
        if isinstance(agg, Mapping) and isinstance(agg.get("quality"), int | float)
    ]
    return [f"Quality:         {' | '.join(parts)}"] if len(parts) > 1 else []


def _judge_jobs(plan: Mapping[str, Any]) -> str:
    """``2 evaluation jobs``, or ``3 evaluation jobs: custom, base, champion`` in a slot with a champion."""
    jobs = list(((plan.get("judge") or {}).get("jobs")) or {})
    if len(jobs) <= 2:
        return f"{len(jobs) or 2} evaluation jobs"
    return f"{len(jobs)} evaluation jobs: {', '.join(jobs)}"


def compose(
    run_id: str,
    plan: dict[str, Any],
    loss: dict[str, Any],
    requested_at: dt.datetime,
    *,
    stage: str = "serving",
    evaluation_result: dict[str, Any] | None = None,
    judge_result: dict[str, Any] | None = None,
    started_by: str | None = None,
) -> dict[str, Any]:
    """The approval request: what is asked, at what cost, until when, and how to answer."""
    for_evaluation = stage == "evaluation"
    throughput = (plan.get("vehicle") if for_evaluation else plan.get("serving")) or {}
    estimate = plan.get("estimate") or {}
    approval = plan.get("approval") or {}
    evaluation = plan.get("evaluation") or {}
    timeout = int(approval.get("timeoutSeconds") or 0)
    expires = (
        (requested_at + dt.timedelta(seconds=timeout)).strftime("%Y-%m-%dT%H:%M:%SZ") if timeout else None
    )
    commitment = "none" if for_evaluation else str(throughput.get("commitment") or "none")
    units = throughput.get("ModelUnits")
    commands_ = commands(run_id)
    term = usd(estimate.get("commitmentTermUsd")) if commitment != "none" else "none (no commitment)"
    if for_evaluation:
        kept = bool(throughput.get("servesAfterwards"))
        bought = (
            f"{units} model unit(s) of Provisioned Throughput, no commitment, to evaluate the custom model "
            "on (its base cannot be deployed on demand): billed every hour until deleted; "
            + (
                "it is kept to serve with if the model passes its bar, deleted otherwise"
                if kept
                else "released right after the comparison with the base model, before the verdict, "
                "the judge and any further approval"
            )
        )
    elif commitment == "none":
        bought = (
            f"{units} model unit(s) of Provisioned Throughput, no commitment: billed every hour until "
            "deleted (this run deletes it only if it fails)"
        )
    else:
        bought = (
            f"{units} model unit(s) of Provisioned Throughput with a {commitment} commitment: billed for "
            "the whole term, and it cannot be deleted before the term ends"
        )
    judged = (evaluation_result or {}).get("summary")
    judge_summary = (judge_result or {}).get("summary")
    # A serving slot (pipeline.slots): into one that exists the model is changed in place and
    # nothing is bought; a first promotion makes what this run serves from the slot's endpoint.
    slot = None if for_evaluation else plan.get("slot")
    in_place = bool(slot and slot.get("exists"))
    keeps_deployment = bool(slot) and not in_place and plan.get("serving", {}).get("mode") == "on-demand"
    if in_place:
        assert slot is not None
        bought = (
            f"nothing: the model behind serving slot {slot.get('name')} ({slot.get('endpointArn')}) is "
            f"changed in place from its champion {slot.get('championModelArn')} (run "
            f"{slot.get('championRunId')}) to this run's custom model, smoke-checked through the slot and "
            "changed back if it fails"
        )
    elif keeps_deployment:
        assert slot is not None
        bought = (
            f"nothing billed by the hour: the run's on-demand deployment becomes serving slot "
            f"{slot.get('name')}'s endpoint (billed per token)"
        )
    elif slot:
        bought += f"; it becomes serving slot {slot.get('name')}'s endpoint"
    asks = (
        f"to promote its custom model into serving slot {slot.get('name')}."
        if slot and (in_place or keeps_deployment)
        else "to buy Provisioned Throughput "
        + ("to evaluate its custom model on." if for_evaluation else "to serve its custom model.")
    )
    lines = [
        f"Run {run_id} asks {asks}",
        "",
        f"Run:             {run_id} ({plan.get('runName', '')})",
        *([started_by] if started_by else []),
        f"Base model:      {plan.get('baseModel')}",
        f"Custom model:    {loss.get('outputModelArn') or 'unknown'}",
        f"Training loss:   {_loss_text(loss.get('trainingLoss'))}"
        + (
            f" (bar {_loss_text(evaluation.get('maxTrainingLoss'))})"
            if evaluation.get("maxTrainingLoss") is not None
            else ""
        ),
        f"Validation loss: {_loss_text(loss.get('validationLoss'))}"
        + (
            f" (bar {_loss_text(evaluation.get('maxValidationLoss'))})"
            if evaluation.get("maxValidationLoss") is not None
            else ""
        ),
        f"Loss gate:       {loss.get('summary', '')}",
        *([f"Quality gate:    {judged}"] if judged else []),
        *_quality_line(evaluation_result),
        *([f"LLM judge:       {judge_summary}"] if judge_summary else []),
        "",
        f"Would buy:       {bought}",
        *(
            [f"Name:            {throughput.get('ProvisionedModelName')}"]
            if not (in_place or keeps_deployment)
            else []
        ),
        "Estimated cost (catalog prices, possibly stale):",
        *(
            [f"  evaluation:      {usd(estimate.get('evaluationUsd'))}"]
            if for_evaluation
            else []
            if in_place or keeps_deployment
            else [
                f"  per hour:        {usd(estimate.get('throughputHourlyUsd'))}",
                f"  per month:       {usd(estimate.get('throughputMonthlyUsd'))}",
                f"  commitment term: {term}",
            ]
        ),
        f"  model storage:   {usd(estimate.get('storageMonthlyUsd'))} per month",
        # The LLM judge (opt-in) bills its tokens once per run: shown so the approver sees every cost.
        *(
            [f"  LLM judge:       {usd(estimate.get('judgeUsd'))} ({_judge_jobs(plan)})"]
            if "judgeUsd" in estimate
            else []
        ),
        *_estimate_details(estimate),
        f"Why approval:    {approval.get('reason') or 'required by the run spec'}",
        "",
        (f"Decide within {duration(timeout)} (until {expires})" if expires else "Decide")
        + "; no decision counts as a rejection and nothing is bought.",
        f"  Approve: {commands_['approve']}",
        f"  Reject:  {commands_['reject']}",
    ]
    return {
        "subject": subject_line(
            f"Approve promotion into serving slot {slot.get('name')}? Run {run_id}"
            if slot and (in_place or keeps_deployment)
            else f"Approve Bedrock {'evaluation ' if for_evaluation else ''}throughput purchase? Run {run_id}"
        ),
        "message": "\n".join(lines),
        "timeoutSeconds": timeout,
        "expiresAt": expires,
        "commands": commands_,
        "purchase": {
            "stage": stage,
            "modelUnits": units,
            "commitment": commitment,
            "provisionedModelName": throughput.get("ProvisionedModelName"),
            "customModelArn": loss.get("outputModelArn"),
            # The serving slot promoted into (None: no slot); in place, nothing is bought.
            "slot": slot.get("name") if slot else None,
            "inPlace": in_place,
        },
    }


def read_starter(bucket: str, run_id: str, execution_arn: str, execution_start: str) -> Any:
    try:
        record = runtime.get_json(bucket, approval_records.starter_key(run_id))
    except Exception as error:
        if runtime.error_code(error) in _MISSING:
            return None
        raise
    return approval_records.starter_of(record, execution_arn=execution_arn, execution_start=execution_start)


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = runtime.require_env("TRAINING_BUCKET")
    topic_arn = runtime.require_env("TOPIC_ARN")
    self_approval = os.environ.get("ALLOW_SELF_APPROVAL", "").strip().lower() == "true"
    run_id = str(event["runId"])
    plan: dict[str, Any] = event["plan"]
    loss: dict[str, Any] = event.get("loss") or {}
    requested_at = dt.datetime.now(tz=dt.UTC).replace(microsecond=0)
    stage = str(event.get("stage") or "serving")
    execution_arn, execution_start = str(event["executionArn"]), str(event["executionStart"])
    request_id = approval_records.request_id(execution_arn, execution_start, stage)
    starter = read_starter(bucket, run_id, execution_arn, execution_start)
    request = compose(
        run_id,
        plan,
        loss,
        requested_at,
        stage=stage,
        evaluation_result=event.get("evaluation") or None,
        judge_result=event.get("judge") or None,
        started_by=starter_line(starter, self_approval=self_approval),
    )

    run_prefix = str(plan.get("runPrefix") or f"runs/{run_id}/")
    requested = requested_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    # The token goes where only the approval-answer function may read it: a person never sees it,
    # and whoever answers is authenticated by IAM, with the verified caller recorded as approver.
    # Written before publishing: whoever reads the message must find the request pending already.
    runtime.put_json(
        bucket,
        pending_key(run_id),
        {
            "runId": run_id,
            "requestId": request_id,
            "taskToken": event["taskToken"],
            "stage": stage,
            "executionArn": execution_arn,
            "executionStart": execution_start,
            "requestedAt": requested,
            "expiresAt": request["expiresAt"],
        },
    )
    request_uri = runtime.put_json(
        bucket,
        f"{run_prefix}approval-request.json",
        {
            "runId": run_id,
            "requestId": request_id,
            "stage": stage,
            "requestedAt": requested,
            "expiresAt": request["expiresAt"],
            "timeoutSeconds": request["timeoutSeconds"],
            "summary": request["message"],
            "purchase": request["purchase"],
            "estimate": plan.get("estimate"),
            "loss": loss,
            "commands": request["commands"],
            "startedBy": starter.to_dict() if starter is not None else None,
            "selfApprovalAllowed": self_approval,
        },
    )
    runtime.client("sns").publish(TopicArn=topic_arn, Subject=request["subject"], Message=request["message"])
    LOG.info(
        "approval requested",
        extra={
            "runId": run_id,
            "requestId": request_id,
            "requestUri": request_uri,
            "expiresAt": request["expiresAt"],
        },
    )
    return {"requestUri": request_uri}
