"""`start`: local preflight, content-addressed upload, one execution per spec, confirmation for throughput.

The bundled fine-tuning example is evaluated on an on-demand deployment and buys throughput to serve
with after its bar; the distillation example serves on demand and buys nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from pipeline import naming
from pipeline.operate import run_lookup, start
from pipeline.runspec import load_run_spec, spec_hash
from tests.operate.helpers import (
    BUCKET,
    EXAMPLES,
    REGION,
    STATE_MACHINE_ARN,
    clients_with,
    deploy,
    run_cli,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("moto")

FINE_TUNING = EXAMPLES / "runs" / "fine-tuning.yaml"
DISTILLATION = EXAMPLES / "runs" / "distillation.yaml"


class CountingS3:
    """The moto S3 client, counting the writes start makes."""

    def __init__(self) -> None:
        self.client = boto3.client("s3", region_name=REGION)
        self.writes: list[str] = []

    def upload_file(self, filename: str, bucket: str, key: str, **kwargs: Any) -> None:
        self.writes.append(key)
        self.client.upload_file(filename, bucket, key, **kwargs)

    def copy(self, source: dict[str, str], bucket: str, key: str, **kwargs: Any) -> None:
        self.writes.append(key)
        self.client.copy(source, bucket, key, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _keys() -> list[str]:
    listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET, Prefix="datasets/")
    return sorted(o["Key"] for o in listing.get("Contents", []))


def _executions() -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return list(sfn.list_executions(stateMachineArn=STATE_MACHINE_ARN)["executions"])


def test_uploads_content_addressed_and_starts_one_execution_named_after_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    deploy()

    result = run_cli(capsys, "start", str(FINE_TUNING), "--yes", "--json")

    assert result.code == 0, result.err
    doc = result.json()
    train = EXAMPLES / "datasets" / "conversation-train.jsonl"
    validation = EXAMPLES / "datasets" / "conversation-validation.jsonl"
    prompts = EXAMPLES / "prompts" / "eval-prompts.jsonl"
    assert _keys() == sorted(f"datasets/{_sha(p)}/{p.name}" for p in (train, validation, prompts))
    sfn = boto3.client("stepfunctions", region_name=REGION)
    execution = sfn.describe_execution(executionArn=doc["executionArn"])
    spec = json.loads(execution["input"])["runSpec"]
    assert spec["training"] == f"s3://{BUCKET}/datasets/{_sha(train)}/conversation-train.jsonl"
    assert spec["validation"] == [f"s3://{BUCKET}/datasets/{_sha(validation)}/conversation-validation.jsonl"]
    assert spec["evaluation"]["prompts"] == f"s3://{BUCKET}/datasets/{_sha(prompts)}/eval-prompts.jsonl"
    # The run id is the workflow's: run name + hash of the spec as the workflow receives it.
    local = load_run_spec(FINE_TUNING)
    final = local.with_datasets(
        training=spec["training"], validation=spec["validation"], prompts=spec["evaluation"]["prompts"]
    )
    assert doc["runId"] == naming.run_id("support-nova-micro", spec_hash(final)) == execution["name"]
    assert doc["started"] is True and doc["alreadyStarted"] is False
    obj = boto3.client("s3", region_name=REGION).head_object(
        Bucket=BUCKET, Key=f"datasets/{_sha(train)}/conversation-train.jsonl"
    )
    assert obj["Metadata"] == {"sha256": _sha(train)}


def test_starting_the_same_spec_twice_starts_one_run_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    deploy()
    s3 = CountingS3()
    with clients_with(s3=s3):
        first = run_cli(capsys, "start", str(FINE_TUNING), "--yes")
        uploaded = list(s3.writes)
        second = run_cli(capsys, "start", str(FINE_TUNING))

    assert first.code == 0 and second.code == 0, second.err
    assert len(uploaded) == 3
    assert s3.writes == uploaded  # nothing uploaded the second time
    assert len(_executions()) == 1
    run_id = _executions()[0]["name"]
    assert f"run {run_id} was already started (status " in second.out
    assert "nothing was uploaded or started again" in second.out


def test_the_run_id_depends_on_content_not_on_where_the_files_are(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deploy()
    copy = tmp_path / "elsewhere"
    shutil.copytree(EXAMPLES / "datasets", copy / "datasets")
    shutil.copytree(EXAMPLES / "prompts", copy / "prompts")
    (copy / "runs").mkdir()
    shutil.copy(DISTILLATION, copy / "runs" / "distillation.yaml")

    first = run_cli(capsys, "start", str(DISTILLATION), "--json", "--yes")
    second = run_cli(capsys, "start", str(copy / "runs" / "distillation.yaml"), "--json", "--yes")

    assert first.json()["runId"] == second.json()["runId"]
    assert second.json()["alreadyStarted"] is True


def test_datasets_already_in_the_bucket_are_not_uploaded_again(capsys: pytest.CaptureFixture[str]) -> None:
    deploy()
    prompts = EXAMPLES / "prompts" / "eval-prompts.jsonl"
    key = f"datasets/{_sha(prompts)}/eval-prompts.jsonl"
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key=key, Body=prompts.read_bytes())
    s3 = CountingS3()

    with clients_with(s3=s3):
        result = run_cli(capsys, "start", str(DISTILLATION), "--yes")

    assert result.code == 0, result.err
    assert s3.writes == [
        f"datasets/{_sha(EXAMPLES / 'datasets' / 'distillation-prompts.jsonl')}/distillation-prompts.jsonl"
    ]
    assert f"already at s3://{BUCKET}/{key}" in result.err


def test_an_invalid_dataset_uploads_nothing_and_starts_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deploy()
    bad = tmp_path / "train.jsonl"
    lines = (EXAMPLES / "datasets" / "conversation-train.jsonl").read_text(encoding="utf-8").splitlines()
    lines[3] = "{not json"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = yaml.safe_load(FINE_TUNING.read_text(encoding="utf-8"))
    prompts = str(EXAMPLES / "prompts" / "eval-prompts.jsonl")
    spec.update(training=str(bad), validation=None, evaluation={"prompts": prompts, "minQuality": 0.6})
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")

    result = run_cli(capsys, "start", str(path), "--yes")

    assert result.code == 2
    assert "PREFLIGHT FAILED" in result.out
    assert f"{bad}:4" in result.out
    assert "nothing was uploaded and no run was started" in result.err
    assert _keys() == []
    assert _executions() == []


def test_a_throughput_purchase_needs_confirmation_and_refuses_without_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy()
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    result = run_cli(capsys, "start", str(FINE_TUNING))

    assert result.code == 2
    assert "Serving throughput per hour" in result.out  # the estimate is shown first
    assert "Evaluation (on demand)" in result.out
    assert "needs confirmation and there is no terminal to ask on" in result.err
    assert "pass --yes to confirm in CI" in result.err
    assert _keys() == [] and _executions() == []


def test_declining_at_the_prompt_starts_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy()
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda: "n")

    result = run_cli(capsys, "start", str(FINE_TUNING))

    assert result.code == 1
    assert "[y/N]" in result.err
    # What is bought, what for, and when: only after the bar, and after a person says yes.
    assert (
        "It may buy 1 model unit(s) of provisioned throughput (no commitment) to serve with, only after "
        "the model passes its quality bar and a human approves." in result.err
    )
    assert _keys() == [] and _executions() == []


def test_confirming_at_the_prompt_starts_the_run(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy()
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda: "y")

    result = run_cli(capsys, "start", str(FINE_TUNING))

    assert result.code == 0, result.err
    assert len(_executions()) == 1


def test_an_s3_dataset_outside_the_pipeline_prefix_is_copied_to_its_content_address(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deploy()
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="team-data-bucket")
    prompts = EXAMPLES / "datasets" / "distillation-prompts.jsonl"
    s3.put_object(Bucket="team-data-bucket", Key="raw/prompts.jsonl", Body=prompts.read_bytes())
    spec = yaml.safe_load(DISTILLATION.read_text(encoding="utf-8"))
    spec.update(training="s3://team-data-bucket/raw/prompts.jsonl", evaluation=None)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")

    result = run_cli(capsys, "start", str(path), "--json", "--yes")

    assert result.code == 0, result.err
    assert _keys() == [f"datasets/{_sha(prompts)}/prompts.jsonl"]


def test_region_must_match_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "start", str(DISTILLATION), "--region", "us-west-2")

    assert result.code == 2
    assert "--region us-west-2 differs from the run spec's region us-east-1" in result.err


def test_start_wait_follows_the_run_and_exits_with_its_outcome(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deploy()
    # Trained and gated on its loss only, not served: nothing to evaluate on, nothing bought.
    spec = yaml.safe_load(FINE_TUNING.read_text(encoding="utf-8"))
    spec.update(
        training=str(EXAMPLES / "datasets" / "conversation-train.jsonl"),
        validation=str(EXAMPLES / "datasets" / "conversation-validation.jsonl"),
        evaluation={"maxValidationLoss": 2.5},
        serving={"mode": "none"},
    )
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")

    # A run that buys nothing asks for no confirmation, even without a terminal.
    result = run_cli(capsys, "start", str(path), "--wait", "--interval", "0.05")

    assert result.code == 0, result.err
    assert "Status:" in result.out and "SUCCEEDED: done" in result.out


def test_hash_streams_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"x" * (start.CHUNK_BYTES * 2 + 17))
    reads: list[int] = []
    with path.open("rb") as handle:

        def read(size: int) -> bytes:
            reads.append(size)
            return handle.read(size)

        digest = start.hash_stream(read)

    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert reads == [start.CHUNK_BYTES] * 4  # three chunks and the empty read: never the whole file


def test_a_run_serving_on_demand_buys_nothing_and_asks_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy()
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    result = run_cli(capsys, "start", str(DISTILLATION))

    assert result.code == 0, result.err
    assert "serves on demand" in result.err and "billed per token as it is used" in result.err
    assert len(_executions()) == 1


@pytest.mark.usefixtures("titan_offered")
def test_an_evaluation_throughput_is_asked_about_before_start(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Titan Text Express cannot be deployed on demand: it is evaluated on 1 MU bought for it."""
    deploy()
    spec = {
        "name": "faq-express",
        "region": REGION,
        "baseModel": "amazon.titan-text-express-v1:0:8k",
        "customizationType": "FINE_TUNING",
        "training": str(EXAMPLES / "datasets" / "prompt-completion-train.jsonl"),
        "validation": str(EXAMPLES / "datasets" / "prompt-completion-validation.jsonl"),
        "hyperParameters": {"epochCount": 1},
        "evaluation": {"minImprovementOverBase": 0.0},
        "serving": {"mode": "provisioned", "modelUnits": 2, "commitment": "none"},
        "approval": {"policy": "above-cost", "monthlyCostThreshold": 20000},
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda: "n")

    result = run_cli(capsys, "start", str(path))

    assert result.code == 1
    assert (
        "It may buy 1 model unit of no-commitment provisioned throughput to evaluate on, once training "
        "passes its loss bar (released after the evaluation); and 2 model unit(s) of provisioned "
        "throughput (no commitment) to serve with, only after the model passes its quality bar and a "
        "human approves." in result.err
    )
    assert re.search(r"Evaluation throughput\s+\$82.00", result.out)  # at most 4 h x $20.50
    assert _executions() == []


