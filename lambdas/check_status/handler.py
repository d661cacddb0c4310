"""One status check of what the run waits for: an on-demand deployment or a Provisioned Throughput.

Event ``{"kind": "deployment"|"throughput", "arn", "previous": {...}|null, "schedule": [s, ...]}``
→ ``{"status", "ready", "failed", "timedOut", "attempt", "waitSeconds", "failureMessage"}``.

Neither resource sends a state-change event (bedrock.md §6), so the workflow polls. Doing the
bookkeeping here (attempt count, next interval from the plan's capped, doubling schedule, the
timeout verdict) keeps each poll at three state transitions: wait, check, choice.

Calls: bedrock:GetCustomModelDeployment or bedrock:GetProvisionedModelThroughput.
"""

from __future__ import annotations

from typing import Any, Final

from lambdas.common import runtime
from pipeline import poll

LOG = runtime.get_logger(__name__)
DEPLOYMENT: Final = "deployment"
THROUGHPUT: Final = "throughput"


class RuntimeTooOldError(RuntimeError):
    """The Lambda runtime's bundled boto3 predates the custom model deployment API."""


def describe(kind: str, arn: str) -> tuple[str, str | None]:
    """(status, failure message) from Bedrock."""
    bedrock = runtime.client("bedrock")
    if kind == DEPLOYMENT:
        # The deployment API arrived in botocore 1.39.7 (checked against the 1.39.6 and 1.39.7
        # service models); a runtime whose boto3 is older fails here with a clear message.
        if not hasattr(bedrock, "get_custom_model_deployment"):
            raise RuntimeTooOldError(
                "this Lambda runtime's boto3 has no get_custom_model_deployment (needs botocore >= 1.39.7); "
                "use a newer Python runtime or ship boto3 with the function"
            )
        described = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=arn)
    elif kind == THROUGHPUT:
        described = bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
    else:
        raise ValueError(f"unknown kind {kind!r}; expected {DEPLOYMENT} or {THROUGHPUT}")
    return str(described.get("status")), described.get("failureMessage")


@runtime.observed
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    kind = str(event["kind"])
    arn = str(event["arn"])
    status, failure = describe(kind, arn)
    result = poll.next_check(status, event.get("previous"), list(event.get("schedule") or []))
    result["failureMessage"] = failure if result["failed"] else None
    LOG.info("status check", extra={"kind": kind, "arn": arn, **result})
    return result
