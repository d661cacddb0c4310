"""Create the run's on-demand custom model deployment: the evaluation vehicle, kept when it serves.

Event ``{"runId", "plan", "modelArn", "mode": "create"}`` → ``{"Kind": "deployment", "Arn",
"FailedError", "TimeoutError"}`` (what ``$.vehicle`` holds).

The request is the plan's (pipeline.deployment.create_request): its name, idempotency token,
description and tags. Bedrock's refusal (the account, the region or the model) escapes as its
error, which the workflow names ``DeploymentCreateError`` on the failure path; throttling and
transient faults escape under their own names for the workflow's retries.

Calls: bedrock:CreateCustomModelDeployment (tags on the new deployment: bedrock:TagResource).
"""

from __future__ import annotations

from typing import Any, Final

from lambdas.common import runtime
from pipeline import deployment

LOG = runtime.get_logger(__name__)
CREATE: Final = "create"


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    mode = str(event.get("mode") or CREATE)
    if mode != CREATE:
        raise ValueError(f"unknown mode {mode!r}; expected {CREATE!r}")
    plan: dict[str, Any] = event["plan"]
    request = deployment.create_request(plan["vehicle"], str(event["modelArn"]))
    created = runtime.client("bedrock").create_custom_model_deployment(**request)
    arn = str(created["customModelDeploymentArn"])
    LOG.info(
        "deployment requested",
        extra={"runId": event.get("runId"), "deployment": request["modelDeploymentName"], "arn": arn},
    )
    return deployment.vehicle_result(arn)
