"""pipeline.evaluation: prompts from any dataset format, Converse with bounded retries, the comparison."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pipeline import evaluation
from pipeline.catalog import Price, Prices, get_model
from pipeline.evaluation import PromptSet, ask, evaluate, extract_pair, read_prompts
from tests.handlers import plans


def reply(text: str, latency: int = 500, tokens: tuple[int, int] = (10, 5)) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": latency},
    }


def error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "Converse")


class FakeConverse:
    """Answers per model id from a script; each entry is a reply or an exception to raise."""

    def __init__(self, script: dict[str, list[Any]]) -> None:
        self.script = {model: list(items) for model, items in script.items()}
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        item = self.script[request["modelId"]].pop(0)
        if isinstance(item, Exception):
            raise item
        return dict(item)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"prompt": "Q", "reference": "A"}, ("Q", "A")),
        ({"prompt": "Q", "completion": "A"}, ("Q", "A")),
        (
            {
                "schemaVersion": "bedrock-conversation-2024",
                "system": [{"text": "Be brief."}],
                "messages": [
                    {"role": "user", "content": [{"text": "first"}]},
                    {"role": "assistant", "content": [{"text": "one"}]},
                    {"role": "user", "content": [{"text": "second"}, {"image": {"format": "png"}}]},
                    {"role": "assistant", "content": [{"text": "two"}]},
                ],
            },
            ("second", "two"),
        ),
        (
            {
                "system": "Be brief.",
                "messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}],
            },
            ("Q", "A"),
        ),
        # Distillation prompts have no answer to compare with.
        ({"messages": [{"role": "user", "content": [{"text": "Q"}]}]}, None),
        ({"prompt": "Q", "reference": "  "}, None),
        ({"input": "continued pre-training text"}, None),
        (["not", "an", "object"], None),
    ],
)
def test_prompt_and_reference_from_every_dataset_format(
    record: Any, expected: tuple[str, str] | None
) -> None:
    assert extract_pair(record) == expected


def test_read_prompts_stops_at_the_cap_and_counts_what_it_skipped() -> None:
    lines = [b"not json", b"", json.dumps({"input": "x"}).encode()] + [
        json.dumps({"prompt": f"q{n}", "reference": f"a{n}"}).encode() for n in range(10)
    ]
    consumed: list[bytes] = []

    def stream() -> Any:
        for line in lines:
            consumed.append(line)
            yield line

    result = read_prompts(stream(), uri="s3://b/p.jsonl", kind=evaluation.PROMPTS, max_prompts=3)
    assert [p.prompt for p in result.prompts] == ["q0", "q1", "q2"]
    assert [p.line for p in result.prompts] == [4, 5, 6]
    assert result.skipped == 2
    # The rest of a (possibly huge) dataset is never read.
    assert len(consumed) == 7


def test_training_records_are_flagged_as_optimistic() -> None:
    result = read_prompts(
        ['{"prompt": "q", "completion": "a"}'], uri="s3://b/t", kind=evaluation.TRAINING_SLICE, max_prompts=5
    )
    assert "optimistic" in result.notes[0]


@pytest.mark.parametrize(
    ("plan_args", "expected"),
    [
        ({}, (plans.PROMPTS_URI, evaluation.PROMPTS)),
        ({"prompts": None}, (plans.VALIDATION_URI, evaluation.VALIDATION_SLICE)),
        ({"prompts": None, "variant": "WITHOUT_VALIDATION"}, (plans.TRAINING_URI, evaluation.TRAINING_SLICE)),
    ],
)
def test_prompt_source_order(plan_args: dict[str, Any], expected: tuple[str, str]) -> None:
    assert evaluation.prompt_source(plans.plan(**plan_args)) == expected


def test_throttling_backs_off_exponentially_then_succeeds() -> None:
    waited: list[float] = []
    converse = FakeConverse({"m": [error("ThrottlingException")] * 3 + [reply("ok")]})
    answer = ask(converse, "m", "hi", sleep=waited.append)
    assert answer.text == "ok"
    assert answer.attempts == 4
    assert waited == [1.0, 2.0, 4.0]
    assert converse.calls[0] == {
        "modelId": "m",
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 512, "temperature": 0},
    }


def test_throttling_that_never_ends_raises_after_a_bounded_number_of_attempts() -> None:
    waited: list[float] = []
    converse = FakeConverse({"m": [error("ThrottlingException")] * 10})
    with pytest.raises(ClientError) as raised:
        ask(converse, "m", "hi", sleep=waited.append)
    # Raised under its own code, which the state machine's Retry matches.
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert len(converse.calls) == 6
    assert waited == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_backoff_is_capped() -> None:
    assert evaluation.backoff_delays(8, base=1.0, cap=20.0) == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]


def test_a_bad_prompt_is_an_answer_with_an_error_and_other_errors_escape() -> None:
    rejected = ask(FakeConverse({"m": [error("ValidationException")]}), "m", "hi", sleep=lambda _: None)
    assert rejected.error is not None and rejected.error.startswith("ValidationException")
    with pytest.raises(ClientError):
        ask(FakeConverse({"m": [error("AccessDeniedException")]}), "m", "hi", sleep=lambda _: None)


def prompt_set(count: int) -> PromptSet:
    return PromptSet(
        uri=plans.PROMPTS_URI,
        kind=evaluation.PROMPTS,
        prompts=[evaluation.EvalPrompt(f"q{n}", f"answer number {n}", n + 1) for n in range(count)],
    )


def test_evaluate_compares_both_models_prompt_by_prompt() -> None:
    converse = FakeConverse(
        {
            plans.PT_ARN: [reply(f"answer number {n}", latency=700 + 100 * n) for n in range(4)],
            plans.BASE_INVOKE_ID: [reply("no idea", latency=300) for _ in range(4)],
        }
    )
    result = evaluate(
        plans.plan(), prompt_set(4), custom_model_id=plans.PT_ARN, converse=converse, sleep=lambda _: None
    )
    assert result.passed is True
    assert result.custom["quality"] == 1.0
    assert result.base["quality"] == 0.0
    # nearest-rank over 700, 800, 900, 1000
    assert result.custom["latencyMs"]["p50"] == 800.0
    assert result.custom["latencyMs"]["p95"] == 1000.0
    assert [row["line"] for row in result.rows] == [1, 2, 3, 4]
    assert [c["modelId"] for c in converse.calls[:2]] == [plans.PT_ARN, plans.BASE_INVOKE_ID]


def test_evaluate_stops_starting_prompts_when_time_runs_short() -> None:
    budget = iter([500_000, 500_000, 10_000])
    time_left: Callable[[], int] = lambda: next(budget)  # noqa: E731
    converse = FakeConverse(
        {plans.PT_ARN: [reply("answer number 0")] * 5, plans.BASE_INVOKE_ID: [reply("answer number 0")] * 5}
    )
    result = evaluate(
        plans.plan(), prompt_set(5), custom_model_id=plans.PT_ARN, converse=converse, time_left_ms=time_left
    )
    assert result.stopped_early is True
    assert len(result.rows) == 3
    assert "stopped after 3 of 5 prompts" in result.summary


def test_no_usable_prompts_fails_a_set_bar_and_passes_without_one() -> None:
    empty = PromptSet(uri=plans.TRAINING_URI, kind=evaluation.TRAINING_SLICE)
    never: Any = FakeConverse({})
    failed = evaluate(plans.plan(variant="DISTILLATION"), empty, custom_model_id=plans.PT_ARN, converse=never)
    assert failed.passed is False
    assert "give evaluation.prompts" in failed.summary
    unjudged = evaluate(
        plans.plan(evaluation={"minImprovementOverBase": None}),
        empty,
        custom_model_id=plans.PT_ARN,
        converse=never,
    )
    assert unjudged.passed is True
    assert never.calls == []


def test_pricing_comes_from_the_catalog_and_unknown_stays_none() -> None:
    custom, base = evaluation.pricing_for(plans.plan())
    assert (base.input_per_1m_tokens, base.output_per_1m_tokens) == (0.035, 0.14)
    assert custom.kind == "provisioned" and custom.model_units == 1
    assert custom.hourly_per_model_unit is None
    unknown_custom, unknown_base = evaluation.pricing_for(plans.plan() | {"baseModel": "vendor.unknown-v9"})
    assert unknown_base.input_per_1m_tokens is None and unknown_custom.hourly_per_model_unit is None


def test_provisioned_price_follows_the_commitment(monkeypatch: pytest.MonkeyPatch) -> None:
    def price(value: float) -> Price:
        return Price(value, "USD per MU-hour", "2026-01", "test")

    model = dataclasses.replace(
        get_model(plans.BASE_MODEL),
        prices=Prices(pt_no_commit_per_mu_hour=price(30.0), pt_six_month_per_mu_hour=price(18.0)),
    )
    monkeypatch.setattr(evaluation, "get_model", lambda _model_id: model)
    expected = {"none": 30.0, "OneMonth": None, "SixMonths": 18.0}
    for commitment, hourly in expected.items():
        custom, base = evaluation.pricing_for(plans.plan(commitment=commitment))
        assert custom.hourly_per_model_unit == hourly, commitment
        assert base.input_per_1m_tokens is None
