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


@pytest.mark.parametrize(
    "code",
    ["ValidationException", "ModelErrorException", "AccessDeniedException", "ResourceNotFoundException"],
)
def test_prompt_and_model_errors_are_answers_with_an_error(code: str) -> None:
    converse = FakeConverse({"m": [error(code)]})
    answer = ask(converse, "m", "hi", sleep=lambda _: None)
    assert answer.error is not None and answer.error.startswith(f"{code}: ")
    assert answer.text == "" and answer.attempts == 1
    assert len(converse.calls) == 1  # not retried


def test_other_errors_escape() -> None:
    with pytest.raises(ClientError, match="UnrecognizedClientException"):
        ask(FakeConverse({"m": [error("UnrecognizedClientException")]}), "m", "hi", sleep=lambda _: None)


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


def _priced(monkeypatch: pytest.MonkeyPatch) -> None:
    def price(value: float) -> Price:
        return Price(value, "USD per MU-hour", "2026-01", "test")

    model = dataclasses.replace(
        get_model(plans.BASE_MODEL),
        prices=Prices(pt_no_commit_per_mu_hour=price(30.0), pt_six_month_per_mu_hour=price(18.0)),
    )
    monkeypatch.setattr(evaluation, "get_model", lambda _model_id: model)


def test_provisioned_price_follows_the_commitment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A plan whose vehicle is no throughput: the serving purchase is what the custom model ran on
    _priced(monkeypatch)
    expected = {"none": 30.0, "OneMonth": None, "SixMonths": 18.0}
    for commitment, hourly in expected.items():
        custom, base = evaluation.pricing_for(plans.plan(commitment=commitment))
        assert custom.hourly_per_model_unit == hourly, commitment
        assert base.input_per_1m_tokens is None


def test_the_evaluation_throughput_is_priced_as_one_unit_without_commitment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Served on a SixMonths commitment later, but evaluated on the 1-MU no-commitment vehicle
    _priced(monkeypatch)
    plan = plans.plan(vehicle="throughput", commitment="SixMonths", model_units=3)
    custom, _base = evaluation.pricing_for(plan, "throughput")
    assert custom.kind == "provisioned"
    assert custom.model_units == 1
    assert custom.hourly_per_model_unit == 30.0


def test_on_a_deployment_the_custom_model_is_priced_per_token_at_the_base_rate() -> None:
    custom, base = evaluation.pricing_for(plans.plan(), "deployment")
    assert custom.kind == base.kind == "on-demand"
    assert (custom.input_per_1m_tokens, custom.output_per_1m_tokens) == (0.035, 0.14)
    assert custom.hourly_per_model_unit is None
    assert custom.source.startswith("custom model deployment at the base model's on-demand rate: ")
    unknown, _ = evaluation.pricing_for(plans.plan() | {"baseModel": "vendor.unknown-v9"}, "deployment")
    assert unknown.input_per_1m_tokens is None and unknown.output_per_1m_tokens is None


# --------------------------------------------------------------------------------------------------
# Not judged: a comparison whose calls failed compares nothing
# --------------------------------------------------------------------------------------------------


def run(converse: FakeConverse, count: int, **kwargs: Any) -> evaluation.EvaluationResult:
    return evaluate(
        plans.plan(),
        prompt_set(count),
        custom_model_id=plans.DEPLOYMENT_ARN,
        converse=converse,
        vehicle="deployment",
        sleep=lambda _: None,
        **kwargs,
    )


def test_a_base_model_that_refuses_every_call_is_not_judged_even_when_the_custom_model_scores_high() -> None:
    # Given the base id is refused (say it needs an inference profile); 5 AccessDenied are scripted
    converse = FakeConverse(
        {
            plans.DEPLOYMENT_ARN: [reply(f"answer number {n}") for n in range(5)],
            plans.BASE_INVOKE_ID: [error("AccessDeniedException")] * 5,
        }
    )
    # When
    result = run(converse, 5)
    # Then the custom model's answers "improve" on nothing: no prompt was answered by both models, so
    # there is no mean to compare, and the gate fails as not judged
    assert result.custom["quality"] is None and result.custom["answered"] == 5
    assert result.custom["paired"] == result.base["paired"] == 0
    assert result.base["errors"] == 5
    assert result.verdict == "not-judged"
    assert result.judged is False
    assert result.passed is False
    assert result.summary.startswith(
        f"Not judged (EvaluationNotJudged): 5 of 5 calls to the base model ({plans.BASE_INVOKE_ID}) "
        "failed (100% > 10% allowed), so the scores compare nothing."
    )
    assert "inference profile" in result.summary
    # And the base model was not asked again after three refusals in a row
    assert [c["modelId"] for c in converse.calls].count(plans.BASE_INVOKE_ID) == 3
    assert len(converse.script[plans.BASE_INVOKE_ID]) == 2  # the last two refusals were never asked for
    assert result.rows[3]["base"]["error"] == "AccessDeniedException: not asked, every recent call failed"
    assert result.rows[3]["base"]["attempts"] == 0
    document = result.to_dict()
    assert (document["judged"], document["passed"], document["maxFailedShare"]) == (False, False, 0.1)


