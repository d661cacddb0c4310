"""Ask a human whether to buy the run's Provisioned Throughput (``.waitForTaskToken``).

Event ``{"taskToken", "runId", "plan", "loss"}`` → ``{"requestUri"}``. The state's real result is
what the CLI sends back with SendTaskSuccess.

The task token goes to S3 only (runs/<runId>/approval-request.json), never into the message: anyone
subscribed to the topic could otherwise approve a purchase without the CLI's permissions.

Calls: s3:PutObject of runs/<runId>/approval-request.json, sns:Publish to TOPIC_ARN.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from lambdas.common import runtime
from pipeline.metrics import fmt_number

LOG = runtime.get_logger(__name__)
CLI: Final = "bedrock-customize"
SUBJECT_LIMIT: Final = 100  # SNS Subject: at most 100 printable ASCII characters, one line


def usd(value: Any) -> str:
    """A price for people; unknown stays "unknown" (never $0.00, which would read as free)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "unknown"
    return f"${value:,.2f}"


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


def compose(
    run_id: str, plan: dict[str, Any], loss: dict[str, Any], requested_at: dt.datetime
) -> dict[str, Any]:
    """The approval request: what is asked, at what cost, until when, and how to answer."""
    throughput = plan.get("throughput") or {}
    estimate = plan.get("estimate") or {}
    approval = plan.get("approval") or {}
    evaluation = plan.get("evaluation") or {}
    timeout = int(approval.get("timeoutSeconds") or 0)
    expires = (
        (requested_at + dt.timedelta(seconds=timeout)).strftime("%Y-%m-%dT%H:%M:%SZ") if timeout else None
    )
    commitment = str(throughput.get("commitment") or "none")
    units = throughput.get("ModelUnits")
    commands_ = commands(run_id)
    term = usd(estimate.get("commitmentTermUsd")) if commitment != "none" else "none (no commitment)"
    if commitment == "none":
        bought = (
            f"{units} model unit(s) of Provisioned Throughput, no commitment: billed every hour until "
            "deleted (this run deletes it only if it fails)"
        )
    else:
        bought = (
            f"{units} model unit(s) of Provisioned Throughput with a {commitment} commitment: billed for "
            "the whole term, and it cannot be deleted before the term ends"
        )
    lines = [
        f"Run {run_id} asks to buy Provisioned Throughput for its custom model.",
        "",
        f"Run:             {run_id} ({plan.get('runName', '')})",
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
        "",
        f"Would buy:       {bought}",
        f"Name:            {throughput.get('ProvisionedModelName')}",
        "Estimated cost (catalog prices, possibly stale):",
        f"  per hour:        {usd(estimate.get('throughputHourlyUsd'))}",
        f"  per month:       {usd(estimate.get('throughputMonthlyUsd'))}",
        f"  commitment term: {term}",
        f"  model storage:   {usd(estimate.get('storageMonthlyUsd'))} per month",
        *_estimate_details(estimate),
        f"Why approval:    {approval.get('reason') or 'required by the run spec'}",
        "",
        (f"Decide within {duration(timeout)} (until {expires})" if expires else "Decide")
        + "; no decision counts as a rejection and nothing is bought.",
        f"  Approve: {commands_['approve']}",
        f"  Reject:  {commands_['reject']}",
    ]
    return {
        "subject": subject_line(f"Approve Bedrock throughput purchase? Run {run_id}"),
        "message": "\n".join(lines),
        "timeoutSeconds": timeout,
        "expiresAt": expires,
        "commands": commands_,
        "purchase": {
            "modelUnits": units,
            "commitment": commitment,
            "provisionedModelName": throughput.get("ProvisionedModelName"),
            "customModelArn": loss.get("outputModelArn"),
        },
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bucket = runtime.require_env("TRAINING_BUCKET")
    topic_arn = runtime.require_env("TOPIC_ARN")
    run_id = str(event["runId"])
    plan: dict[str, Any] = event["plan"]
    loss: dict[str, Any] = event.get("loss") or {}
    requested_at = dt.datetime.now(tz=dt.UTC).replace(microsecond=0)
    request = compose(run_id, plan, loss, requested_at)

    run_prefix = str(plan.get("runPrefix") or f"runs/{run_id}/")
    # Written before publishing: whoever reads the message must find the token already there.
    request_uri = runtime.put_json(
        bucket,
        f"{run_prefix}approval-request.json",
        {
            "runId": run_id,
            "taskToken": event["taskToken"],
            "requestedAt": requested_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expiresAt": request["expiresAt"],
            "timeoutSeconds": request["timeoutSeconds"],
            "summary": request["message"],
            "purchase": request["purchase"],
            "estimate": plan.get("estimate"),
            "loss": loss,
            "commands": request["commands"],
        },
    )
    runtime.client("sns").publish(TopicArn=topic_arn, Subject=request["subject"], Message=request["message"])
    LOG.info(
        "approval requested",
        extra={"runId": run_id, "requestUri": request_uri, "expiresAt": request["expiresAt"]},
    )
    return {"requestUri": request_uri}
