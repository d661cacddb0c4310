"""Regenerate the bundled example run: ``.venv/bin/python examples/report-run/make_report_run.py``.

``... make_report_run.py --screenshot [PNG]`` renders its report and saves a headless-Chromium
screenshot (default: docs/report-screenshot.png).

The three files next to this script are what the workflow writes under ``runs/<runId>/`` for one
successful run of ``examples/runs/fine-tuning.yaml`` (Nova Micro, fine-tuned on the example support
conversations, evaluated on an on-demand deployment of the custom model, then served on one model
unit of no-commitment throughput approved by an operator after the quality bar; the deployment is
deleted once the throughput answered its smoke check). They are built by the workflow's own code,
not typed by hand, so their shapes are the contract's:

- ``loss-curves.json``: the evaluate_loss handler's document, from metrics CSVs in Bedrock's format
  parsed by ``pipeline.training_loss`` and judged by its loss gate;
- ``evaluation.json``: ``pipeline.evaluation.evaluate`` over the example prompts on the deployment,
  with a deterministic stand-in for the Converse API (the only invented part: answers, latencies,
  tokens);
- ``record.json``: the record handler's ``build_record`` over the run's final state document, with
  the datasets fingerprinted from a (moto) S3 bucket holding the example files.

Everything is deterministic (fixed timestamps, no randomness): re-running it reproduces the files
byte for byte, and tests/operate/test_example_run.py checks that it does.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Final

HERE: Final = Path(__file__).resolve().parent
ROOT: Final = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipeline import evaluation, training_loss  # noqa: E402
from pipeline.datasets import validate_run  # noqa: E402
from pipeline.plan import PlanContext, build_plan  # noqa: E402
from pipeline.runspec import load_run_spec  # noqa: E402

SPEC: Final = ROOT / "examples" / "runs" / "fine-tuning.yaml"
ACCOUNT: Final = "123456789012"
REGION: Final = "us-east-1"
BUCKET: Final = "bedrockcustomization-dev-storagetrainingbucket7c1e-9f3d8e6a1c5b"
JOB_ID: Final = "q7w2e9r4t1y6"
PT_ARN: Final = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:provisioned-model/m3x8k2v9p4zq"
DEPLOYMENT_ARN: Final = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/w4c9n2r7d1qe"
APPROVER: Final = f"arn:aws:sts::{ACCOUNT}:assumed-role/MLPlatformOperator/jdoe"
STARTED_AT: Final = "2026-03-02T09:14:05Z"
JOB_CREATED_AT: Final = "2026-03-02T09:14:41Z"
JOB_ENDED_AT: Final = "2026-03-02T11:52:10Z"
CURVES_WRITTEN_AT: Final = "2026-03-02T11:52:58Z"
EVALUATED_AT: Final = "2026-03-02T12:03:37Z"
APPROVAL_REQUESTED_AT: Final = "2026-03-02T12:03:41Z"
RECORDED_AT: Final = "2026-03-02T12:31:45Z"
STEPS_PER_EPOCH: Final = 30
EPOCHS: Final = 2
VALIDATION_EVERY: Final = 10


def _uploads() -> tuple[Any, Any, list[Any], str]:
    """The spec, the spec as ``bedrock-customize start`` rewrites it (content-addressed s3:// URIs),
    the uploads, and the run id."""
    from pipeline.operate import start
    from pipeline.operate.discovery import Deployment

    spec = load_run_spec(SPEC)
    deployment = Deployment(
        environment="dev",
        stack_name="BedrockCustomization-dev",
        region=REGION,
        account=ACCOUNT,
        training_bucket=BUCKET,
        key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0c7f3b9e-5d2a-4e8f-9a61-2b4c6d8e0f13",
        bedrock_service_role_arn=f"arn:aws:iam::{ACCOUNT}:role/BedrockCustomization-dev-BedrockServiceRole",
        state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:BedrockCustomization-dev-Workflow",
        topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:BedrockCustomization-dev-Runs",
        source="example",
    )
    uploads = start.plan_uploads(spec, deployment, s3=None)
    final = start.rewrite(spec, uploads)
    return spec, final, uploads, start.run_id_of(final)


def _curves(run_id: str) -> tuple[training_loss.CurveSet, dict[str, Any]]:
    """Metrics CSVs as Bedrock writes them, parsed by the workflow's parser."""
    training_rows = ["step_number,epoch_number,training_loss,perplexity"]
    for step in range(1, STEPS_PER_EPOCH * EPOCHS + 1):
        loss = (
            0.64 + 1.9 * math.exp(-step / 13) + 0.07 * math.sin(1.7 * step) + 0.03 * math.cos(0.9 * step + 1)
        )
        epoch = (step - 1) // STEPS_PER_EPOCH + 1
        training_rows.append(f"{step},{epoch},{loss:.6f},{math.exp(loss):.6f}")
    validation_rows = ["step_number,epoch_number,validation_loss,perplexity"]
    for step in range(VALIDATION_EVERY, STEPS_PER_EPOCH * EPOCHS + 1, VALIDATION_EVERY):
        loss = 1.01 + 1.4 * math.exp(-step / 15) + 0.02 * math.sin(step)
        epoch = (step - 1) // STEPS_PER_EPOCH + 1
        validation_rows.append(f"{step},{epoch},{loss:.6f},{math.exp(loss):.6f}")
    prefix = f"s3://{BUCKET}/outputs/{run_id}/model-customization-job-{JOB_ID}"
    curve_set = training_loss.CurveSet(
        curves=[
            training_loss.parse_metrics_csv(
                "\n".join(training_rows) + "\n",
                training_loss.TRAINING,
                f"{prefix}/training_artifacts/step_wise_training_metrics.csv",
            ),
            training_loss.parse_metrics_csv(
                "\n".join(validation_rows) + "\n",
                training_loss.VALIDATION,
                f"{prefix}/validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv",
            ),
        ]
    )
    last_training = curve_set.curves[0].last
    last_validation = curve_set.curves[1].last
    described = {
        "status": "Completed",
        "trainingMetrics": {"trainingLoss": round(last_training or 0.0, 4)},
        "validationMetrics": [{"validationLoss": round(last_validation or 0.0, 4)}],
    }
    return curve_set, described


_PRODUCT = re.compile(r"the (.+)\?$")


def _answer(model_id: str, prompt: str, index: int, reference: str) -> tuple[str, int]:
    """A plausible answer and latency: the custom model learned the shop's facts, the base did not."""
    match = _PRODUCT.search(prompt)
    product = match[1] if match else "product"
    if model_id == DEPLOYMENT_ARN:
        if index % 3 == 0:
            text = reference
        elif "warranty" in prompt:
            text = f"The {product} comes with {reference[0].lower() + reference[1:]}"
        else:
            text = (
                reference.replace("Simply ", "").capitalize().rstrip(".") + ", that keeps it in good shape."
            )
        return text, 280 + (index * 37) % 150
    if "warranty" in prompt:
        text = (
            f"The {product} usually comes with a limited warranty against manufacturing defects. The exact "
            "period depends on the retailer, so check the documents that came with it."
        )
    else:
        text = (
            f"To clean the {product}, follow the care label: use lukewarm water and a mild soap, avoid harsh "
            "detergents, and let it dry fully before storage."
        )
    return text, 540 + (index * 53) % 320


def _converse() -> evaluation.Converse:
    calls: dict[str, int] = {}
    references: dict[str, str] = {}
    with (ROOT / "examples" / "prompts" / "eval-prompts.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            references[item["prompt"]] = item["reference"]

    def converse(**request: Any) -> dict[str, Any]:
        model_id = str(request["modelId"])
        prompt = request["messages"][0]["content"][0]["text"]
        index = calls[model_id] = calls.get(model_id, -1) + 1
        text, latency = _answer(model_id, prompt, index, references[prompt])
        tokens_in = 9 + round(len(prompt.split()) * 1.3)
        tokens_out = round(len(text.split()) * 1.35) + 1
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {
                "inputTokens": tokens_in,
                "outputTokens": tokens_out,
                "totalTokens": tokens_in + tokens_out,
            },
            "metrics": {"latencyMs": latency},
        }

    return converse


def _version_id(sha256: str) -> str:
    return base64.b64encode(hashlib.sha256(sha256.encode()).digest()[:36]).decode().rstrip("=")


def build() -> dict[str, Any]:
    """The three documents, keyed by file name."""
    spec, final, uploads, run_id = _uploads()
    report = validate_run(spec, spec_source=str(SPEC.relative_to(ROOT)))
    tokens = report.totals()["trainingTokens"]
    plan = build_plan(final, PlanContext(BUCKET, run_id), estimated_tokens=tokens)
    job = plan["job"]
    job_arn = (
        f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/{plan['baseModelInvokeId']}/{JOB_ID}"
    )
    model_arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/{plan['baseModelInvokeId']}/h5n2c8d1x7ka"

    curve_set, described = _curves(run_id)
    losses = training_loss.resolve_losses(described, curve_set.curves)
    bar = training_loss.LossBar.from_plan(plan["evaluation"])
    passed, summary = training_loss.decide_loss(bar, losses.training, losses.validation)
    curves_uri = f"s3://{BUCKET}/runs/{run_id}/loss-curves.json"
    curves_doc = {
        "runId": run_id,
        "jobName": job["JobName"],
        "jobArn": job_arn,
        "jobStatus": "Completed",
        "writtenAt": CURVES_WRITTEN_AT,
        "final": losses.to_dict(),
        "bar": bar.to_dict(),
        "passed": passed,
        "summary": summary,
        **curve_set.to_dict(),
    }
    loss = {
        "passed": passed,
        "trainingLoss": losses.training,
        "validationLoss": losses.validation,
        "curvesUri": curves_uri,
        "summary": summary,
        "jobArn": job_arn,
        "outputModelArn": model_arn,
    }

    prompts_uri, kind = evaluation.prompt_source(plan)
    with (ROOT / "examples" / "prompts" / "eval-prompts.jsonl").open("rb") as handle:
        prompt_set = evaluation.read_prompts(
            handle, uri=prompts_uri, kind=kind, max_prompts=plan["evaluation"]["maxPrompts"]
        )
    vehicle = plan["vehicle"]["kind"]  # an on-demand deployment: Nova Micro deploys on demand here
    result = evaluation.evaluate(
        plan,
        prompt_set,
        custom_model_id=DEPLOYMENT_ARN,
        converse=_converse(),
        vehicle=vehicle,
        sleep=lambda _s: None,
    )
    results_uri = f"s3://{BUCKET}/runs/{run_id}/evaluation.json"
    evaluation_doc = {"runId": run_id, "evaluatedAt": EVALUATED_AT, **result.to_dict()}

    state = {
        "runSpec": final.to_dict(),
        "preflight": {
            "valid": True,
            "runName": final.name,
            "runId": run_id,
            "reportUri": f"s3://{BUCKET}/runs/{run_id}/preflight.json",
            "summary": report.summary(),
            "errorCount": 0,
            "totals": {k: report.totals()[k] for k in ("records", "characters", "estimatedTokens")}
            | {"estimatedTrainingCostUsd": report.totals()["estimatedTrainingCostUsd"]},
            "spec": final.to_dict(),
            "plan": plan,
        },
        "job": {
            "JobArn": job_arn,
            "JobName": job["JobName"],
            "Status": "Completed",
            "OutputModelArn": model_arn,
            "OutputModelName": job["CustomModelName"],
            "CreationTime": JOB_CREATED_AT,
            "EndTime": JOB_ENDED_AT,
        },
        "loss": loss,
        "vehicle": {
            "Kind": vehicle,
            "Arn": DEPLOYMENT_ARN,
            "FailedError": "DeploymentFailed",
            "TimeoutError": "DeploymentTimeout",
        },
        "vehicleStatus": _ready("Active", 4),
        "evaluationApproval": None,
        "evaluation": {
            "passed": result.passed,
            "judged": result.judged,
            "summary": result.summary,
            "resultsUri": results_uri,
            "custom": result.custom,
            "base": result.base,
        },
        "approval": {
            "approved": True,
            "approver": APPROVER,
            "reason": "beats the base model by a wide margin; 1 MU without commitment for the pilot",
        },
        "throughput": {"ProvisionedModelArn": PT_ARN},
        "ptStatus": _ready("InService", 5),
        "smoke": {
            "passed": True,
            "summary": f"Smoke check passed on {PT_ARN}: 3 prompt(s) answered.",
            "modelId": PT_ARN,
            "resultsUri": f"s3://{BUCKET}/runs/{run_id}/smoke-check.json",
        },
        "released": {
            "mode": "release-evaluation",
            "deleted": [],
            "deletedDeployments": [DEPLOYMENT_ARN],
            "kept": [],
            "jobStopped": False,
            "summary": f"Cleanup: deleted on-demand deployment {DEPLOYMENT_ARN}.",
            "job": None,
        },
        "failure": None,
        "cleanup": None,
    }
    record = _record(run_id, state, uploads)
    return {"record.json": record, "loss-curves.json": curves_doc, "evaluation.json": evaluation_doc}


def _ready(status: str, attempt: int) -> dict[str, Any]:
    """The check_status handler's last answer: ready after ``attempt`` checks."""
    return {
        "status": status,
        "ready": True,
        "failed": False,
        "timedOut": False,
        "attempt": attempt,
        "waitSeconds": 0,
        "failureMessage": None,
    }


def _record(run_id: str, state: dict[str, Any], uploads: list[Any]) -> dict[str, Any]:
    """The record handler's own build_record, over an S3 bucket (moto) holding the example datasets."""
    import os

    from moto import mock_aws

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "example")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "example")
    os.environ["AWS_DEFAULT_REGION"] = REGION
    from lambdas.common import runtime
    from lambdas.record import handler

    runtime.reset_clients()
    with mock_aws():
        s3 = runtime.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        for upload in uploads:
            s3.put_object(Bucket=BUCKET, Key=upload.key, Body=Path(upload.source).read_bytes())
        runtime.put_json(
            BUCKET, f"runs/{run_id}/approval-request.json", {"requestedAt": APPROVAL_REQUESTED_AT}
        )
        record = handler.build_record(
            {"runId": run_id, "status": "SUCCEEDED", "state": state, "startedAt": STARTED_AT}, BUCKET
        )
    runtime.reset_clients()
    # What differs between two runs of this script: S3's version ids and times, the clock.
    record["timestamps"]["recordedAt"] = RECORDED_AT
    for item in record["datasets"]:
        item["versionId"] = _version_id(item["sha256"])
        item["lastModified"] = STARTED_AT
    return record


