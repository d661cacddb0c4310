"""A realistic run, shaped exactly as docs/workflow-contract.md describes it, for handler tests.

Everything is built by functions returning fresh dicts, so a test can change its copy freely.
"""

from __future__ import annotations

import copy
from typing import Any, Final

BUCKET: Final = "customization-training-123456789012"
RUN_ID: Final = "support-bot-v1-3f9a2c1b7d"
RUN_NAME: Final = "support-bot-v1"
ACCOUNT: Final = "123456789012"
REGION: Final = "us-east-1"
BASE_MODEL: Final = "amazon.nova-micro-v1:0:128k"
BASE_INVOKE_ID: Final = "amazon.nova-micro-v1:0"
TRAINING_URI: Final = f"s3://{BUCKET}/datasets/{RUN_NAME}/train-5b1e.jsonl"
VALIDATION_URI: Final = f"s3://{BUCKET}/datasets/{RUN_NAME}/validation-9c4d.jsonl"
PROMPTS_URI: Final = f"s3://{BUCKET}/datasets/{RUN_NAME}/eval-prompts-77aa.jsonl"
OUTPUT_PREFIX: Final = f"outputs/{RUN_ID}/"
PT_NAME: Final = f"{RUN_ID}-pt"
PT_ARN: Final = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/k3v9q2x7m1ab"
EVAL_PT_NAME: Final = f"{RUN_ID}-eval"
EVAL_PT_ARN: Final = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/e4v7a1u2t3n9"
DEPLOYMENT_NAME: Final = f"{RUN_ID}-od"
DEPLOYMENT_ARN: Final = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/d3p1oy4m3nt1"
JOB_ID: Final = "a1b2c3d4e5f6"
JOB_ARN: Final = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/{BASE_INVOKE_ID}/{JOB_ID}"
CUSTOM_MODEL_ARN: Final = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/{BASE_INVOKE_ID}/z9y8x7w6v5u4"
TOPIC_ARN: Final = f"arn:aws:sns:{REGION}:{ACCOUNT}:bedrock-customization-runs"
# The execution that runs the plan ($$.Execution.Id, $$.Execution.StartTime), and its tags.
WORKFLOW_ARN: Final = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:Workflow"
EXECUTION_ARN: Final = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:Workflow:{RUN_ID}"
EXECUTION_START: Final = "2026-11-27T08:00:00.000Z"
EXECUTION_TAGS: Final = {
    "bedrock-customization:run-id": RUN_ID,
    "bedrock-customization:execution-arn": EXECUTION_ARN,
    "bedrock-customization:execution-start": EXECUTION_START,
}
# An earlier execution of the same run id (execution names recur after 90 days).
EARLIER_START: Final = "2026-08-01T08:00:00.000Z"
EARLIER_TAGS: Final = EXECUTION_TAGS | {"bedrock-customization:execution-start": EARLIER_START}

COMMITMENT_TAG: Final = "bedrock-customization:commitment"
PURPOSE_TAG: Final = "bedrock-customization:purpose"
# Shorter than the real schedules (pipeline.plan.poll_schedule); the handlers take whatever they get.
DEPLOYMENT_SCHEDULE: Final = (30, 60, 120, 240, 480, 600)
PT_SCHEDULE: Final = (30, 60, 120, 240, 480, 600, 600)

_TAGS: Final = [
    {"Key": "team", "Value": "support"},
    {"Key": "bedrock-customization:run-id", "Value": RUN_ID},
    {"Key": "bedrock-customization:run-name", "Value": RUN_NAME},
]


