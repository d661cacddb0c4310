"""`compare MODEL... --judge`: the workflow's LLM judge over several models' answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from pipeline import judge
from pipeline.operate import compare_judge
from pipeline.operate.errors import InvalidInputError
from tests.operate.helpers import BUCKET, REGION, clients_with, run_cli
from tests.operate.test_compare import NOVA, OTHER, PROMPTS, _expect, _prompts, _reply

ROLE = "arn:aws:iam::123456789012:role/BedrockCustomization-dev-EvaluationJobRole"
LABELS = ["amazon.nova-micro-v1:0:128k", OTHER]


def _results(s3: Any, cid: str, index: int, scores: list[float]) -> None:
    prefix = f"runs/{cid}/judge/output/m{index}/"
    lines = [
        json.dumps(
            {
                "automatedEvaluationResult": {
                    "scores": [
                        {"metricName": m, "result": s, "evaluatorDetails": [{"explanation": "e"}]}
                        for m in ("Builtin.Correctness", "Builtin.Completeness")
                    ]
                },
                "inputRecord": {"prompt": p},
            }
        )
        for (p, _), s in zip(PROMPTS, scores, strict=True)
    ]
    key = f"{prefix}job/uuid/models/model-{index}/taskTypes/General/datasets/m{index}-answers/f_output.jsonl"
    s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(lines).encode())


def _job(status: str) -> dict[str, Any]:
    return {
        "jobName": "x",
        "status": status,
        "jobArn": "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/x",
        "roleArn": ROLE,
        "jobType": "Automated",
        "evaluationConfig": {
            "automated": {
                "datasetMetricConfigs": [
                    {"taskType": "General", "dataset": {"name": "d"}, "metricNames": ["Builtin.Correctness"]}
                ]
            }
        },
        "inferenceConfig": {"models": [{"precomputedInferenceSource": {"inferenceSourceIdentifier": "m"}}]},
        "outputDataConfig": {"s3Uri": "s3://b/o/"},
        "creationTime": "2026-11-28T00:00:00Z",
    }


@pytest.mark.usefixtures("moto")
def test_the_judge_scores_every_compared_model(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    runtime = boto3.client("bedrock-runtime", region_name=REGION)
    answers = Stubber(runtime)
    for prompt, reference in PROMPTS:
        _expect(answers, NOVA, prompt, _reply(reference, 200, 20, 10))
        _expect(answers, OTHER, prompt, _reply("I am not sure.", 900, 30, 5))
    bedrock = boto3.client("bedrock", region_name=REGION)
    jobs = Stubber(bedrock)
    for index in (1, 2):
        jobs.add_response(
            "create_evaluation_job",
            {"jobArn": f"arn:aws:bedrock:us-east-1:123456789012:evaluation-job/m{index}"},
            {
                "jobName": ANY,
                "jobDescription": ANY,
                "clientRequestToken": ANY,
                "roleArn": ROLE,
                "applicationType": "ModelEvaluation",
                "evaluationConfig": ANY,
                "inferenceConfig": {
                    "models": [
                        {"precomputedInferenceSource": {"inferenceSourceIdentifier": f"model-{index}"}}
                    ]
                },
                "outputDataConfig": ANY,
                "jobTags": [],
            },
        )
    for status in ("InProgress", "Completed"):
        for _ in (1, 2):
            jobs.add_response("get_evaluation_job", _job(status), {"jobIdentifier": ANY})
    opts = compare_judge.JudgeOptions(role_arn=ROLE, bucket=BUCKET)
    cid = compare_judge.comparison_id(LABELS, [p for p, _ in PROMPTS], opts)
    _results(s3, cid, 1, [0.9, 0.8, 1.0])
    _results(s3, cid, 2, [0.2, 0.3, 0.1])
    monkeypatch.setattr("time.sleep", lambda _s: None)

    with answers, jobs, clients_with(**{"bedrock-runtime": runtime, "bedrock": bedrock}):
        result = run_cli(
            capsys,
            "compare",
            *LABELS,
            "--prompts",
            str(_prompts(tmp_path)),
            "--judge",
            "--judge-role",
            ROLE,
            "--judge-bucket",
            BUCKET,
            "--json",
        )
        jobs.assert_no_pending_responses()

    assert result.code == 0, result.err
    judged = result.json()["judge"]
    assert judged["judge"] == "amazon.nova-pro-v1:0"
    assert judged["metrics"]["Correctness"] == {LABELS[0]: 0.9, OTHER: 0.2}
    dataset = s3.get_object(Bucket=BUCKET, Key=f"runs/{cid}/judge/m2-answers.jsonl")["Body"].read().decode()
    lines = [json.loads(x) for x in dataset.splitlines()]
    assert {x["modelResponses"][0]["modelIdentifier"] for x in lines} == {"model-2"}
    assert lines[0]["modelResponses"][0]["response"] == "I am not sure."
    text = compare_judge.render(judged)
    assert "CORRECTNESS" in text and "0.900" in text


def test_judge_options_are_checked_before_anything_is_asked(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "compare", NOVA, "--prompts", "x.jsonl", "--judge", "amazon.nova-pr-v1:0")
    assert result.code == 2
    assert "did you mean 'amazon.nova-pro-v1:0'" in result.err
    assert "--judge needs --judge-role and --judge-bucket" in result.err


def test_the_judge_rejects_an_unknown_metric() -> None:
    with pytest.raises(InvalidInputError, match=r"Builtin\.Nope is not a built-in judge metric"):
        compare_judge.options(None, "Builtin.Nope", ROLE, BUCKET, "us-east-1")
    assert compare_judge.options(None, None, ROLE, BUCKET, "us-east-1").metrics == judge.DEFAULT_METRICS
