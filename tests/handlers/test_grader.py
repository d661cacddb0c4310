"""The built-in RFT grader Lambda, and the preflight's grader check (ARN, allow-list, dry call)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from lambdas.common import runtime
from lambdas.grader.handler import lambda_handler
from lambdas.preflight import grader_check
from pipeline import graders
from pipeline.datasets import PreflightReport
from pipeline.graders import GraderSelectionError, UnscorableRecordError
from pipeline.runspec import RunSpec
from tests.handlers import plans
from tests.handlers.helpers import put_jsonl

BUILTIN = f"arn:aws:lambda:{plans.REGION}:{plans.ACCOUNT}:function:BedrockCustomization-dev-Grader"
TEAM = f"arn:aws:lambda:{plans.REGION}:{plans.ACCOUNT}:function:search-team-grader"
PREFLIGHT = f"arn:aws:lambda:{plans.REGION}:{plans.ACCOUNT}:function:BedrockCustomization-dev-Preflight"
KEY = "datasets/rft/train.jsonl"


def context(invoked: str) -> SimpleNamespace:
    return SimpleNamespace(invoked_function_arn=invoked, aws_request_id="req-0001", function_name="f")


def record(i: int, reference: Any = "returns") -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": f"Refund for order {i}, please."}],
        "reference_answer": reference,
        "ticket_id": f"T{i}",
    }


# -- the grader Lambda ------------------------------------------------------------------------------


def test_the_grader_runs_the_grader_its_alias_names() -> None:
    samples = [graders.sample_for(record(1), "a", "Returns."), graders.sample_for(record(2), "b", "billing")]
    result = lambda_handler(samples, context(f"{BUILTIN}:exact-match"))
    assert [(r["id"], r["aggregate_reward_score"]) for r in result] == [("a", 1.0), ("b", 0.0)]
    assert json.loads(json.dumps(result)) == result  # what Lambda returns to Bedrock is JSON


def test_the_grader_reads_the_top_level_shape_and_logs_a_sample_it_cannot_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the SageMaker / Nova 2 guide's shape (reference_answer beside messages, role
    # nova_assistant, a batch envelope) with one sample that lost its reference answer
    samples = [graders.sample_for(record(i), f"s{i}", "returns", shape="top-level") for i in (1, 2, 3)]
    samples[0]["messages"][-1]["role"] = "nova_assistant"
    del samples[2]["reference_answer"]
    capsys.readouterr()
    # When Bedrock invokes the exact-match alias
    result = lambda_handler({"batch": samples}, context(f"{BUILTIN}:exact-match"))
    # Then the readable samples are scored, the unreadable one scores 0 under a named metric
    assert [(r["id"], r["aggregate_reward_score"]) for r in result] == [("s1", 1.0), ("s2", 1.0), ("s3", 0.0)]
    assert {"name": "unreadable_sample", "value": 1.0, "type": "Metric"} in result[2]["metrics_list"]
    # ...and one log line names it and why.
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (warning,) = [line for line in lines if line.get("message") == "sample unreadable, scored 0"]
    assert warning["level"] == "WARNING" and warning["sampleId"] == "s3"
    assert warning["metric"] == "unreadable_sample" and "no reference_answer" in warning["reason"]
    (graded,) = [line for line in lines if line.get("message") == "graded"]
    assert graded["unreadable"] == 1 and graded["samples"] == 3


def test_the_grader_fails_a_batch_it_mostly_cannot_read() -> None:
    samples = [graders.sample_for(record(i), f"s{i}", "returns") for i in (1, 2, 3)]
    for sample in samples[1:]:
        del sample["metadata"]["reference_answer"]
    with pytest.raises(graders.UnreadableBatchError, match="2 of 3 samples could not be read"):
        lambda_handler(samples, context(f"{BUILTIN}:exact-match"))


def test_the_grader_refuses_an_unqualified_invocation() -> None:
    with pytest.raises(GraderSelectionError, match="through one of its aliases"):
        lambda_handler([graders.sample_for(record(1), "a", "x")], context(BUILTIN))


def test_the_grader_fails_loudly_on_a_batch_of_records_it_cannot_score() -> None:
    with pytest.raises(
        UnscorableRecordError, match="sample 'a': numeric reference 'returns' is not a number"
    ):
        lambda_handler([graders.sample_for(record(1), "a", "42")], context(f"{BUILTIN}:numeric"))


# -- the preflight's check ---------------------------------------------------------------------------


@pytest.fixture
def lam(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    monkeypatch.setenv(grader_check.BUILTIN_ENV, BUILTIN)
    monkeypatch.setenv(grader_check.TEAM_ENV, "search-*-grader,other-grader")
    put_jsonl(KEY, [record(i) for i in range(1, 6)])
    stubber = Stubber(runtime.client("lambda"))
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def spec(grader: dict[str, str]) -> RunSpec:
    return RunSpec.from_dict(
        {
            "name": "rft-probe",
            "region": plans.REGION,
            "baseModel": "amazon.nova-2-lite-v1:0:256k",
            "customizationType": "REINFORCEMENT_FINE_TUNING",
            "training": f"s3://{plans.BUCKET}/{KEY}",
            "grader": grader,
        }
    )


def answer_with(
    stubber: Stubber, arn: str, grader: str = "exact-match", shape: str = "metadata", **response: Any
) -> None:
    """Expect one Invoke of ``arn`` with the dry call's samples in ``shape`` and answer as the
    built-in grader would (or with ``response``)."""
    sent = [
        graders.sample_for(record(i), f"dry-run-{i}-{k}", a, shape=shape)
        for i in (1, 2, 3)
        for k, a in (("reference", "returns"), ("wrong", graders.WRONG_ANSWER))
    ]
    if not response:
        response = {
            "StatusCode": 200,
            "Payload": io.BytesIO(json.dumps(graders.grade_batch(grader, sent)).encode()),
        }
    payload = json.dumps(sent).encode("utf-8")
    stubber.add_response(
        "invoke", response, {"FunctionName": arn, "InvocationType": "RequestResponse", "Payload": payload}
    )


def fail_with(stubber: Stubber, arn: str, error: dict[str, str]) -> None:
    """Both dry calls (one per shape) fail with a function error."""
    for _ in graders.SHAPES:
        stubber.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": io.BytesIO(json.dumps(error).encode()),
            },
            {"FunctionName": arn, "InvocationType": "RequestResponse", "Payload": ANY},
        )


def check(grader: dict[str, str]) -> PreflightReport:
    report = PreflightReport(spec=None, spec_source="runSpec")
    grader_check.check(spec(grader), report, context(PREFLIGHT))
    return report


def test_a_builtin_grader_is_called_through_its_alias_on_the_first_three_records(lam: Stubber) -> None:
    # Once per documented shape: reference_answer under metadata, then at the top level.
    answer_with(lam, f"{BUILTIN}:exact-match")
    answer_with(lam, f"{BUILTIN}:exact-match", shape="top-level")
    report = check({"builtin": "exact-match"})
    assert report.ok, [str(p) for p in report.spec_problems]
    assert report.grader is not None
    assert report.grader["lambdaArn"] == f"{BUILTIN}:exact-match" and report.grader["ok"] is True
    assert report.grader["understood"] == ["metadata", "top-level"]
    assert [(s["line"], s["answer"], s["score"]) for s in report.grader["scores"]] == [
        (1, "reference", 1.0), (1, "wrong", 0.0), (2, "reference", 1.0),
        (2, "wrong", 0.0), (3, "reference", 1.0), (3, "wrong", 0.0),
    ] * 2  # fmt: skip


def test_the_dry_call_reports_which_shape_a_team_grader_understood(lam: Stubber) -> None:
    # A team grader that reads reference_answer only at the top level (as the SageMaker guide shows):
    # it scores every metadata-shaped sample 0.
    zeros = [
        {"id": f"dry-run-{i}-{k}", "aggregate_reward_score": 0.0}
        for i in (1, 2, 3)
        for k in ("reference", "wrong")
    ]
    answer_with(lam, TEAM, StatusCode=200, Payload=io.BytesIO(json.dumps(zeros).encode()))
    answer_with(lam, TEAM, shape="top-level")
    report = check({"lambdaArn": TEAM})
    assert report.ok, [str(p) for p in report.spec_problems]
    assert report.grader is not None and report.grader["understood"] == ["top-level"]
    (finding,) = [f for f in report.run_findings if f.field == "grader"]
    assert "does not understand samples with reference_answer under metadata, as the Bedrock user guide" in (
        finding.problem
    )


def test_a_grader_that_fails_the_dry_call_makes_the_run_invalid(lam: Stubber) -> None:
    fail_with(lam, TEAM, {"errorType": "KeyError", "errorMessage": "'ground_truth'"})
    report = check({"lambdaArn": TEAM})
    assert not report.ok
    (problem,) = report.spec_problems
    assert problem.field == "grader"
    assert (
        "grader dry call: the grader failed on 6 samples from lines 1, 2, 3 in every documented shape: "
        "metadata: KeyError: 'ground_truth'; top-level: KeyError: 'ground_truth'" in problem.message
    )


def test_a_grader_answer_out_of_contract_makes_the_run_invalid(lam: Stubber) -> None:
    for shape in graders.SHAPES:
        answer_with(
            lam,
            TEAM,
            shape=shape,
            StatusCode=200,
            Payload=io.BytesIO(b'[{"id": "dry-run-1-reference", "score": 1}]'),
        )
    report = check({"lambdaArn": TEAM})
    messages = [p.message for p in report.spec_problems]
    assert any("returned 1 results for 6 samples" in m for m in messages)
    assert any("aggregate_reward_score must be a finite number, got null" in m for m in messages)


def test_a_missing_or_refusing_grader_is_a_problem_of_the_spec(lam: Stubber) -> None:
    for _ in graders.SHAPES:
        lam.add_client_error("invoke", "ResourceNotFoundException", "Function not found: " + TEAM)
    report = check({"lambdaArn": TEAM})
    assert "Lambda refused the invocation: ResourceNotFoundException" in report.spec_problems[0].message


def test_throttling_is_operational_and_raises_for_the_workflow_retry(lam: Stubber) -> None:
    lam.add_client_error("invoke", "TooManyRequestsException", "Rate exceeded", http_status_code=429)
    with pytest.raises(Exception, match="TooManyRequestsException"):
        check({"lambdaArn": TEAM})


def test_a_team_grader_the_deployment_does_not_allow_is_refused_before_any_call(lam: Stubber) -> None:
    report = check({"lambdaArn": TEAM.replace("search-team-grader", "rogue-function")})
    (problem,) = report.spec_problems
    assert problem.field == "grader.lambdaArn"
    assert (
        "may not invoke rogue-function (team graders allowed: search-*-grader, other-grader)"
        in problem.message
    )
    assert report.grader is None


def test_a_team_grader_of_another_account_is_refused(lam: Stubber) -> None:
    report = check({"lambdaArn": TEAM.replace(plans.ACCOUNT, "210987654321")})
    assert "belongs to account 210987654321, not the pipeline's account 123456789012" in (
        report.spec_problems[0].message
    )


def test_a_deployment_without_the_builtin_grader_says_so(
    lam: Stubber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(grader_check.BUILTIN_ENV)
    report = check({"builtin": "numeric"})
    assert "this deployment has no built-in grader" in report.spec_problems[0].message


def test_runs_without_a_grader_are_not_touched(lam: Stubber) -> None:
    report = PreflightReport(spec=None, spec_source="runSpec")
    fine_tuning = RunSpec.from_dict(
        {
            "name": "ft-probe",
            "region": plans.REGION,
            "baseModel": plans.BASE_MODEL,
            "customizationType": "FINE_TUNING",
            "training": plans.TRAINING_URI,
        }
    )
    grader_check.check(fine_tuning, report, context(PREFLIGHT))
    assert report.ok and report.grader is None
