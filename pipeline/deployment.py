"""On-demand custom model deployments: the exact requests the workflow sends, built from the plan.

A deployment is created by a Lambda handler (lambdas/deploy), not by a Step Functions SDK
integration: CreateCustomModelDeployment is a 2025 API (botocore 1.39.7) and whether Step Functions'
SDK integrations recognise it is UNCONFIRMED. An unrecognised ``aws-sdk:bedrock:...`` resource fails
``CreateStateMachine`` at deploy time and rolls back the whole stack; the same API refused by an
account or a region inside a handler is one run's failure, on the failure path.

The request carries the plan's deployment name, idempotency token, description and tags, so a
retried state or a re-driven execution gets back the deployment it already created.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# What the workflow's gates read when the deployment fails or is not Active in time.
DEPLOYMENT_FAILED: Final = "DeploymentFailed"
DEPLOYMENT_TIMEOUT: Final = "DeploymentTimeout"


def create_request(vehicle: Mapping[str, Any], model_arn: str) -> dict[str, Any]:
    """CreateCustomModelDeployment's parameters (botocore member names) for the plan's vehicle."""
    return {
        "modelDeploymentName": str(vehicle["ModelDeploymentName"]),
        "modelArn": model_arn,
        "description": str(vehicle["Description"]),
        "clientRequestToken": str(vehicle["ClientRequestToken"]),
        # The plan writes tags as Step Functions passes them ({"Key", "Value"}); the API's members
        # are lowercase [BC].
        "tags": [{"key": str(t["Key"]), "value": str(t["Value"])} for t in vehicle.get("Tags") or []],
    }


def vehicle_result(arn: str) -> dict[str, Any]:
    """What the workflow keeps in ``$.vehicle`` for a deployment (docs/workflow-contract.md)."""
    return {
        "Kind": "deployment",
        "Arn": arn,
        "FailedError": DEPLOYMENT_FAILED,
        "TimeoutError": DEPLOYMENT_TIMEOUT,
    }
