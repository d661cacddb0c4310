"""The preflight Lambda: same validation as the CLI, on S3 objects, with a report written to S3."""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from lambdas.common import runtime
from lambdas.preflight import handler
from pipeline import catalog, quotas
from pipeline import live as live_api
from pipeline.datasets.sources import SourceAccessError
from pipeline.runspec import load_run_spec

BUCKET = "preflight-test-bucket"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXECUTION = "support-nova-micro-20250101T000000Z-1a2b3c"


class LiveBedrock:
    """GetFoundationModel as Bedrock answers it (moto has no foundation models): from the catalog,
    with a lifecycle a test may change, or an error a test may raise."""

    def __init__(self) -> None:
        self.withheld: set[str] = set()
        self.status = "ACTIVE"
        self.inference_types = ["ON_DEMAND", "PROVISIONED"]
        self.error: str | None = None
        self.asked: list[str] = []
        self.existing: dict[str, str] = {}
        self.looked_up: list[tuple[str, str]] = []
        # Custom models of earlier runs (a promotion's source): name -> GetCustomModel, ARN -> tags.
        self.models: dict[str, dict[str, Any]] = {}
        self.tags: dict[str, dict[str, str]] = {}
        # The jobs in progress (the quota check): moto's ListModelCustomizationJobs under mock_aws,
        # or what a test queues on it with a Stubber.
        self.listing = boto3.client("bedrock", region_name="us-east-1")

    def get_paginator(self, operation: str) -> Any:
        return self.listing.get_paginator(operation)

    # Names the run would create: none exists unless a test says so (pipeline.ownership).
    def _by_name(self, operation: str, name: str, arn_key: str) -> dict[str, Any]:
        self.looked_up.append((operation, name))
        if name in self.existing:
            return {arn_key: self.existing[name]}
        raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, operation)

    def get_model_customization_job(self, jobIdentifier: str) -> dict[str, Any]:  # noqa: N803
        return self._by_name("GetModelCustomizationJob", jobIdentifier, "jobArn")

    def get_custom_model(self, modelIdentifier: str) -> dict[str, Any]:  # noqa: N803
        if modelIdentifier in self.models:
            return self.models[modelIdentifier]
        return self._by_name("GetCustomModel", modelIdentifier, "modelArn")

    def list_tags_for_resource(self, resourceARN: str) -> dict[str, Any]:  # noqa: N803
        return {"tags": [{"key": k, "value": v} for k, v in self.tags.get(resourceARN, {}).items()]}

    def get_custom_model_deployment(self, customModelDeploymentIdentifier: str) -> dict[str, Any]:  # noqa: N803
        return self._by_name(
            "GetCustomModelDeployment", customModelDeploymentIdentifier, "customModelDeploymentArn"
        )

    def get_provisioned_model_throughput(self, provisionedModelId: str) -> dict[str, Any]:  # noqa: N803
        return self._by_name("GetProvisionedModelThroughput", provisionedModelId, "provisionedModelArn")

    def get_foundation_model(self, modelIdentifier: str) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.asked.append(modelIdentifier)
        if self.error is not None:
            raise ClientError({"Error": {"Code": self.error, "Message": "refused"}}, "GetFoundationModel")
        model = {m.model_id: m for m in catalog.all_models()}.get(modelIdentifier)
        types = [
            t
            for t in (model.customization_types if model else ())
            if t in live_api.REPORTED_TYPES and t not in self.withheld
        ]
        return {
            "modelDetails": {
                "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{modelIdentifier}",
                "modelId": modelIdentifier,
                "customizationsSupported": types,
                "inferenceTypesSupported": self.inference_types,
                "modelLifecycle": {"status": self.status},
            }
        }


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> LiveBedrock:
    fake = LiveBedrock()
    monkeypatch.setattr(runtime, "client", lambda name: fake if name == "bedrock" else _real_client(name))
    return fake


_real_client = runtime.client


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, bedrock: LiveBedrock) -> Iterator[Any]:
    monkeypatch.setenv("TRAINING_BUCKET", BUCKET)
    handler._s3_client.cache_clear()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
    handler._s3_client.cache_clear()


def started(execution_name: str) -> dict[str, str]:
    """The execution fields the workflow passes: its name, ARN and start ($$.Execution...)."""
    return {
        "executionName": execution_name,
        "executionArn": f"arn:aws:states:us-east-1:123456789012:execution:Workflow:{execution_name}",
        "executionStart": "2026-12-01T09:00:00.123Z",
    }