def run_spec(
    *, prompts: str | None = PROMPTS_URI, validation: bool = True, serving: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``RunSpec.to_dict()`` after the CLI uploaded the datasets (every dataset an s3:// URI)."""
    return {
        "name": RUN_NAME,
        "region": REGION,
        "baseModel": BASE_MODEL,
        "customizationType": "FINE_TUNING",
        "training": TRAINING_URI,
        "validation": [VALIDATION_URI] if validation else [],
        "hyperParameters": {"epochCount": "2"},
        "teacher": None,
        "maxResponseLengthForInference": None,
        "evaluation": {
            "maxTrainingLoss": None,
            "maxValidationLoss": 1.2,
            "prompts": prompts,
            "maxPrompts": 50,
            "minQuality": None,
            "minImprovementOverBase": 0.0,
        },
        "serving": serving or {"mode": "provisioned", "modelUnits": 1, "commitment": "none"},
        "approval": {"policy": "always", "monthlyCostThreshold": None, "timeoutHours": 24},
        "tags": {"team": "support"},
    }


def _waits(schedule: tuple[int, ...]) -> dict[str, Any]:
    return {"pollSchedule": list(schedule), "firstWaitSeconds": schedule[0], "maxPolls": len(schedule) - 1}


def _tags(*extra: tuple[str, str]) -> list[dict[str, str]]:
    return [*copy.deepcopy(_TAGS), *({"Key": key, "Value": value} for key, value in extra)]


def vehicle_plan(kind: str = "deployment", *, serves_afterwards: bool = False) -> dict[str, Any]:
    """``plan.vehicle``: what the custom model is evaluated on, with its exact create request."""
    if kind == "deployment":
        return {
            "kind": kind,
            "servesAfterwards": serves_afterwards,
            "ModelDeploymentName": DEPLOYMENT_NAME,
            "ClientRequestToken": f"{RUN_ID}-od",
            "Description": f"Bedrock customization run {RUN_ID}: evaluation"
            + (" and on-demand serving" if serves_afterwards else " only"),
            "Tags": _tags((PURPOSE_TAG, "serving" if serves_afterwards else "evaluation")),
            **_waits(DEPLOYMENT_SCHEDULE),
        }
    if kind == "throughput":
        return {
            "kind": kind,
            "servesAfterwards": serves_afterwards,
            "ModelUnits": 1,
            "ProvisionedModelName": PT_NAME if serves_afterwards else EVAL_PT_NAME,
            "ClientRequestToken": f"{RUN_ID}-pt" if serves_afterwards else f"{RUN_ID}-eval-pt",
            "Tags": _tags(
                (COMMITMENT_TAG, "none"), (PURPOSE_TAG, "serving" if serves_afterwards else "evaluation")
            ),
            **_waits(PT_SCHEDULE),
        }
    return {"kind": "none", "servesAfterwards": False}


def serving_plan(
    mode: str = "provisioned", *, commitment: str = "none", model_units: int = 1, reuses: bool = False
) -> dict[str, Any]:
    """``plan.serving``: how the model is served once it passed, with the purchase request if any."""
    serving: dict[str, Any] = {
        "mode": mode,
        "commitment": commitment if mode == "provisioned" else "none",
        "reusesEvaluationThroughput": reuses,
        # No serving slot in the example: nothing is changed in place.
        "promotesInPlace": False,
        **_waits(PT_SCHEDULE),
    }
    if mode == "provisioned":
        serving |= {
            "ModelUnits": model_units,
            "ProvisionedModelName": PT_NAME,
            "ClientRequestToken": f"{RUN_ID}-pt",
            "Tags": _tags((COMMITMENT_TAG, commitment), (PURPOSE_TAG, "serving")),
        }
        if commitment != "none":
            serving["CommitmentDuration"] = commitment
    return serving


def plan(
    *,
    variant: str = "WITH_VALIDATION",
    vehicle: str = "deployment",
    serving: str = "provisioned",
    commitment: str = "none",
    model_units: int = 1,
    prompts: str | None = PROMPTS_URI,
    evaluation: dict[str, Any] | None = None,
    approval: dict[str, Any] | None = None,
    estimate: dict[str, Any] | None = None,
    judge: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``$.preflight.plan``: the contract's example, with keys present exactly when it says so.

    By default the fine-tuning example: Nova Micro evaluated on an on-demand deployment, then one
    no-commitment model unit bought to serve it. ``vehicle="throughput"`` is a base without
    on-demand deployment (evaluated on 1 MU, kept for serving when that is exactly the purchase).
    """
    job: dict[str, Any] = {
        "JobName": RUN_ID,
        "CustomModelName": RUN_ID,
        "BaseModelIdentifier": BASE_MODEL,
        "CustomizationType": "DISTILLATION" if variant == "DISTILLATION" else "FINE_TUNING",
        "TrainingDataConfig": {"S3Uri": TRAINING_URI},
        "OutputDataConfig": {"S3Uri": f"s3://{BUCKET}/{OUTPUT_PREFIX}"},
        "HyperParameters": {"epochCount": "2"},
        "JobTags": copy.deepcopy(_TAGS),
        "CustomModelTags": copy.deepcopy(_TAGS),
    }
    if variant == "WITH_VALIDATION":
        job["ValidationDataConfig"] = {"Validators": [{"S3Uri": VALIDATION_URI}]}
    if variant == "DISTILLATION":
        job["CustomizationConfig"] = {
            "DistillationConfig": {
                "TeacherModelConfig": {
                    "TeacherModelIdentifier": "amazon.nova-pro-v1:0",
                    "MaxResponseLengthForInference": 1000,
                }
            }
        }
    reuses = (
        vehicle == "throughput" and serving == "provisioned" and model_units == 1 and commitment == "none"
    )
    before_evaluation = vehicle == "throughput"
    before_serving = serving == "provisioned" and not reuses
    return {
        "runId": RUN_ID,
        "runName": RUN_NAME,
        "region": REGION,
        "baseModel": BASE_MODEL,
        "baseModelInvokeId": BASE_INVOKE_ID,
        "customizationType": job["CustomizationType"],
        "jobVariant": variant,
        "jobTimeoutSeconds": 14400,
        "job": job,
        "evaluation": {
            "maxTrainingLoss": None,
            "maxValidationLoss": 1.2,
            "promptsUri": prompts,
            "maxPrompts": 50,
            "minQuality": None,
            "minImprovementOverBase": 0.0,
            "validationUris": [VALIDATION_URI] if variant == "WITH_VALIDATION" else [],
            "smokePrompts": 3,
        }
        | (evaluation or {}),
        "approval": {
            "required": before_evaluation or before_serving,
            "policy": "always",
            "reason": "approval policy is 'always'",
            "timeoutSeconds": 86400,
            "beforeEvaluation": before_evaluation,
            "beforeServing": before_serving,
        }
        | (approval or {}),
        "vehicle": vehicle_plan(vehicle, serves_afterwards=serving == "on-demand" or reuses),
        "serving": serving_plan(serving, commitment=commitment, model_units=model_units, reuses=reuses),
        "judge": judge,
        "slot": None,
        "promotion": None,
        "estimate": {
            "evaluationVehicle": vehicle,
            "servingMode": serving,
            "evaluationUsd": 0.0089 if vehicle == "deployment" else None,
            "trainingUsd": None,
            "throughputHourlyUsd": None,
            "throughputMonthlyUsd": None,
            "commitmentTermUsd": None,
            "storageMonthlyUsd": 1.95,
            "basis": {"storageMonthly": "custom model storage (as of 2024-04, [3P] ...)"},
            "asOf": "2024-04",
            "sources": ["[3P] ministryofjustice/analytical-platform#4119"],
        }
        | (estimate or {}),
        "bucket": BUCKET,
        "runPrefix": f"runs/{RUN_ID}/",
    }


def job_result(status: str = "Completed", **extra: Any) -> dict[str, Any]:
    """``$.job`` as ``createModelCustomizationJob.sync`` leaves it (PascalCase)."""
    return {
        "JobArn": JOB_ARN,
        "JobName": RUN_ID,
        "OutputModelArn": CUSTOM_MODEL_ARN,
        "OutputModelName": RUN_ID,
        "Status": status,
        "CreationTime": "2026-11-20T08:00:00Z",
        "EndTime": "2026-11-20T10:30:00Z",
        "TrainingMetrics": {"TrainingLoss": 0.52},
        "ValidationMetrics": [{"ValidationLoss": 0.91}],
    } | extra


def vehicle_slot(kind: str = "deployment") -> dict[str, Any]:
    """``$.vehicle`` as the create states leave it (their result selectors)."""
    if kind == "throughput":
        return {
            "Kind": "throughput",
            "Arn": EVAL_PT_ARN,
            "FailedError": "ThroughputFailed",
            "TimeoutError": "ThroughputTimeout",
        }
    return {
        "Kind": "deployment",
        "Arn": DEPLOYMENT_ARN,
        "FailedError": "DeploymentFailed",
        "TimeoutError": "DeploymentTimeout",
    }


def status_check(status: str, attempt: int = 3, wait: int = 240) -> dict[str, Any]:
    """A check_status result, as ``$.vehicleStatus`` / ``$.ptStatus`` hold it."""
    return {
        "status": status,
        "ready": status in ("Active", "InService"),
        "failed": status == "Failed",
        "timedOut": False,
        "attempt": attempt,
        "waitSeconds": wait,
        "failureMessage": None,
    }


def state(
    *,
    plan_doc: dict[str, Any] | None = None,
    failure: dict[str, Any] | None = None,
    with_throughput: bool = True,
    with_evaluation: bool = True,
    with_vehicle: bool = True,
) -> dict[str, Any]:
    """``$`` of a run that got as far as serving (pieces can be dropped for failure paths).

    Every slot of the workflow's RUN_SLOTS is present, null when its state never ran.
    """
    doc = plan_doc if plan_doc is not None else plan()
    kind = (doc.get("vehicle") or {}).get("kind", "deployment")
    vehicle = vehicle_slot(kind) if with_vehicle and kind != "none" else None
    custom_id = vehicle["Arn"] if vehicle else PT_ARN
    return {
        "runSpec": run_spec(),
        "preflight": {
            "valid": True,
            "runName": RUN_NAME,
            "runId": RUN_ID,
            "reportUri": f"s3://{BUCKET}/runs/{RUN_ID}/preflight.json",
            "summary": "valid: 0 errors, 1 warning",
            "errorCount": 0,
            "totals": {
                "records": 1200,
                "characters": 960000,
                "estimatedTokens": 160000,
                "estimatedTrainingCostUsd": None,
            },
            "spec": run_spec(),
            "plan": doc,
        },
        "job": job_result(),
        "loss": {
            "passed": True,
            "trainingLoss": 0.52,
            "validationLoss": 0.91,
            "curvesUri": f"s3://{BUCKET}/runs/{RUN_ID}/loss-curves.json",
            "summary": (
                "Loss within the bar: validation loss 0.91 is within the bar 1.20; "
                "training loss 0.52 (no bar set)."
            ),
            "jobArn": JOB_ARN,
            "outputModelArn": CUSTOM_MODEL_ARN,
        },
        "vehicle": vehicle,
        "vehicleStatus": status_check("Active" if kind == "deployment" else "InService") if vehicle else None,
        "evaluationApproval": None,
        "evaluation": {
            "passed": True,
            "judged": True,
            "vehicle": kind,
            "summary": "Custom model meets the bar (rougeL): improvement over the base model +0.140.",
            "resultsUri": f"s3://{BUCKET}/runs/{RUN_ID}/evaluation.json",
            "custom": {"modelId": custom_id, "quality": 0.62, "latencyMs": {"p50": 800.0, "p95": 1400.0}},
            "base": {"modelId": BASE_INVOKE_ID, "quality": 0.48, "latencyMs": {"p50": 600.0, "p95": 900.0}},
        }
        if with_evaluation
        else None,
        "approval": {"approved": True, "approver": "alice@example.com", "reason": "looks good"},
        "throughput": {"ProvisionedModelArn": PT_ARN} if with_throughput else None,
        "ptStatus": status_check("InService") if with_throughput else None,
        "smoke": {
            "passed": True,
            "summary": f"Smoke check passed on {PT_ARN}: 3 prompt(s) answered.",
            "modelId": PT_ARN,
            "resultsUri": f"s3://{BUCKET}/runs/{RUN_ID}/smoke-check.json",
        }
        if with_throughput
        else None,
        "released": None,
        "failure": failure,
        "cleanup": None,
    }