# -- start --rerun ----------------------------------------------------------------------------------


# A workflow whose runs fail at once, as a rejected or failed run ends.
FAILING = {
    "StartAt": "Run failed",
    "States": {"Run failed": {"Type": "Fail", "Error": "ApprovalRejected", "Cause": "rejected by the test"}},
}


def _ended(run_id: str) -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = next(e["executionArn"] for e in _executions() if e["name"] == run_id)
    status: str = wait_for(
        lambda: (s := sfn.describe_execution(executionArn=arn)["status"]) != "RUNNING" and s,
        what=f"{run_id} ended",
    )
    return status


def test_a_rejected_run_is_started_again_under_a_new_recorded_run_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a run that ended rejected
    deploy(definition=FAILING)
    first = run_cli(capsys, "start", str(DISTILLATION), "--json").json()
    assert _ended(first["runId"]) == "FAILED"
    # When the same spec is started again without --rerun, the CLI says how to rerun it
    again = run_cli(capsys, "start", str(DISTILLATION))
    assert again.code == 0 and len(_executions()) == 1
    assert f"run {first['runId']} was already started (status FAILED)" in again.out
    assert f"start it again, as a new run, with: bedrock-customize start {DISTILLATION} --rerun" in again.out
    # When it is started with --rerun
    rerun = run_cli(capsys, "start", str(DISTILLATION), "--rerun", "--json")
    # Then a second execution runs under the next attempt's id, recording which run it reruns
    assert rerun.code == 0, rerun.err
    doc = rerun.json()
    assert doc["runId"] == naming.rerun_id(first["runId"], 2) == f"{first['runId']}-r2"
    assert doc["started"] is True and doc["rerunOf"] == first["runId"]
    sfn = boto3.client("stepfunctions", region_name=REGION)
    execution_input = json.loads(sfn.describe_execution(executionArn=doc["executionArn"])["input"])
    assert execution_input["rerunOf"] == first["runId"]
    assert (
        execution_input["runSpec"]
        == json.loads(sfn.describe_execution(executionArn=first["executionArn"])["input"])["runSpec"]
    )
    assert len(_executions()) == 2


