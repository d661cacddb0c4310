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
NOTHING_RELEASED = (
    "Cleanup: nothing to release: this run bought no throughput, has no deployment and no running job."
)
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
    assert record["decisions"]["evaluation"]["judged"] is True
    assert record["decisions"]["smoke"]["passed"] is True
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
        "summary": NOTHING_RELEASED,
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
    caught = {
        "Error": "States.TaskFailed",
        "Cause": json.dumps({"JobArn": plans.JOB_ARN, "JobName": plans.RUN_ID, "Status": "Stopped"}),
    }
    # As the workflow names it: the project's error, what Step Functions caught kept as Original
    state["failure"] = {
        "Error": "TrainingJobFailed",
        "Cause": f"The customization job failed or was stopped. Caught: {json.dumps(caught)}",
        "Original": caught,
    }
    state["cleanupError"] = {"Error": "Lambda.Unknown", "Cause": "timeout"}
    result = lambda_handler({"runId": plans.RUN_ID, "status": "FAILED", "state": state}, FakeContext())
    record = read_json(key_of(result["recordUri"]))
    assert record["resources"]["job"]["status"] == "Stopped"
    assert record["failure"]["Error"] == "TrainingJobFailed"
    assert record["failure"]["Original"]["Error"] == "States.TaskFailed"
    assert "FAILED: TrainingJobFailed" in result["message"]
    assert "Caught:  States.TaskFailed: {" in result["message"]
    assert record["errors"]["cleanupError"]["Error"] == "Lambda.Unknown"
    assert "CLEANUP FAILED" in result["message"]


