"""On-demand custom model deployments the pipeline created: find them by tag, describe, delete.

A run deploys its custom model on demand (``<run id>-od``) to evaluate it where Bedrock offers that
for the base model, and keeps the deployment when the spec serves on demand. Every deployment the
workflow creates carries the tags ``bedrock-customization:run-id``, ``...:run-name`` and
``...:purpose`` (``evaluation`` or ``serving``; pipeline.plan). A deployment is billed per token
when it is called, never by the hour: deleting one saves no money, it only stops the model from
answering [UG:deploy-custom-model-on-demand].
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pipeline.operate import output
from pipeline.operate.errors import error_code
from pipeline.operate.throughput import GONE, tags_of
from pipeline.plan import PURPOSE_TAG, RUN_ID_TAG, RUN_NAME_TAG

ACTIVE: Final = "Active"


def is_deployment_arn(text: str) -> bool:
    return text.startswith("arn:") and ":custom-model-deployment/" in text


@dataclass(frozen=True)
class ModelDeployment:
    arn: str
    name: str
    status: str
    model_arn: str | None
    created: dt.datetime | None
    failure_message: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, item: Mapping[str, Any], tags: Mapping[str, str]) -> ModelDeployment:
        """From a ListCustomModelDeployments summary or a GetCustomModelDeployment response."""
        return cls(
            arn=str(item["customModelDeploymentArn"]),
            name=str(item.get("modelDeploymentName") or item.get("customModelDeploymentName") or ""),
            status=str(item.get("status") or "unknown"),
            model_arn=item.get("modelArn"),
            created=output.parse_time(item.get("createdAt")),
            failure_message=item.get("failureMessage"),
            tags=dict(tags),
        )

    @property
    def run_id(self) -> str | None:
        return self.tags.get(RUN_ID_TAG)

    @property
    def run_name(self) -> str | None:
        return self.tags.get(RUN_NAME_TAG)

    @property
    def purpose(self) -> str | None:
        """evaluation | serving, from the purpose tag (deployments of older runs have none)."""
        return self.tags.get(PURPOSE_TAG)

    def to_dict(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "name": self.name,
            "status": self.status,
            "runId": self.run_id,
            "purpose": self.purpose,
            "modelArn": self.model_arn,
            "createdAt": output.iso(self.created),
            "ageSeconds": (now - self.created).total_seconds() if self.created else None,
            "failureMessage": self.failure_message,
            "billing": "on demand: per token when called, no hourly charge",
        }


def describe(bedrock: Any, identifier: str) -> ModelDeployment | None:
    """One deployment by ARN or name, with its tags; None when it does not exist (any more)."""
    try:
        response = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=identifier)
    except Exception as exc:
        if error_code(exc) in GONE:
            return None
        raise
    return ModelDeployment.from_api(response, tags_of(bedrock, str(response["customModelDeploymentArn"])))


def inventory(bedrock: Any) -> list[ModelDeployment]:
    """Every custom model deployment in the region that carries the pipeline's run-id tag."""
    summaries: list[Mapping[str, Any]] = []
    for page in bedrock.get_paginator("list_custom_model_deployments").paginate():
        summaries += page.get("modelDeploymentSummaries", [])
    found = []
    for summary in summaries:
        tags = tags_of(bedrock, str(summary["customModelDeploymentArn"]))
        if RUN_ID_TAG in tags:
            found.append(ModelDeployment.from_api(summary, tags))
    return found


def find_by_name(bedrock: Any, name: str) -> str | None:
    """The ARN of the deployment with exactly this name (nameContains is a substring match)."""
    for page in bedrock.get_paginator("list_custom_model_deployments").paginate(nameContains=name):
        for summary in page.get("modelDeploymentSummaries", []):
            if summary.get("customModelDeploymentName") == name:
                return str(summary["customModelDeploymentArn"])
    return None


def delete(bedrock: Any, arn: str) -> bool:
    """Delete it; False when it was already gone."""
    try:
        bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=arn)
    except Exception as exc:
        if error_code(exc) in GONE:
            return False
        raise
    return True