def upload(s3: Any, local: Path, key: str) -> str:
    s3.put_object(Bucket=BUCKET, Key=key, Body=local.read_bytes())
    return f"s3://{BUCKET}/{key}"


def example_spec(s3: Any, name: str = "fine-tuning.yaml") -> dict[str, Any]:
    """An example run spec with its datasets uploaded, as the CLI sends it to the workflow."""
    spec = load_run_spec(EXAMPLES / "runs" / name)
    uris = {
        location: upload(s3, Path(spec.resolve(location)), f"datasets/{Path(location).name}")
        for _, location in spec.dataset_locations()
    }
    uploaded = spec.with_datasets(
        training=uris[spec.training],
        validation=[uris[v] for v in spec.validation],
        prompts=uris[spec.prompts] if spec.prompts else None,
    )
    return uploaded.to_dict()


def stored_report(s3: Any, run_id: str) -> dict[str, Any]:
    body = s3.get_object(Bucket=BUCKET, Key=f"runs/{run_id}/preflight.json")["Body"].read()
    document: dict[str, Any] = json.loads(body)
    return document


def test_valid_run_returns_valid_and_writes_the_report(s3: Any) -> None:
    # Given the fine-tuning example with its datasets in S3
    spec = example_spec(s3)

    # When the workflow runs the preflight step
    result = handler.lambda_handler({"runSpec": spec, **started(EXECUTION)}, None)

    # Then it passes, says where the report is, and returns the normalized spec
    assert result["valid"] is True
    assert result["runName"] == "support-nova-micro"
    assert result["runId"] == EXECUTION
    assert result["reportUri"] == f"s3://{BUCKET}/runs/{EXECUTION}/preflight.json"
    assert result["summary"].startswith("VALID: 3 files, 140 records")
    assert result["errorCount"] == 0
    assert result["totals"]["records"] == 140
    # ~4,733 tokens x 2 epochs at the catalog's dated Nova Micro price ($0.001 per 1K, UNCONFIRMED)
    assert result["totals"]["estimatedTrainingCostUsd"] == pytest.approx(0.0095, abs=1e-4)
    assert result["spec"] == spec
    json.dumps(result)  # what Step Functions receives must be JSON
    report = stored_report(s3, EXECUTION)
    assert report["ok"] is True and report["runId"] == EXECUTION
    assert [d["role"] for d in report["datasets"]] == ["training", "validation", "prompts"]