def test_nothing_is_rerun_while_the_last_attempt_is_still_going(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(definition=FAILING)
    first = run_cli(capsys, "start", str(DISTILLATION), "--json").json()
    _ended(first["runId"])
    second = run_cli(capsys, "start", str(DISTILLATION), "--rerun", "--json").json()
    _ended(second["runId"])
    # Given the rerun reported as still running
    describe = run_lookup.describe_execution

    def still_running(sfn: Any, deployment: Any, run_id: str) -> dict[str, Any] | None:
        found = describe(sfn, deployment, run_id)
        return {**found, "status": "RUNNING"} if found and run_id == second["runId"] else found

    monkeypatch.setattr(run_lookup, "describe_execution", still_running)
    # When --rerun is given again
    third = run_cli(capsys, "start", str(DISTILLATION), "--rerun")
    # Then nothing starts, and it says which attempt is going
    assert third.code == 0 and len(_executions()) == 2
    assert f"run {second['runId']} is still going (status RUNNING)" in third.out
    # Once it has ended, the next is attempt 3
    monkeypatch.setattr(run_lookup, "describe_execution", describe)
    fourth = run_cli(capsys, "start", str(DISTILLATION), "--rerun", "--json").json()
    assert fourth["runId"] == f"{first['runId']}-r3" and fourth["rerunOf"] == second["runId"]


def test_rerun_of_a_spec_that_never_ran_starts_its_first_run(capsys: pytest.CaptureFixture[str]) -> None:
    deploy()
    result = run_cli(capsys, "start", str(DISTILLATION), "--rerun", "--json")
    assert result.code == 0, result.err
    doc = result.json()
    assert naming.attempt_of(doc["runId"]) == 1 and doc["rerunOf"] is None


def test_a_run_that_succeeded_is_not_rerun() -> None:
    statuses = {"bot-3f9a2c1b7d": "FAILED", "bot-3f9a2c1b7d-r2": "SUCCEEDED"}
    plan = start.rerun_plan(
        lambda rid: {"status": statuses[rid]} if rid in statuses else None, "bot-3f9a2c1b7d"
    )
    assert (plan.latest, plan.latest_status, plan.run_id, plan.rerun_of) == (
        "bot-3f9a2c1b7d-r2",
        "SUCCEEDED",
        None,
        None,
    )
    for status in ("FAILED", "TIMED_OUT", "ABORTED"):

        def ended(rid: str, status: str = status) -> dict[str, Any] | None:
            return {"status": status} if rid == "bot-3f9a2c1b7d" else None

        plan = start.rerun_plan(ended, "bot-3f9a2c1b7d")
        assert plan.run_id == "bot-3f9a2c1b7d-r2" and plan.rerun_of == "bot-3f9a2c1b7d"