def test_a_missing_custom_model_is_given_up_on_after_three_errors() -> None:
    converse = FakeConverse(
        {
            plans.DEPLOYMENT_ARN: [error("ResourceNotFoundException")] * 3,
            plans.BASE_INVOKE_ID: [reply("no idea")] * 6,
        }
    )
    result = run(converse, 6)
    assert result.custom["errors"] == 6
    assert [c["modelId"] for c in converse.calls].count(plans.DEPLOYMENT_ARN) == 3
    assert not result.judged
    assert f"6 of 6 calls to the custom model ({plans.DEPLOYMENT_ARN}) failed" in result.summary


def test_model_errors_that_are_not_in_a_row_do_not_stop_the_asking() -> None:
    # AccessDenied, an answer, then two AccessDenied: never three in a row, so every prompt is asked
    base = [error("AccessDeniedException"), reply("no idea"), error("AccessDeniedException")]
    base += [error("AccessDeniedException"), reply("no idea")]
    converse = FakeConverse(
        {plans.DEPLOYMENT_ARN: [reply("answer number 0")] * 5, plans.BASE_INVOKE_ID: base}
    )
    result = run(converse, 5)
    assert [c["modelId"] for c in converse.calls].count(plans.BASE_INVOKE_ID) == 5
    assert result.base["errors"] == 3


def test_three_different_model_errors_in_a_row_do_not_stop_the_asking() -> None:
    base = [
        error("AccessDeniedException"),
        error("ResourceNotFoundException"),
        error("AccessDeniedException"),
    ]
    converse = FakeConverse(
        {
            plans.DEPLOYMENT_ARN: [reply("answer number 0")] * 4,
            plans.BASE_INVOKE_ID: [*base, reply("no idea")],
        }
    )
    run(converse, 4)
    assert [c["modelId"] for c in converse.calls].count(plans.BASE_INVOKE_ID) == 4


def test_custom_errors_above_a_tenth_of_the_prompts_are_not_judged() -> None:
    # 2 of 10 prompts rejected (20%): the scores of the other 8 prove nothing
    custom = [error("ValidationException")] * 2 + [reply(f"answer number {n}") for n in range(2, 10)]
    converse = FakeConverse({plans.DEPLOYMENT_ARN: custom, plans.BASE_INVOKE_ID: [reply("no idea")] * 10})
    result = run(converse, 10)
    assert result.judged is False and result.passed is False
    assert "2 of 10 calls to the custom model" in result.summary
    assert "(20% > 10% allowed)" in result.summary
    assert len(converse.calls) == 20  # prompt errors do not stop the asking


def test_exactly_a_tenth_of_the_calls_failing_is_still_judged() -> None:
    custom = [error("ValidationException")] + [reply(f"answer number {n}") for n in range(1, 10)]
    converse = FakeConverse({plans.DEPLOYMENT_ARN: custom, plans.BASE_INVOKE_ID: [reply("no idea")] * 10})
    result = run(converse, 10)
    assert evaluation.failed_share(result.custom) == pytest.approx(evaluation.MAX_FAILED_SHARE)
    assert result.judged is True
    assert result.passed is True
    # The failed prompt is left out of both models' means (paired), not scored 0
    assert result.custom["quality"] == pytest.approx(1.0)
    assert result.custom["paired"] == result.base["paired"] == 9
    assert (
        "calls that failed: the custom model 1; the means are over the 9 prompt(s) both models answered"
        in result.summary
    )
    assert "Not judged" not in result.summary


def test_not_judged_reasons_name_each_model_over_the_share() -> None:
    custom = {"modelId": "c", "prompts": 10, "errors": 2}
    base = {"modelId": "b", "prompts": 10, "errors": 5}
    reasons = evaluation.not_judged_reasons(custom, base)
    assert reasons == [
        "2 of 10 calls to the custom model (c) failed (20% > 10% allowed)",
        "5 of 10 calls to the base model (b) failed (50% > 10% allowed)",
    ]
    assert evaluation.not_judged_reasons(custom | {"errors": 1}, base | {"errors": 0}) == []
    assert evaluation.failed_share({"prompts": 0, "errors": 0}) == 0.0


def test_the_result_says_which_vehicle_the_custom_model_ran_on() -> None:
    converse = FakeConverse(
        {plans.DEPLOYMENT_ARN: [reply("answer number 0")], plans.BASE_INVOKE_ID: [reply("no idea")]}
    )
    result = run(converse, 1)
    assert result.vehicle == "deployment"
    assert result.to_dict()["vehicle"] == "deployment"
    assert result.custom["pricing"]["kind"] == "on-demand"
    empty = evaluate(
        plans.plan(),
        PromptSet(uri=plans.PROMPTS_URI, kind=evaluation.PROMPTS),
        custom_model_id=plans.DEPLOYMENT_ARN,
        converse=FakeConverse({}),
        vehicle="deployment",
    )
    assert empty.vehicle == "deployment"


# --------------------------------------------------------------------------------------------------
# Smoke check: what will serve answers at all
# --------------------------------------------------------------------------------------------------