# --------------------------------------------------------------------------------------------------
# Headless Chromium (Debian's `chromium` package): the report test and the docs screenshot
# --------------------------------------------------------------------------------------------------

CHROMIUM_NAMES: Final = ("chromium", "chromium-browser", "google-chrome")
# No network, no profile, no background services: the page must render from the file alone.
CHROMIUM_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_chromium() -> str | None:
    import shutil

    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def chromium(html: Path, *extra: str, profile: Path) -> str:
    """Run headless Chromium on a local HTML file; returns its stdout (the DOM with --dump-dom)."""
    import subprocess

    binary = find_chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed: apt-get install -y chromium")
    command = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, html.resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)  # noqa: S603
    return done.stdout


def screenshot(png: Path, *, width: int = 1280, height: int = 2300) -> Path:
    """Render the example run's report and save a screenshot of its top (docs/report-screenshot.png)."""
    import tempfile

    from pipeline.operate import report

    with tempfile.TemporaryDirectory() as tmp:
        artifacts = report.load_dir(HERE)
        artifacts.source = "examples/report-run (the bundled example run)"
        written = report.render_run(artifacts, Path(tmp) / "report")
        chromium(
            written.html,
            f"--window-size={width},{height}",
            f"--screenshot={png.resolve()}",
            profile=Path(tmp) / "profile",
        )
    return png


def write(directory: Path = HERE) -> list[Path]:
    written = []
    for name, doc in build().items():
        path = directory / name
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    if sys.argv[1:2] == ["--screenshot"]:
        target = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "report-screenshot.png"
        print(screenshot(target))
    else:
        for path in write():
            print(path.relative_to(ROOT))