def test_cost_totals_when_the_price_is_known(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Titan Text Lite, whose training price is known, left the customization guide on 2026-11-28
    # (catalog lifecycle): the run is checked on a day it was still offered.
    monkeypatch.setattr(catalog, "today_utc", lambda: dt.date(2026, 1, 5))
    datasets = EXAMPLES / "datasets"
    spec = {
        "name": "field-guide-titan-lite",
        "region": "us-east-1",
        "baseModel": "amazon.titan-text-lite-v1:0:4k",
        "customizationType": "CONTINUED_PRE_TRAINING",
        "training": upload(s3, datasets / "continued-pretraining-train.jsonl", "datasets/cpt-train.jsonl"),
        "validation": [
            upload(s3, datasets / "continued-pretraining-validation.jsonl", "datasets/cpt-validation.jsonl")
        ],
        "hyperParameters": {"epochCount": "1", "batchSize": "1"},
        "evaluation": {"maxTrainingLoss": 3.0, "maxValidationLoss": 3.0},
    }

    result = handler.lambda_handler({"runSpec": spec, **started("cpt-1")}, None)

    assert result["valid"] is True, result["summary"]
    assert result["totals"]["estimatedTrainingCostUsd"] > 0


def test_invalid_dataset_returns_invalid_with_the_first_error_in_the_summary(s3: Any) -> None:
    spec = example_spec(s3)
    lines = (EXAMPLES / "datasets" / "conversation-train.jsonl").read_text(encoding="utf-8").splitlines()
    lines[13] = lines[13].replace('"role": "assistant"', '"role": "user"', 1)
    s3.put_object(Bucket=BUCKET, Key="datasets/bad.jsonl", Body=("\n".join(lines) + "\n").encode())
    spec["training"] = f"s3://{BUCKET}/datasets/bad.jsonl"

    result = handler.lambda_handler({"runSpec": spec, **started(EXECUTION)}, None)

    assert result["valid"] is False
    assert result["errorCount"] == 1
    assert result["summary"] == (
        f"INVALID: 1 error in 1 file (s3://{BUCKET}/datasets/bad.jsonl:14: messages[1].role: "
        "expected 'assistant', got 'user': turns must alternate user, assistant, ... starting with user)"
    )
    assert result["spec"] == spec
    assert stored_report(s3, EXECUTION)["errors"][0]["line"] == 14


def test_missing_dataset_object_is_invalid_input_not_a_crash(s3: Any) -> None:
    spec = example_spec(s3)
    spec["training"] = f"s3://{BUCKET}/datasets/never-uploaded.jsonl"

    result = handler.lambda_handler({"runSpec": spec, **started(EXECUTION)}, None)

    assert result["valid"] is False
    assert "does not exist" in result["summary"]


def test_local_paths_are_input_errors_in_the_workflow(s3: Any) -> None:
    spec = example_spec(s3)
    spec["training"] = "datasets/train.jsonl"

    result = handler.lambda_handler({"runSpec": spec, **started(EXECUTION)}, None)

    assert result["valid"] is False
    assert result["spec"] is None
    assert "is a local path; the workflow reads only s3:// URIs" in result["summary"]


def test_spec_problems_and_dataset_problems_are_reported_together(s3: Any) -> None:
    spec = example_spec(s3)
    spec["hyperParameters"] = {"epochCount": "12"}
    spec["validation"] = [f"s3://{BUCKET}/datasets/missing.jsonl"]

    result = handler.lambda_handler({"runSpec": spec, **started(EXECUTION)}, None)

    assert result["errorCount"] == 2
    report = stored_report(s3, EXECUTION)
    assert [p["field"] for p in report["specProblems"]] == ["hyperParameters.epochCount"]
    assert report["datasets"][1]["errors"][0]["kind"] == "not-found"


@pytest.mark.parametrize(
    ("event", "fragment"),
    [
        ("not an object", "must be an object with runSpec and executionName, got str"),
        ({**started(EXECUTION)}, "runSpec is missing or not an object"),
        ({"runSpec": [], **started(EXECUTION)}, "runSpec is missing or not an object"),
    ],
)
def test_malformed_events_are_invalid_with_a_clear_summary(s3: Any, event: Any, fragment: str) -> None:
    result = handler.lambda_handler(event, None)

    assert result["valid"] is False
    assert fragment in result["summary"]
    assert stored_report(s3, result["runId"])["ok"] is False


def test_unusable_execution_name_files_the_report_under_a_fresh_id(s3: Any) -> None:
    result = handler.lambda_handler({"runSpec": example_spec(s3), "executionName": "../../etc"}, None)

    assert result["valid"] is False
    assert result["runId"].startswith("invalid-event-")
    assert "executionName '../../etc' is missing or not a Step Functions execution name" in result["summary"]
    assert stored_report(s3, result["runId"])["specProblems"][0]["field"] == "executionName"


def test_summary_is_clipped_for_the_fail_cause(s3: Any) -> None:
    spec = example_spec(s3)
    record = json.loads(
        (EXAMPLES / "datasets" / "conversation-train.jsonl").read_text(encoding="utf-8").splitlines()[0]
    )
    record["k" * 2000] = 1
    rest = (EXAMPLES / "datasets" / "conversation-train.jsonl").read_text(encoding="utf-8").splitlines()[1:]
    lines = [json.dumps(record), *rest]
    s3.put_object(Bucket=BUCKET, Key="datasets/long.jsonl", Body="\n".join(lines).encode())
    spec["training"] = f"s3://{BUCKET}/datasets/long.jsonl"

    result = handler.lambda_handler({"runSpec": spec, **started(EXECUTION)}, None)

    assert len(result["summary"]) == 900
    assert result["summary"].endswith("...")


class _DeniedClient:
    """Wraps the moto client; dataset reads are denied as an IAM policy mistake would deny them."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def head_object(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "HeadObject")


def test_s3_access_failures_raise_for_the_workflow_to_retry(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = example_spec(s3)
    denied = _DeniedClient(s3)
    monkeypatch.setattr(handler, "_s3_client", functools.cache(lambda: denied))

    with pytest.raises(SourceAccessError, match="AccessDenied"):
        handler.lambda_handler({"runSpec": spec, **started(EXECUTION)}, None)


def test_missing_bucket_configuration_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRAINING_BUCKET", raising=False)

    with pytest.raises(RuntimeError, match="TRAINING_BUCKET is not set"):
        handler.lambda_handler({}, None)


def test_logs_one_structured_json_line(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    class Context:
        aws_request_id = "req-123"

    capsys.readouterr()
    handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, Context())

    lines = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    (line,) = [entry for entry in lines if entry.get("message") == "preflight finished"]
    assert line["valid"] is True and line["runId"] == EXECUTION and line["requestId"] == "req-123"
    assert line["function_request_id"] == "req-123"
    # The run's metric is the other line: the run started (its spec and datasets are valid).
    (emf,) = [entry for entry in lines if "_aws" in entry]
    assert emf["RunsStarted"] == [1.0]


def test_no_client_is_created_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_: Any, **__: Any) -> Any:
        raise AssertionError("boto3 client created at import time")

    monkeypatch.setattr(boto3, "client", forbidden)
    importlib.reload(handler)
    monkeypatch.undo()
    importlib.reload(handler)


def test_handler_modules_import_without_yaml() -> None:
    import subprocess
    import sys

    # The Lambda runtime has boto3 but no PyYAML: importing the handler must not need it.
    code = (
        "import sys; sys.modules['yaml'] = None\n"
        "import lambdas.preflight.handler\n"
        "assert 'yaml' not in [m for m in sys.modules if sys.modules[m] is not None]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )

    assert result.returncode == 0, result.stderr


def test_valid_run_carries_the_plan_the_workflow_executes(s3: Any) -> None:
    # Given the fine-tuning example with its datasets in the pipeline's bucket
    spec = example_spec(s3)
    # When
    result = handler.lambda_handler({"runSpec": spec, **started(EXECUTION)}, None)
    # Then the plan names the job after the run and points Bedrock at this bucket's prefixes
    plan = result["plan"]
    assert plan["runId"] == EXECUTION
    assert plan["jobVariant"] == "WITH_VALIDATION"
    assert plan["job"]["TrainingDataConfig"]["S3Uri"] == spec["training"]
    assert plan["job"]["OutputDataConfig"]["S3Uri"] == f"s3://{BUCKET}/outputs/{EXECUTION}/"
    # Evaluated on an on-demand deployment (nothing bought), then served on one bought unit
    assert plan["vehicle"]["kind"] == "deployment"
    assert plan["vehicle"]["ModelDeploymentName"] == f"{EXECUTION}-od"
    assert plan["serving"]["mode"] == "provisioned"
    assert plan["serving"]["ModelUnits"] == 1
    assert plan["approval"]["required"] is True  # Nova's throughput price is unknown
    assert (plan["approval"]["beforeEvaluation"], plan["approval"]["beforeServing"]) == (False, True)
    assert plan["estimate"]["evaluationVehicle"] == "deployment"
    assert plan["estimate"]["evaluationUsd"] is not None


def test_dataset_outside_the_dataset_prefix_is_refused_before_anything_starts(s3: Any) -> None:
    # Given a spec whose training data sits elsewhere in the bucket (the Bedrock role cannot read it)
    spec = example_spec(s3)
    spec["training"] = upload(s3, EXAMPLES / "datasets" / "conversation-train.jsonl", "elsewhere/train.jsonl")
    # When
    result = handler.lambda_handler({"runSpec": spec, **started(EXECUTION)}, None)
    # Then preflight fails, says why, and there is no plan to execute
    assert result["valid"] is False
    assert result["plan"] is None
    assert "outside the pipeline's dataset prefix" in result["summary"]
    assert "outside the pipeline's dataset prefix" in json.dumps(stored_report(s3, EXECUTION))


def test_the_live_api_is_asked_about_the_base_model_before_any_job(s3: Any, bedrock: LiveBedrock) -> None:
    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)

    assert result["valid"] is True
    assert bedrock.asked == ["amazon.nova-micro-v1:0:128k"]
    assert result["live"][0]["lifecycle"]["status"] == "ACTIVE"
    assert "FINE_TUNING" in result["live"][0]["customizationsSupported"]


def test_a_model_the_live_api_calls_legacy_is_refused_before_any_job(s3: Any, bedrock: LiveBedrock) -> None:
    bedrock.status = "LEGACY"

    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)

    assert result["valid"] is False and result["plan"] is None
    assert "reports amazon.nova-micro-v1:0:128k as LEGACY in us-east-1" in result["summary"]


def test_a_model_the_region_does_not_offer_is_refused(s3: Any, bedrock: LiveBedrock) -> None:
    bedrock.error = "ResourceNotFoundException"

    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)

    assert result["valid"] is False
    assert "does not know the base model amazon.nova-micro-v1:0:128k in us-east-1" in result["summary"]


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException", "InternalServerException"])
def test_an_unreachable_api_is_an_operational_error_not_a_pass(
    s3: Any, bedrock: LiveBedrock, code: str
) -> None:
    bedrock.error = code
    with pytest.raises(ClientError, match=code):
        handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)


def test_a_base_the_api_serves_only_through_a_profile_is_compared_through_it(
    s3: Any, bedrock: LiveBedrock
) -> None:
    bedrock.inference_types = ["PROVISIONED"]

    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)

    assert result["plan"]["baseModelInvokeId"] == "us.amazon.nova-micro-v1:0"


def test_a_type_the_region_does_not_offer_for_the_model_is_refused(s3: Any, bedrock: LiveBedrock) -> None:
    bedrock.withheld = {"FINE_TUNING"}

    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)

    assert result["valid"] is False and result["plan"] is None
    assert (
        "Bedrock does not offer FINE_TUNING for amazon.nova-micro-v1:0:128k in us-east-1" in result["summary"]
    )


# --------------------------------------------------------------------------------------------------
# Ownership: every resource names its execution; names used before are refused
# --------------------------------------------------------------------------------------------------


def test_the_plan_tags_everything_with_the_execution_that_runs_it(s3: Any) -> None:
    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)
    plan = result["plan"]
    execution = {
        "bedrock-customization:execution-arn": started(EXECUTION)["executionArn"],
        "bedrock-customization:execution-start": "2026-12-01T09:00:00.123Z",
    }
    for tags in (plan["job"]["JobTags"], plan["job"]["CustomModelTags"], plan["vehicle"]["Tags"]):
        assert execution.items() <= {t["Key"]: t["Value"] for t in tags}.items()


def test_every_name_the_run_would_create_is_looked_up_first(s3: Any, bedrock: LiveBedrock) -> None:
    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)
    plan = result["plan"]
    assert bedrock.looked_up == [
        ("GetModelCustomizationJob", plan["job"]["JobName"]),
        ("GetCustomModel", plan["job"]["CustomModelName"]),
        ("GetCustomModelDeployment", plan["vehicle"]["ModelDeploymentName"]),
        ("GetProvisionedModelThroughput", plan["serving"]["ProvisionedModelName"]),
    ]


def test_a_run_id_used_before_is_refused_with_the_command_that_starts_a_fresh_run(
    s3: Any, bedrock: LiveBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an earlier run of the same id still serves: its deployment and throughput exist
    monkeypatch.setenv(handler.ENVIRONMENT_VARIABLE, "prod")
    probe = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)["plan"]
    deployment_arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/e4rl13rrun01"
    bedrock.existing = {
        probe["job"]["JobName"]: "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/x/a1",
        probe["vehicle"]["ModelDeploymentName"]: deployment_arn,
    }

    # When the same run id starts again
    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)

    # Then nothing may be created: no plan, and each taken name is a problem saying what to do
    assert result["valid"] is False and result["plan"] is None
    problems = {p["field"]: p for p in stored_report(s3, EXECUTION)["specProblems"]}
    # (the job and its custom model share the run's name: both are taken)
    assert set(problems) == {
        "plan.job.JobName",
        "plan.job.CustomModelName",
        "plan.vehicle.ModelDeploymentName",
    }
    message = problems["plan.vehicle.ModelDeploymentName"]["message"]
    assert f"exists already ({deployment_arn})" in message
    assert "bedrock-customize start RUN_SPEC --rerun --env prod --region us-east-1" in message
    assert "INVALID" in result["summary"] and "--rerun" in result["summary"]


def test_a_name_that_cannot_be_checked_fails_the_step_instead_of_passing(
    s3: Any, bedrock: LiveBedrock
) -> None:
    def refuse(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetCustomModel")

    bedrock.get_custom_model = refuse  # type: ignore[method-assign]
    with pytest.raises(ClientError, match="AccessDeniedException"):
        handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)


@pytest.mark.parametrize(
    "missing",
    [
        pytest.param({"executionArn": None}, id="no-arn"),
        pytest.param({"executionStart": "yesterday"}, id="bad-start"),
        pytest.param({"executionArn": "arn:aws:states:us-east-1:1:stateMachine:x"}, id="not-an-execution"),
    ],
)
def test_a_run_without_its_execution_identity_creates_nothing(s3: Any, missing: dict[str, Any]) -> None:
    event = {"runSpec": example_spec(s3), **started(EXECUTION), **missing}
    result = handler.lambda_handler(event, None)
    assert result["valid"] is False and result["plan"] is None
    assert "cleanup deletes only what its own execution created" in result["summary"]


# -- Service Quotas (pipeline.quotas) ---------------------------------------------------------------


PER_MODEL_NOVA_MICRO = "Model units per provisioned model for Amazon Nova Micro"


def _quotas_stub(
    monkeypatch: pytest.MonkeyPatch,
    bedrock: LiveBedrock,
    *,
    units: float,
    jobs: float,
    per_model: float = 5,
    code: str = "L-BE77399C",
) -> Any:
    """Service Quotas as the account would answer: the no-commitment units by code, the job quota and
    the base model's per-model quota in the listing (Stubber: moto knows no Bedrock quotas)."""
    from botocore.stub import Stubber

    client = boto3.client("service-quotas", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "get_service_quota",
        {
            "Quota": {
                "QuotaCode": "L-BE77399C",
                "QuotaName": quotas.NO_COMMITMENT_CUSTOM_UNITS.name,
                "Value": units,
            }
        },
        {"ServiceCode": "bedrock", "QuotaCode": "L-BE77399C"},
    )
    stub.add_response(
        "list_service_quotas",
        {
            "Quotas": [
                {"QuotaCode": "L-0000AAAA", "QuotaName": "Custom models per account", "Value": 100.0},
                {
                    "QuotaCode": "L-0000BBBB",
                    "QuotaName": "Concurrent model customization jobs",
                    "Value": jobs,
                },
                {"QuotaCode": "L-0000CCCC", "QuotaName": PER_MODEL_NOVA_MICRO, "Value": per_model},
            ]
        },
        {"ServiceCode": "bedrock"},
    )
    stub.activate()
    clients = {"bedrock": bedrock, "service-quotas": client}
    monkeypatch.setattr(runtime, "client", lambda name: clients.get(name) or _real_client(name))
    return stub


def test_a_throughput_the_account_quota_cannot_hold_is_refused_before_any_job(
    s3: Any, bedrock: LiveBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a new account: no no-commitment model units for custom models
    stub = _quotas_stub(monkeypatch, bedrock, units=0, jobs=2)
    # When the fine-tuning example (1 model unit to serve with) is checked
    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)
    # Then it is refused, naming the quota, its code and how to raise it
    assert result["valid"] is False and result["plan"] is None
    assert "L-BE77399C" in result["summary"]
    report = stored_report(s3, EXECUTION)
    (problem,) = report["specProblems"]
    assert problem["field"] == "serving.modelUnits"
    assert "Model units no-commitment Provisioned Throughputs across custom models" in problem["message"]
    assert (
        "aws service-quotas request-service-quota-increase --service-code bedrock --quota-code L-BE77399C "
        "--desired-value 1 --region us-east-1" in problem["message"]
    )
    assert result["quotas"]["readings"][1] == {
        "quota": "concurrentCustomizationJobs",
        "name": "Concurrent model customization jobs",
        "code": "L-0000BBBB",
        "value": 2,
        "checked": True,
        "notChecked": None,
    }
    stub.assert_no_pending_responses()


def test_a_run_within_its_quotas_passes_and_says_what_was_read(
    s3: Any, bedrock: LiveBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _quotas_stub(monkeypatch, bedrock, units=2, jobs=3)
    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)
    assert result["valid"] is True
    assert [r["value"] for r in result["quotas"]["readings"]] == [2, 3, 5]
    assert result["quotas"]["findings"] == []
    # moto's ListModelCustomizationJobs: none in progress, counted like the CLI counts them.
    assert result["quotas"]["jobsInProgress"] == 0 and result["quotas"]["jobsNotCounted"] is None


def test_a_quota_that_cannot_be_read_refuses_nothing_and_says_it_was_not_checked(s3: Any) -> None:
    # moto answers GetServiceQuota for Bedrock with NoSuchResourceException and has no listing
    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)
    assert result["valid"] is True
    readings = result["quotas"]["readings"]
    assert [r["checked"] for r in readings] == [False, False, False]
    assert readings[0]["notChecked"].startswith("NoSuchResourceException")
    assert all(f["severity"] == "note" for f in result["quotas"]["findings"])