def test_smoke_check_passes_when_every_prompt_gets_an_answer() -> None:
    converse = FakeConverse({plans.PT_ARN: [reply("fine"), reply("sure")]})
    result = evaluation.smoke_check(
        prompt_set(5), model_id=plans.PT_ARN, converse=converse, count=2, sleep=lambda _: None
    )
    assert result.passed is True
    assert result.summary == f"Smoke check passed on {plans.PT_ARN}: 2 prompt(s) answered."
    assert [c["messages"][0]["content"][0]["text"] for c in converse.calls] == ["q0", "q1"]
    assert converse.calls[0]["inferenceConfig"] == {"maxTokens": 64, "temperature": 0}
    assert result.to_dict()["answers"][0]["prompt"] == "q0"
    assert result.to_dict()["modelId"] == plans.PT_ARN


def test_smoke_check_fails_on_an_error_or_an_empty_answer() -> None:
    converse = FakeConverse({plans.PT_ARN: [reply("fine"), reply("   "), error("ModelErrorException")]})
    result = evaluation.smoke_check(
        prompt_set(3), model_id=plans.PT_ARN, converse=converse, count=3, sleep=lambda _: None
    )
    assert result.passed is False
    assert result.summary.startswith(
        f"Smoke check failed on {plans.PT_ARN}: 2 of 3 prompt(s) got no answer ("
    )
    assert "empty answer" in result.summary and "ModelErrorException" in result.summary


def test_smoke_check_without_prompts_asks_the_fallback_prompt() -> None:
    converse = FakeConverse({plans.DEPLOYMENT_ARN: [reply("ready")]})
    result = evaluation.smoke_check(
        PromptSet(uri=None, kind=evaluation.PROMPTS),
        model_id=plans.DEPLOYMENT_ARN,
        converse=converse,
        count=3,
        sleep=lambda _: None,
    )
    assert result.passed is True
    assert converse.calls[0]["messages"][0]["content"][0]["text"] == evaluation.SMOKE_FALLBACK_PROMPT


def test_smoke_check_asks_at_least_one_prompt() -> None:
    converse = FakeConverse({plans.PT_ARN: [reply("ok")]})
    result = evaluation.smoke_check(
        prompt_set(3), model_id=plans.PT_ARN, converse=converse, count=0, sleep=lambda _: None
    )
    assert result.passed and len(converse.calls) == 1
    assert converse.calls[0]["messages"][0]["content"][0]["text"] == "q0"  # a real prompt, not the fallback


# --------------------------------------------------------------------------------------------------
# A serving slot's champion, compared on the same prompts
# --------------------------------------------------------------------------------------------------

CHAMPION = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/slot0champ01"


def _with_champion_bar(minimum: float) -> dict[str, Any]:
    plan = plans.plan()
    plan["evaluation"] = {**plan["evaluation"], "minImprovementOverChampion": minimum}
    return plan


@pytest.mark.parametrize(("champion_words", "passed"), [(1, True), (3, False)])
def test_a_challenger_must_be_at_least_as_good_as_the_champion(champion_words: int, passed: bool) -> None:
    # Given references of three words ("answer number N"): the custom model answers two of them, the
    # base model none, and the champion fewer (1) or more (3)
    count = 4
    items = prompt_set(count).prompts

    def partial(words: int) -> list[dict[str, Any]]:
        return [reply(" ".join(item.reference.split()[:words])) for item in items]

    converse = FakeConverse(
        {
            plans.DEPLOYMENT_ARN: partial(2),
            plans.BASE_INVOKE_ID: [reply("no idea")] * count,
            CHAMPION: partial(champion_words),
        }
    )
    # When all three are compared on the same prompts with "not worse than the champion"
    result = evaluate(
        _with_champion_bar(0.0),
        prompt_set(count),
        custom_model_id=plans.DEPLOYMENT_ARN,
        converse=converse,
        vehicle="deployment",
        champion_model_id=CHAMPION,
        sleep=lambda _: None,
    )
    # Then the champion's numbers are beside the others, and the bar decides on it
    assert result.champion is not None and result.champion["modelId"] == CHAMPION
    assert result.champion["paired"] == result.custom["paired"] == count
    assert "improvement over the champion" in result.summary
    assert result.passed is passed
    assert result.to_dict()["champion"]["prompts"] == count
    assert result.to_dict()["bar"]["minImprovementOverChampion"] == 0.0
    assert all("champion" in row for row in result.rows)


def test_a_champion_that_cannot_be_called_makes_the_comparison_not_judged() -> None:
    converse = FakeConverse(
        {
            plans.DEPLOYMENT_ARN: [reply("answer")] * 5,
            plans.BASE_INVOKE_ID: [reply("answer")] * 5,
            CHAMPION: [error("AccessDeniedException")] * 3,
        }
    )
    result = evaluate(
        _with_champion_bar(0.0),
        prompt_set(5),
        custom_model_id=plans.DEPLOYMENT_ARN,
        converse=converse,
        vehicle="deployment",
        champion_model_id=CHAMPION,
        sleep=lambda _: None,
    )
    assert result.judged is False and result.verdict == "not-judged"
    assert "calls to the champion model" in result.summary
