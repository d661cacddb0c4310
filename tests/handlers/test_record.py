"""record: the run record pins dataset versions and hashes, and the notification tells the story."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import pytest

from lambdas.common import runtime
from lambdas.record import handler
from lambdas.record.handler import lambda_handler
from tests.handlers import plans
from tests.handlers.helpers import FakeContext, key_of, read_json

pytestmark = pytest.mark.usefixtures("aws")

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
DATA = {
    plans.TRAINING_URI: b"".join(b'{"prompt": "q%d", "completion": "a%d"}\n' % (n, n) for n in range(2000)),
    plans.VALIDATION_URI: b'{"prompt": "v", "completion": "w"}\n' * 50,
    plans.PROMPTS_URI: b'{"prompt": "p", "reference": "r"}\n' * 5,
}


def upload_datasets() -> dict[str, str]:
    """Put each dataset twice, so the latest version is not the only one; returns its version ids."""
    versions = {}
    for uri, body in DATA.items():
        bucket, key = runtime.parse_s3_uri(uri)
        runtime.client("s3").put_object(Bucket=bucket, Key=key, Body=b"an older upload\n")
        versions[uri] = runtime.client("s3").put_object(Bucket=bucket, Key=key, Body=body)["VersionId"]
    return versions


def put_approval_request() -> None:
    runtime.put_json(
        plans.BUCKET,
        f"runs/{plans.RUN_ID}/approval-request.json",
        {"runId": plans.RUN_ID, "taskToken": "t", "requestedAt": "2026-11-26T10:00:00Z"},
    )


def succeeded_event() -> dict[str, Any]:
    return {
        "runId": plans.RUN_ID,
        "status": "SUCCEEDED",
        "state": plans.state(),
        "startedAt": "2026-11-20T07:59:00Z",
    }


def test_record_pins_each_dataset_version_and_sha256(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given three datasets, hashed in small chunks so the streaming path is the one exercised
    monkeypatch.setattr(handler, "CHUNK_BYTES", 4096)
    versions = upload_datasets()
    put_approval_request()
    # When
    result = lambda_handler(succeeded_event(), FakeContext())
    # Then
    assert result["recordUri"] == f"s3://{plans.BUCKET}/runs/{plans.RUN_ID}/record.json"
    record = read_json(key_of(result["recordUri"]))
    by_uri = {d["uri"]: d for d in record["datasets"]}
    assert set(by_uri) == set(DATA)
    for uri, body in DATA.items():
        assert by_uri[uri]["sha256"] == hashlib.sha256(body).hexdigest()
        assert by_uri[uri]["versionId"] == versions[uri]
        assert by_uri[uri]["bytes"] == len(body)
    assert [d["role"] for d in record["datasets"]] == ["training", "validation", "prompts"]


def test_record_holds_spec_arns_metrics_decisions_approver_and_timestamps() -> None:
    upload_datasets()
    put_approval_request()
    record = read_json(key_of(lambda_handler(succeeded_event(), FakeContext())["recordUri"]))
    assert record["spec"] == plans.run_spec()
    assert record["status"] == "SUCCEEDED"
    assert record["resources"]["job"]["jobArn"] == plans.JOB_ARN
    assert record["resources"]["job"]["status"] == "Completed"
    assert record["resources"]["customModelArn"] == plans.CUSTOM_MODEL_ARN
    assert record["resources"]["provisionedModelArn"] == plans.PT_ARN
    assert record["metrics"]["validationLoss"] == 0.91
    assert record["metrics"]["evaluation"]["custom"]["quality"] == 0.62
    assert record["decisions"]["loss"]["passed"] is True
    assert record["decisions"]["evaluation"]["passed"] is True
    assert record["approver"] == "alice@example.com"
    assert record["decisions"]["approval"]["approved"] is True
    timestamps = record["timestamps"]
    assert timestamps["startedAt"] == "2026-11-20T07:59:00Z"
    assert timestamps["jobCreatedAt"] == "2026-11-20T08:00:00Z"
    assert timestamps["approvalRequestedAt"] == "2026-11-26T10:00:00Z"
    assert ISO_UTC.fullmatch(timestamps["recordedAt"])


def test_success_message_is_readable_and_says_what_keeps_billing() -> None:
    upload_datasets()
    result = lambda_handler(succeeded_event(), FakeContext())
    assert result["subject"] == f"Bedrock customization run {plans.RUN_ID} succeeded"
    message = result["message"]
    assert message.startswith(f"Run {plans.RUN_ID} SUCCEEDED.")
    assert "Loss:          training 0.52, validation 0.91" in message
    assert "Purchase:      approved by alice@example.com" in message
    assert "custom quality 0.62, latency p50 800 ms, p95 1,400 ms" in message
    assert f"aws bedrock delete-provisioned-model-throughput --provisioned-model-id {plans.PT_ARN}" in message
    assert message.endswith(f"Run record: {result['recordUri']}")


def test_a_failed_job_is_reported_in_record_and_message() -> None:
    # Given the .sync task failed: no $.job, and cleanup looked the job up
    upload_datasets()
    state = plans.state(
        failure={"Error": "Bedrock.ModelCustomizationJobFailed", "Cause": "Job failed"},
        with_throughput=False,
        with_evaluation=False,
    ) | {"job": None, "loss": None, "approval": None}
    state["cleanup"] = {
        "deleted": [],
        "kept": [],
        "jobStopped": False,
        "summary": "Cleanup: nothing to release: this run bought no throughput and has no running job.",
        "job": {
            "jobName": plans.RUN_ID,
            "jobArn": plans.JOB_ARN,
            "status": "Failed",
            "failureMessage": "Training data has 3 invalid records",
        },
    }
    # When
    result = lambda_handler({"runId": plans.RUN_ID, "status": "FAILED", "state": state}, FakeContext())
    # Then
    record = read_json(key_of(result["recordUri"]))
    assert record["status"] == "FAILED"
    assert record["resources"]["job"]["status"] == "Failed"
    assert record["failure"]["Error"] == "Bedrock.ModelCustomizationJobFailed"
    assert (
        result["subject"]
        == f"Bedrock customization run {plans.RUN_ID} failed: Bedrock.ModelCustomizationJobFailed"
    )
    assert f"Job:           {plans.RUN_ID} (Failed: Training data has 3 invalid records)" in result["message"]
    assert "Cause: Job failed" in result["message"]


def test_a_stopped_job_is_read_from_the_failure_cause() -> None:
    # When cleanup itself failed, the job's state is only in the cause Step Functions recorded.
    state = plans.state(with_throughput=False, with_evaluation=False) | {"job": None, "loss": None}
    state["failure"] = {
        "Error": "States.TaskFailed",
        "Cause": json.dumps({"JobArn": plans.JOB_ARN, "JobName": plans.RUN_ID, "Status": "Stopped"}),
    }
    state["cleanupError"] = {"Error": "Lambda.Unknown", "Cause": "timeout"}
    result = lambda_handler({"runId": plans.RUN_ID, "status": "FAILED", "state": state}, FakeContext())
    record = read_json(key_of(result["recordUri"]))
    assert record["resources"]["job"]["status"] == "Stopped"
    assert record["errors"]["cleanupError"]["Error"] == "Lambda.Unknown"
    assert "CLEANUP FAILED" in result["message"]


def test_kept_commitment_is_called_out_in_the_failure_message() -> None:
    upload_datasets()
    state = plans.state(failure={"Error": "EvaluationBelowBar", "Cause": "Custom model below the bar"})
    state["cleanup"] = {
        "deleted": [],
        "kept": [{"arn": plans.PT_ARN, "reason": "OneMonth commitment: billed until 2027-01-01T00:00:00Z"}],
        "jobStopped": False,
        "summary": f"Cleanup: KEPT provisioned throughput {plans.PT_ARN}: OneMonth commitment",
        "job": None,
    }
    result = lambda_handler({"runId": plans.RUN_ID, "status": "FAILED", "state": state}, FakeContext())
    assert f"STILL BILLED (kept by cleanup): {plans.PT_ARN}" in result["message"]


def test_missing_datasets_are_noted_and_the_record_is_still_written() -> None:
    # Preflight fails on a missing dataset; the record of that failure must still be written.
    state = plans.state(failure={"Error": "PreflightFailed", "Cause": "training: no such object"})
    result = lambda_handler({"runId": plans.RUN_ID, "status": "FAILED", "state": state}, FakeContext())
    record = read_json(key_of(result["recordUri"]))
    assert all(d["sha256"] is None and d["error"].startswith("404") for d in record["datasets"])
    assert "Datasets not fingerprinted" in result["message"]


def test_hashing_stops_before_the_function_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handler, "CHUNK_BYTES", 1024)
    upload_datasets()
    result = lambda_handler(succeeded_event(), FakeContext(remaining_ms=handler.HASH_RESERVE_MS - 1))
    record = read_json(key_of(result["recordUri"]))
    training = next(d for d in record["datasets"] if d["role"] == "training")
    assert training["sha256"] is None
    assert "ran out of time" in training["error"]
    assert training["versionId"] is not None


def test_subject_fits_the_sns_limit() -> None:
    long_id = "a-very-long-run-name-that-uses-most-of-the-execution-name-limit-0123-3f9a2c1b7d"
    state = plans.state(failure={"Error": "ThroughputTimeout" * 3, "Cause": "not InService after 20 checks"})
    result = lambda_handler({"runId": long_id, "status": "FAILED", "state": state}, FakeContext())
    assert len(result["subject"]) <= 100
    assert result["subject"].endswith("...")


def test_an_approval_that_timed_out_still_shows_when_it_was_asked() -> None:
    put_approval_request()
    state = plans.state(
        failure={"Error": "ApprovalTimedOut", "Cause": "No approval decision within 86400 seconds"},
        with_throughput=False,
        with_evaluation=False,
    ) | {"approval": None}
    result = lambda_handler({"runId": plans.RUN_ID, "status": "FAILED", "state": state}, FakeContext())
    record = read_json(key_of(result["recordUri"]))
    assert record["timestamps"]["approvalRequestedAt"] == "2026-11-26T10:00:00Z"
    assert record["approver"] is None
    assert record["decisions"]["approval"]["approved"] is None
    assert "Purchase:" not in result["message"]
