"""Test doubles the handler tests share: a Lambda context, moto job control, Bedrock answers."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from moto.bedrock.models import bedrock_backends

from lambdas.common import runtime
from tests.handlers.plans import (
    ACCOUNT,
    BUCKET,
    CUSTOM_MODEL_ARN,
    DEPLOYMENT_ARN,
    DEPLOYMENT_NAME,
    PT_ARN,
    PT_NAME,
    REGION,
    RUN_ID,
    TRAINING_URI,
)


class FakeContext:
    """The part of the Lambda context the handlers use."""

    aws_request_id = "req-0001"

    def __init__(self, remaining_ms: int = 600_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def create_job(name: str = RUN_ID, output_uri: str = f"s3://{BUCKET}/outputs/{RUN_ID}/") -> str:
    """Create a customization job in moto the way the workflow does; returns its ARN."""
    response = runtime.client("bedrock").create_model_customization_job(
        jobName=name,
        customModelName=name,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/bedrock-customization",
        baseModelIdentifier="amazon.nova-micro-v1:0:128k",
        clientRequestToken=name,
        trainingDataConfig={"s3Uri": TRAINING_URI},
        outputDataConfig={"s3Uri": output_uri},
        hyperParameters={"epochCount": "2"},
    )
    return str(response["jobArn"])


def set_job(
    name: str = RUN_ID,
    *,
    status: str,
    training_loss: float | None = None,
    validation_losses: list[float] | None = None,
    failure_message: str | None = None,
) -> None:
    """Move a moto job to where a real one would be (moto keeps jobs InProgress with loss 0.0).

    ``None`` losses leave the metrics out of GetModelCustomizationJob, as Bedrock may.
    """
    job = bedrock_backends[ACCOUNT][REGION].model_customization_jobs[name]
    # moto types these attributes as always set; a real job may lack every one of them.
    vars(job).update(
        status=status,
        training_metrics={"trainingLoss": training_loss} if training_loss is not None else None,
        validation_metrics=[{"validationLoss": v} for v in validation_losses] if validation_losses else None,
        failure_message=failure_message,
    )


def job_status(name: str = RUN_ID) -> str:
    return str(bedrock_backends[ACCOUNT][REGION].model_customization_jobs[name].status)


def notices() -> list[dict[str, Any]]:
    """What the workflow's topic was sent (moto keeps it): subject and message of each notice."""
    from moto.sns.models import sns_backends

    backend = sns_backends[ACCOUNT][REGION]
    return [
        {"subject": subject, "message": message}
        for topic in backend.topics.values()
        for _id, message, subject, _attrs, _group in topic.sent_notifications
    ]


def put_text(key: str, text: str, bucket: str = BUCKET) -> None:
    runtime.client("s3").put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))


def put_jsonl(key: str, records: Iterable[Any], bucket: str = BUCKET) -> None:
    put_text(key, "".join(json.dumps(r) + "\n" for r in records), bucket)


def read_json(key: str, bucket: str = BUCKET) -> Any:
    return runtime.get_json(bucket, key)


def key_of(uri: str) -> str:
    return runtime.parse_s3_uri(uri)[1]


# --------------------------------------------------------------------------------------------------
# Bedrock answers moto cannot give (throughput, deployments), for a PartialStubber
# --------------------------------------------------------------------------------------------------

_WHEN = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
_FOUNDATION = f"arn:aws:bedrock:{REGION}::foundation-model/amazon.nova-micro-v1:0:128k"


def throughput_description(
    *,
    arn: str = PT_ARN,
    name: str = PT_NAME,
    status: str = "InService",
    commitment: str | None = None,
    failure_message: str | None = None,
) -> dict[str, Any]:
    """GetProvisionedModelThroughput's answer (every member botocore requires)."""
    doc: dict[str, Any] = {
        "modelUnits": 1,
        "desiredModelUnits": 1,
        "provisionedModelName": name,
        "provisionedModelArn": arn,
        "modelArn": CUSTOM_MODEL_ARN,
        "desiredModelArn": CUSTOM_MODEL_ARN,
        "foundationModelArn": _FOUNDATION,
        "status": status,
        "creationTime": _WHEN,
        "lastModifiedTime": _WHEN,
    }
    if commitment:
        doc |= {
            "commitmentDuration": commitment,
            "commitmentExpirationTime": dt.datetime(2027, 5, 27, tzinfo=dt.UTC),
        }
    if failure_message:
        doc["failureMessage"] = failure_message
    return doc


def throughput_summary(name: str, arn: str) -> dict[str, Any]:
    """One entry of ListProvisionedModelThroughputs."""
    return {
        key: value
        for key, value in throughput_description(arn=arn, name=name).items()
        if key not in ("failureMessage",)
    }


def deployment_description(
    *, arn: str = DEPLOYMENT_ARN, status: str = "Active", failure_message: str | None = None
) -> dict[str, Any]:
    """GetCustomModelDeployment's answer."""
    doc: dict[str, Any] = {
        "customModelDeploymentArn": arn,
        "modelDeploymentName": DEPLOYMENT_NAME,
        "modelArn": CUSTOM_MODEL_ARN,
        "createdAt": _WHEN,
        "status": status,
    }
    if failure_message:
        doc["failureMessage"] = failure_message
    return doc


def deployment_summary(name: str, arn: str) -> dict[str, Any]:
    """One entry of ListCustomModelDeployments (its name key differs from Get's)."""
    return {
        "customModelDeploymentArn": arn,
        "customModelDeploymentName": name,
        "modelArn": CUSTOM_MODEL_ARN,
        "createdAt": _WHEN,
        "status": "Active",
    }