def _jobs_in_progress(bedrock: LiveBedrock, count: int | None) -> Any:
    """ListModelCustomizationJobs (InProgress) answering ``count`` jobs, or AccessDenied for None."""
    from botocore.stub import Stubber

    stub = Stubber(bedrock.listing)
    if count is None:
        stub.add_client_error("list_model_customization_jobs", "AccessDeniedException", "not allowed")
    else:
        summary = {
            "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/m/abcdefabcdef",
            "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
            "status": "InProgress",
            "creationTime": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        }
        stub.add_response(
            "list_model_customization_jobs",
            {"modelCustomizationJobSummaries": [{**summary, "jobName": f"job-{i}"} for i in range(count)]},
            {"statusEquals": "InProgress"},
        )
    stub.activate()
    return stub


def test_training_slots_all_in_use_warn_that_the_run_waits_in_line(
    s3: Any, bedrock: LiveBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an account whose 2 training slots are both in use
    _quotas_stub(monkeypatch, bedrock, units=2, jobs=2)
    listing = _jobs_in_progress(bedrock, 2)
    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)
    # Then the run is valid (the workflow waits in line for a slot), with the warning the CLI gives
    assert result["valid"] is True and result["plan"] is not None
    assert result["quotas"]["jobsInProgress"] == 2
    (finding,) = result["quotas"]["findings"]
    assert finding["severity"] == "warning" and "would wait in line for a training slot" in finding["message"]
    report = stored_report(s3, EXECUTION)
    assert any("would wait in line" in f["message"] for f in report["runFindings"])
    listing.assert_no_pending_responses()