def test_kept_commitment_is_called_out_in_the_failure_message() -> None:
    upload_datasets()
    state = plans.state(failure={"Error": "EvaluationBelowBar", "Cause": "Custom model below the bar"})
    state["cleanup"] = {
        "deleted": [],
        "kept": [{"arn": plans.PT_ARN, "reason": "OneMonth commitment: billed until 2027-01-01T00:00:00Z"}],
        "jobStopped": False,
        "summary": f"Cleanup: KEPT {plans.PT_ARN}: OneMonth commitment",
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


# --------------------------------------------------------------------------------------------------
# What served, what the run was evaluated on, and what was released
# --------------------------------------------------------------------------------------------------


def released(summary: str, **extra: Any) -> dict[str, Any]:
    return {
        "mode": "release-evaluation",
        "deleted": [],
        "deletedDeployments": [],
        "kept": [],
        "jobStopped": False,
        "summary": summary,
        "job": None,
    } | extra


def run_event(state: dict[str, Any], status: str = "SUCCEEDED") -> dict[str, Any]:
    return {"runId": plans.RUN_ID, "status": status, "state": state}


def test_a_run_served_on_a_purchase_records_the_purchase_and_the_released_deployment() -> None:
    # Given the fine-tuning example: evaluated on a deployment, served on one bought unit
    state = plans.state()
    summary = f"Cleanup: deleted on-demand deployment {plans.DEPLOYMENT_ARN}."
    state["released"] = released(summary, deletedDeployments=[plans.DEPLOYMENT_ARN])
    # When
    result = lambda_handler(run_event(state), FakeContext())
    # Then
    resources = read_json(key_of(result["recordUri"]))["resources"]
    assert resources["servingMode"] == "provisioned"
    assert resources["provisionedModelArn"] == plans.PT_ARN
    assert resources["provisionedModelName"] == plans.PT_NAME
    assert (resources["commitment"], resources["modelUnits"]) == ("none", 1)
    assert resources["deploymentArn"] == plans.DEPLOYMENT_ARN
    assert resources["deploymentName"] == plans.DEPLOYMENT_NAME
    assert resources["evaluationVehicle"] == {
        "kind": "deployment",
        "arn": plans.DEPLOYMENT_ARN,
        "servesAfterwards": False,
    }
    assert resources["released"]["deletedDeployments"] == [plans.DEPLOYMENT_ARN]
    message = result["message"]
    assert f"Throughput:    {plans.PT_ARN}" in message
    assert f"Evaluation vehicle: {summary}" in message
    assert "Serving:       on demand" not in message


def test_a_run_served_on_demand_says_where_to_invoke_it_and_that_it_is_billed_per_token() -> None:
    state = plans.state(plan_doc=plans.plan(serving="on-demand"), with_throughput=False) | {"approval": None}
    result = lambda_handler(run_event(state), FakeContext())
    record = read_json(key_of(result["recordUri"]))
    resources = record["resources"]
    assert resources["servingMode"] == "on-demand"
    assert resources["deploymentArn"] == plans.DEPLOYMENT_ARN
    assert resources["evaluationVehicle"]["servesAfterwards"] is True
    assert resources["provisionedModelArn"] is None and resources["provisionedModelName"] is None
    message = result["message"]
    assert f"Serving:       on demand, {plans.DEPLOYMENT_ARN} (Converse modelId; billed per token)" in message
    assert "Throughput:" not in message
    assert "delete-provisioned-model-throughput" not in message


def test_a_run_evaluated_on_a_throughput_records_it_and_no_deployment() -> None:
    plan_doc = plans.plan(vehicle="throughput", model_units=2)
    state = plans.state(plan_doc=plan_doc)
    state["released"] = released(
        f"Cleanup: deleted provisioned throughput {plans.EVAL_PT_ARN}.", deleted=[plans.EVAL_PT_ARN]
    )
    result = lambda_handler(run_event(state), FakeContext())
    resources = read_json(key_of(result["recordUri"]))["resources"]
    assert resources["deploymentArn"] is None
    assert resources["deploymentName"] is None
    assert resources["evaluationVehicle"] == {
        "kind": "throughput",
        "arn": plans.EVAL_PT_ARN,
        "servesAfterwards": False,
    }
    assert resources["modelUnits"] == 2
    assert (
        f"Evaluation vehicle: Cleanup: deleted provisioned throughput {plans.EVAL_PT_ARN}."
        in result["message"]
    )


def test_a_deployment_that_would_have_served_is_not_announced_when_the_run_failed() -> None:
    state = plans.state(
        plan_doc=plans.plan(serving="on-demand"),
        with_throughput=False,
        failure={"Error": "SmokeCheckFailed", "Cause": "Smoke check failed on ..."},
    )
    result = lambda_handler(run_event(state, "FAILED"), FakeContext())
    assert "Serving:" not in result["message"]


def test_an_evaluation_that_was_not_judged_is_recorded_as_such() -> None:
    summary = "Not judged (EvaluationNotJudged): 5 of 5 calls to the base model (...) failed."
    state = plans.state(with_throughput=False, failure={"Error": "EvaluationNotJudged", "Cause": summary}) | {
        "approval": None
    }
    state["evaluation"] |= {"passed": False, "judged": False, "summary": summary}
    result = lambda_handler(run_event(state, "FAILED"), FakeContext())
    record = read_json(key_of(result["recordUri"]))
    assert record["decisions"]["evaluation"] == {"passed": False, "judged": False, "summary": summary}
    assert record["decisions"]["smoke"] is None
    assert f"Evaluation:    {summary}" in result["message"]
    assert result["subject"].endswith("failed: EvaluationNotJudged")


def test_a_reinforcement_run_records_the_grader_it_was_given() -> None:
    upload_datasets()
    event = succeeded_event()
    plan = event["state"]["preflight"]["plan"]
    grader = "arn:aws:lambda:us-east-1:123456789012:function:grader:exact-match"
    plan["job"]["CustomizationConfig"] = {
        "RftConfig": {"GraderConfig": {"LambdaGrader": {"LambdaArn": grader}}}
    }

    record = read_json(key_of(lambda_handler(event, FakeContext())["recordUri"]))

    assert record["resources"]["graderArn"] == grader


def test_a_run_without_a_grader_records_none() -> None:
    upload_datasets()
    record = read_json(key_of(lambda_handler(succeeded_event(), FakeContext())["recordUri"]))
    assert record["resources"]["graderArn"] is None


def test_a_judged_run_records_the_judges_verdict() -> None:
    upload_datasets()
    event = succeeded_event()
    verdict = "Judge amazon.nova-pro-v1:0: Correctness 0.900 (base 0.500); every bar met."
    event["state"]["judge"] = {
        "passed": True,
        "judged": True,
        "summary": verdict,
        "reasons": [],
        "metrics": {"Correctness": {"custom": 0.9, "base": 0.5}},
        "resultsUri": f"s3://{plans.BUCKET}/runs/{plans.RUN_ID}/judge.json",
    }
    result = lambda_handler(event, FakeContext())
    record = read_json(key_of(result["recordUri"]))
    assert record["decisions"]["judge"]["passed"] is True
    assert record["decisions"]["judge"]["metrics"]["Correctness"]["custom"] == 0.9
    assert f"LLM judge:     {verdict}" in result["message"]


def test_a_run_without_a_judge_records_none() -> None:
    upload_datasets()
    record = read_json(key_of(lambda_handler(succeeded_event(), FakeContext())["recordUri"]))
    assert "judge" not in record["decisions"]
