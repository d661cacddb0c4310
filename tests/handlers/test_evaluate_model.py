"""evaluate_model: Converse on both models (Stubber: moto has no bedrock-runtime), scores, the gate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from lambdas.common import runtime
from lambdas.evaluate_model import handler
from lambdas.evaluate_model.handler import lambda_handler
from tests.handlers import plans
from tests.handlers.helpers import FakeContext, key_of, put_jsonl, read_json

pytestmark = pytest.mark.usefixtures("aws")

PROMPTS = [
    {
        "prompt": "How do I reset my password?",
        "reference": "Open Settings, choose Security, then Reset password.",
    },
    {"prompt": "Where can I see my invoices?", "reference": "Invoices are under Billing, then History."},
]


@pytest.fixture
def converse() -> Iterator[Stubber]:
    stubber = Stubber(runtime.client("bedrock-runtime"))
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(handler, "SLEEP", waited.append)
    return waited


def answer(
    stubber: Stubber,
    model_id: str,
    prompt: str,
    text: str,
    *,
    latency: int,
    tokens: tuple[int, int],
    max_tokens: int = 512,
) -> None:
    stubber.add_response(
        "converse",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
            "metrics": {"latencyMs": latency},
        },
        expected_params={
            "modelId": model_id,
            "messages": [{"role": "user", "content": [{"text": prompt}]}],
            "inferenceConfig": {"maxTokens": max_tokens, "temperature": 0},
        },
    )


CUSTOM = plans.DEPLOYMENT_ARN  # the evaluation vehicle of the default plan


def event(**plan_args: Any) -> dict[str, Any]:
    """What the workflow's evaluation state sends: the vehicle's ARN and kind."""
    return {
        "runId": plans.RUN_ID,
        "plan": plans.plan(**plan_args),
        "modelId": CUSTOM,
        "vehicle": "deployment",
    }


def test_custom_model_better_than_base_passes_and_everything_is_recorded(converse: Stubber) -> None:
    # Given the run's prompts file, and a custom model that answers like the references
    put_jsonl(key_of(plans.PROMPTS_URI), PROMPTS)
    for item, base_text in zip(PROMPTS, ("Contact support.", "Ask your administrator."), strict=True):
        answer(converse, CUSTOM, item["prompt"], item["reference"], latency=800, tokens=(20, 12))
        answer(converse, plans.BASE_INVOKE_ID, item["prompt"], base_text, latency=400, tokens=(20, 4))
    # When
    result = lambda_handler(event(), FakeContext())
    # Then
    assert result["passed"] is True
    assert result["custom"]["quality"] == 1.0
    assert result["base"]["quality"] == 0.0
    assert (
        "improvement over the base model +1.000 (1.000 vs 0.000) meets the minimum +0.000"
        in result["summary"]
    )
    assert result["custom"]["latencyMs"] == {"p50": 800.0, "p95": 800.0, "mean": 800.0}
    assert result["custom"]["inputTokens"] == {"mean": 20.0, "total": 40}
    # Nova Micro on demand: $0.035 / $0.14 per 1M tokens -> (20 * 0.035 + 4 * 0.14) / 1e6 * 1000
    assert result["base"]["costPer1000RequestsUsd"] == pytest.approx(0.0013, abs=1e-4)
    # On its deployment the custom model is billed per token at the base model's on-demand rate
    assert result["custom"]["costPer1000RequestsUsd"] == pytest.approx(
        (20 * 0.035 + 12 * 0.14) / 1000, abs=1e-4
    )
    assert result["custom"]["pricing"]["kind"] == "on-demand"
    assert (result["judged"], result["vehicle"]) == (True, "deployment")
    details = read_json(key_of(result["resultsUri"]))
    assert result["resultsUri"] == f"s3://{plans.BUCKET}/runs/{plans.RUN_ID}/evaluation.json"
    assert [row["custom"]["rougeL"] for row in details["rows"]] == [1.0, 1.0]
    assert details["rows"][0]["base"]["text"] == "Contact support."
    assert details["prompts"]["kind"] == "prompts"
    assert details["method"]["percentiles"] == "nearest-rank"


def test_custom_model_worse_than_base_fails_with_the_numbers(converse: Stubber) -> None:
    put_jsonl(key_of(plans.PROMPTS_URI), PROMPTS[:1])
    item = PROMPTS[0]
    answer(converse, CUSTOM, item["prompt"], "Open Settings.", latency=900, tokens=(20, 3))
    answer(converse, plans.BASE_INVOKE_ID, item["prompt"], item["reference"], latency=300, tokens=(20, 12))
    result = lambda_handler(event(), FakeContext())
    assert result["passed"] is False
    # "Open Settings." vs the 7-word reference: LCS 2, precision 1, recall 2/7 -> F = 4/9
    assert result["summary"].startswith(
        "Custom model below the bar (rougeL): improvement over the base model -0.556 (0.444 vs 1.000)"
    )
    assert "is below the minimum +0.000" in result["summary"]


def test_min_quality_bar_applies_to_the_custom_model(converse: Stubber) -> None:
    put_jsonl(key_of(plans.PROMPTS_URI), PROMPTS[:1])
    item = PROMPTS[0]
    answer(converse, CUSTOM, item["prompt"], "Open Settings, choose Security.", latency=900, tokens=(20, 5))
    answer(converse, plans.BASE_INVOKE_ID, item["prompt"], "No idea.", latency=300, tokens=(20, 3))
    result = lambda_handler(
        event(evaluation={"minQuality": 0.8, "minImprovementOverBase": None}), FakeContext()
    )
    assert result["passed"] is False
    # 4 of the reference's 7 words, in order: precision 1, recall 4/7 -> F = 8/11
    assert "custom model quality 0.727 is below the minimum 0.800" in result["summary"]


def test_throttling_is_retried_with_backoff_then_succeeds(converse: Stubber, sleeps: list[float]) -> None:
    put_jsonl(key_of(plans.PROMPTS_URI), PROMPTS[:1])
    item = PROMPTS[0]
    converse.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
    converse.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
    answer(converse, CUSTOM, item["prompt"], item["reference"], latency=800, tokens=(20, 12))
    answer(converse, plans.BASE_INVOKE_ID, item["prompt"], "x", latency=300, tokens=(20, 1))
    result = lambda_handler(event(), FakeContext())
    assert result["passed"] is True
    assert sleeps == [1.0, 2.0]
    details = read_json(key_of(result["resultsUri"]))
    assert details["rows"][0]["custom"]["attempts"] == 3


def test_default_prompts_are_a_slice_of_the_validation_data(converse: Stubber) -> None:
    # Given no prompts file, and validation data in the Bedrock conversation schema
    conversations = [
        {
            "schemaVersion": "bedrock-conversation-2024",
            "system": [{"text": "You are a support agent."}],
            "messages": [
                {"role": "user", "content": [{"text": f"Question {n}?"}]},
                {"role": "assistant", "content": [{"text": f"Answer {n}."}]},
            ],
        }
        for n in range(5)
    ]
    put_jsonl(key_of(plans.VALIDATION_URI), conversations)
    for n in range(3):
        answer(converse, CUSTOM, f"Question {n}?", f"Answer {n}.", latency=800, tokens=(10, 3))
        answer(converse, plans.BASE_INVOKE_ID, f"Question {n}?", "Unsure.", latency=300, tokens=(10, 2))
    # When only three prompts are allowed
    result = lambda_handler(event(prompts=None, evaluation={"maxPrompts": 3}), FakeContext())
    # Then
    assert result["passed"] is True
    assert result["custom"]["prompts"] == 3
    details = read_json(key_of(result["resultsUri"]))
    assert details["prompts"] == {
        "uri": plans.VALIDATION_URI,
        "kind": "validation-slice",
        "count": 3,
        "skippedRecords": 0,
        "notes": [],
    }


def test_a_missing_prompts_file_fails_the_gate_with_the_reason() -> None:
    result = lambda_handler(event(), FakeContext())
    assert result["passed"] is False
    assert f"{plans.PROMPTS_URI} does not exist" in result["summary"]
    assert result["custom"]["prompts"] == 0


def test_a_prompt_the_model_rejects_is_left_out_of_both_means_and_the_run_goes_on(converse: Stubber) -> None:
    put_jsonl(key_of(plans.PROMPTS_URI), PROMPTS)
    first, second = PROMPTS
    converse.add_client_error("converse", "ValidationException", "Input is too long", 400)
    answer(converse, plans.BASE_INVOKE_ID, first["prompt"], first["reference"], latency=300, tokens=(20, 12))
    answer(converse, CUSTOM, second["prompt"], second["reference"], latency=800, tokens=(20, 9))
    answer(converse, plans.BASE_INVOKE_ID, second["prompt"], second["reference"], latency=300, tokens=(20, 9))
    result = lambda_handler(event(), FakeContext())
    assert result["custom"]["errors"] == 1
    # The rejected prompt counts for neither model: both means are over the one prompt both answered
    assert result["custom"]["quality"] == result["base"]["quality"] == 1.0
    assert result["custom"]["paired"] == result["base"]["paired"] == 1
    assert "calls that failed: the custom model 1; the means are over the 1 prompt(s)" in result["summary"]
    # One failed call in two is far more than a tenth: the comparison is not judged
    assert (result["passed"], result["judged"]) == (False, False)
    assert "1 of 2 calls to the custom model" in result["summary"]


def test_a_base_model_refused_on_every_call_makes_the_evaluation_not_judged(converse: Stubber) -> None:
    # Given five prompts and a base model id Bedrock refuses (say it needs an inference profile)
    prompts = [{"prompt": f"Question {n}?", "reference": f"Answer {n}."} for n in range(5)]
    put_jsonl(key_of(plans.PROMPTS_URI), prompts)
    for n, item in enumerate(prompts):
        answer(converse, CUSTOM, item["prompt"], item["reference"], latency=800, tokens=(10, 3))
        if n < 3:  # not asked again after three refusals in a row
            converse.add_client_error("converse", "AccessDeniedException", "not authorized", 403)
    # When
    result = lambda_handler(event(), FakeContext())
    # Then the custom model's perfect answers prove nothing (no prompt both answered: no mean), and
    # the gate says why
    assert result["custom"]["quality"] is None and result["custom"]["answered"] == 5
    assert result["verdict"] == "not-judged"
    assert result["base"]["errors"] == 5
    assert (result["passed"], result["judged"]) == (False, False)
    assert result["summary"].startswith("Not judged (EvaluationNotJudged): 5 of 5 calls to the base model")
    details = read_json(key_of(result["resultsUri"]))
    assert details["judged"] is False
    assert details["rows"][4]["base"]["error"] == "AccessDeniedException: not asked, every recent call failed"


def test_on_a_throughput_the_custom_model_has_the_throughput_price(converse: Stubber) -> None:
    put_jsonl(key_of(plans.PROMPTS_URI), PROMPTS[:1])
    item = PROMPTS[0]
    answer(converse, plans.EVAL_PT_ARN, item["prompt"], item["reference"], latency=800, tokens=(20, 12))
    answer(converse, plans.BASE_INVOKE_ID, item["prompt"], "No idea.", latency=300, tokens=(20, 3))
    result = lambda_handler(
        event(vehicle="throughput", model_units=2) | {"modelId": plans.EVAL_PT_ARN, "vehicle": "throughput"},
        FakeContext(),
    )
    assert result["vehicle"] == "throughput"
    assert result["custom"]["pricing"]["kind"] == "provisioned"
    assert result["custom"]["pricing"]["modelUnits"] == 1
    # No Provisioned Throughput price for Nova Micro in the catalog: unknown, never 0
    assert result["custom"]["costPer1000RequestsUsd"] is None


# --------------------------------------------------------------------------------------------------
# Smoke check of what will serve
# --------------------------------------------------------------------------------------------------


def smoke(model_id: str = plans.PT_ARN, **plan_args: Any) -> dict[str, Any]:
    return {"runId": plans.RUN_ID, "plan": plans.plan(**plan_args), "modelId": model_id, "mode": "smoke"}


def test_the_smoke_check_asks_the_first_prompts_on_what_serves(converse: Stubber) -> None:
    prompts = [{"prompt": f"Question {n}?", "reference": f"Answer {n}."} for n in range(5)]
    put_jsonl(key_of(plans.PROMPTS_URI), prompts)
    for item in prompts[:3]:  # plan.evaluation.smokePrompts
        answer(converse, plans.PT_ARN, item["prompt"], "Sure.", latency=500, tokens=(10, 2), max_tokens=64)
    result = lambda_handler(smoke(), FakeContext())
    assert result == {
        "passed": True,
        "summary": f"Smoke check passed on {plans.PT_ARN}: 3 prompt(s) answered.",
        "modelId": plans.PT_ARN,
        "resultsUri": f"s3://{plans.BUCKET}/runs/{plans.RUN_ID}/smoke-check.json",
    }
    stored = read_json(key_of(result["resultsUri"]))
    assert stored["runId"] == plans.RUN_ID and stored["passed"] is True
    assert stored["checkedAt"].endswith("Z")
    assert [a["prompt"] for a in stored["answers"]] == ["Question 0?", "Question 1?", "Question 2?"]


def test_the_smoke_check_fails_when_what_serves_does_not_answer(converse: Stubber) -> None:
    put_jsonl(key_of(plans.PROMPTS_URI), PROMPTS)
    answer(converse, plans.PT_ARN, PROMPTS[0]["prompt"], "", latency=500, tokens=(10, 0), max_tokens=64)
    converse.add_client_error("converse", "ModelErrorException", "model failed", 424)
    result = lambda_handler(smoke(evaluation={"smokePrompts": 2}), FakeContext())
    assert result["passed"] is False
    assert result["summary"].startswith(
        f"Smoke check failed on {plans.PT_ARN}: 2 of 2 prompt(s) got no answer"
    )


def test_the_smoke_check_without_prompts_asks_a_fixed_prompt(converse: Stubber) -> None:
    # Given no prompts file at all (it was never uploaded)
    answer(
        converse,
        plans.DEPLOYMENT_ARN,
        "Reply with the single word: ready.",
        "ready",
        latency=500,
        tokens=(10, 1),
        max_tokens=64,
    )
    result = lambda_handler(smoke(plans.DEPLOYMENT_ARN, serving="on-demand"), FakeContext())
    assert result["passed"] is True


def test_throttling_that_outlasts_the_retries_escapes_for_the_workflow_to_retry(
    converse: Stubber, sleeps: list[float]
) -> None:
    put_jsonl(key_of(plans.PROMPTS_URI), PROMPTS[:1])
    for _ in range(6):
        converse.add_client_error("converse", "ThrottlingException", "Too many requests", 429)
    with pytest.raises(Exception, match="ThrottlingException") as raised:
        lambda_handler(event(), FakeContext())
    assert type(raised.value).__name__ in {"ClientError", "ThrottlingException"}
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_with_teacher_references_prompt_only_records_are_answered_by_the_teacher_first(
    converse: Stubber,
) -> None:
    # Given a distillation's held-out prompts without references, and the teacher to answer them
    teacher = "amazon.nova-pro-v1:0"
    prompts = [{"prompt": item["prompt"]} for item in PROMPTS]
    put_jsonl(key_of(plans.PROMPTS_URI), prompts)
    for item in PROMPTS:
        answer(converse, teacher, item["prompt"], item["reference"], latency=900, tokens=(20, 12))
        answer(converse, CUSTOM, item["prompt"], item["reference"], latency=800, tokens=(20, 12))
        answer(converse, plans.BASE_INVOKE_ID, item["prompt"], "No idea.", latency=400, tokens=(20, 3))
    # When
    result = lambda_handler(
        event(evaluation={"references": "teacher", "teacherInvokeId": teacher}), FakeContext()
    )
    # Then the student is scored against the teacher's answers
    assert result["passed"] is True and result["custom"]["quality"] == 1.0
    details = read_json(key_of(result["resultsUri"]))
    assert details["references"] == {"from": "teacher", "modelId": teacher, "asked": 2, "failed": 0}
    assert details["rows"][1]["reference"] == PROMPTS[1]["reference"]