def test_a_job_count_that_cannot_be_read_refuses_nothing_and_says_so(
    s3: Any, bedrock: LiveBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _quotas_stub(monkeypatch, bedrock, units=2, jobs=2)
    _jobs_in_progress(bedrock, None)
    result = handler.lambda_handler({"runSpec": example_spec(s3), **started(EXECUTION)}, None)
    assert result["valid"] is True
    assert result["quotas"]["jobsInProgress"] is None
    assert result["quotas"]["jobsNotCounted"].startswith("AccessDeniedException")
    (note,) = result["quotas"]["findings"]
    assert note["severity"] == "note" and "jobs in progress not counted" in note["message"]


def test_a_commitment_the_per_model_quota_cannot_hold_is_refused_before_any_job(
    s3: Any, bedrock: LiveBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 1 model unit of Nova Micro that may be committed, and a spec committing 2 for a month
    _quotas_stub(monkeypatch, bedrock, units=2, jobs=3, per_model=1)
    spec = example_spec(s3)
    spec["serving"] = {**spec["serving"], "modelUnits": 2, "commitment": "OneMonth"}
    result = handler.lambda_handler({"runSpec": spec, **started(EXECUTION)}, None)
    # Then it is refused, naming the per-model quota as the listing gave it and how to raise it
    assert result["valid"] is False and result["plan"] is None
    problems = stored_report(s3, EXECUTION)["specProblems"]
    (problem,) = [p for p in problems if p["field"] == "serving.commitment"]
    assert PER_MODEL_NOVA_MICRO in problem["message"] and "L-0000CCCC" in problem["message"]
    assert "--desired-value 2" in problem["message"]


# -- a promotion of an earlier run's model (pipeline.promotion) -------------------------------------

SOURCE_RUN = "support-answers-0a1b2c3d4e"
SOURCE_MODEL = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/src01"
CHAMPION = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/champ1"
SLOT_ENDPOINT = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/slot01"


def _earlier_run(s3: Any, bedrock: LiveBedrock, monkeypatch: pytest.MonkeyPatch, *, passed: bool) -> None:
    """An earlier run's model and evaluation, and slot support-answers serving another champion."""
    from pipeline import naming, slots
    from pipeline.plan import EXECUTION_ARN_TAG, RUN_ID_TAG

    monkeypatch.setenv(handler.ENVIRONMENT_VARIABLE, "prod")
    bedrock.models[naming.custom_model_name(SOURCE_RUN)] = {
        "modelArn": SOURCE_MODEL,
        "modelName": naming.custom_model_name(SOURCE_RUN),
        "jobName": naming.job_name(SOURCE_RUN),
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-micro/j1",
        "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0:128k",
        "outputDataConfig": {"s3Uri": f"s3://{BUCKET}/outputs/{SOURCE_RUN}/"},
        "modelStatus": "Active",
    }
    bedrock.tags[SOURCE_MODEL] = {
        RUN_ID_TAG: SOURCE_RUN,
        EXECUTION_ARN_TAG: f"arn:aws:states:us-east-1:123456789012:execution:Workflow:{SOURCE_RUN}",
    }
    verdict = {
        "passed": passed,
        "judged": True,
        "verdict": "passed" if passed else "below-bar",
        "summary": "s",
    }
    s3.put_object(Bucket=BUCKET, Key=f"runs/{SOURCE_RUN}/evaluation.json", Body=json.dumps(verdict).encode())
    slot = slots.first_promotion(
        "support-answers",
        slots.DEPLOYMENT,
        SLOT_ENDPOINT,
        "amazon.nova-micro-v1:0:128k",
        slots.Champion(CHAMPION, "support-answers-9f8e7d6c5b", "2026-12-01T09:00:00Z"),
    )
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=slots.parameter_name("prod", "support-answers"), Value=json.dumps(slot.to_dict()), Type="String"
    )


def _promotion_event(s3: Any) -> dict[str, Any]:
    spec = example_spec(s3, "serving-slot.yaml")
    name = f"{SOURCE_RUN}-p1"
    return {"runSpec": spec, **started(name), "input": {"runSpec": spec, "promoteFrom": SOURCE_RUN}}


def test_a_promotion_plans_no_training_and_the_champion_of_today(
    s3: Any, bedrock: LiveBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import naming
    from pipeline.plan import PROMOTION_VARIANT

    # Given an earlier run whose model passed, and a slot serving another champion
    _earlier_run(s3, bedrock, monkeypatch, passed=True)

    # When its promotion's preflight runs
    result = handler.lambda_handler(_promotion_event(s3), None)

    # Then the plan trains nothing, reads the earlier job and compares with today's champion
    assert result["valid"] is True, result["summary"]
    assert result["summary"].endswith(f"A promotion of run {SOURCE_RUN}'s model: nothing is trained.")
    plan = result["plan"]
    assert plan["jobVariant"] == PROMOTION_VARIANT
    assert plan["job"]["JobName"] == naming.job_name(SOURCE_RUN)
    assert plan["promotion"]["modelArn"] == SOURCE_MODEL
    assert plan["slot"]["championModelArn"] == CHAMPION and plan["slot"]["exists"] is True
    # and only the names it creates itself must be free (the earlier job and model exist, its own)
    looked_up = {name for _, name in bedrock.looked_up}
    assert naming.job_name(SOURCE_RUN) not in looked_up
    assert plan["vehicle"]["ModelDeploymentName"] in looked_up


def test_a_promotion_of_a_model_that_did_not_pass_is_refused_before_anything(
    s3: Any, bedrock: LiveBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _earlier_run(s3, bedrock, monkeypatch, passed=False)
    result = handler.lambda_handler(_promotion_event(s3), None)
    assert result["valid"] is False and result["plan"] is None
    [problem] = stored_report(s3, f"{SOURCE_RUN}-p1")["specProblems"]
    assert problem["field"] == "promoteFrom" and "did not pass" in problem["message"]


def test_a_promotion_of_a_model_the_run_did_not_make_is_refused(
    s3: Any, bedrock: LiveBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _earlier_run(s3, bedrock, monkeypatch, passed=True)
    bedrock.tags[SOURCE_MODEL] = {}
    result = handler.lambda_handler(_promotion_event(s3), None)
    assert result["valid"] is False
    assert "does not carry that run's tags" in result["summary"] + json.dumps(
        stored_report(s3, f"{SOURCE_RUN}-p1")["specProblems"]
    )
