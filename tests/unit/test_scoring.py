"""pipeline.scoring: known values for every metric, percentile and cost, and the stage-2 gate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import scoring
from pipeline.scoring import Observation, Pricing, QualityBar, decide_quality


def test_normalization_folds_case_width_and_punctuation() -> None:
    assert scoring.normalize("  Hello, WORLD!!  It's\t\uff21\uff22\uff23 ") == "hello world it s abc"
    assert scoring.tokens("Reset — your password (now).") == ["reset", "your", "password", "now"]


def test_han_kana_and_hangul_count_one_character_per_token() -> None:
    assert scoring.tokens("パスワードを変更") == ["パ", "ス", "ワ", "ー", "ド", "を", "変", "更"]
    assert scoring.tokens("abc 中文 def") == ["abc", "中", "文", "def"]


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("the cat sat", "the cat sat", 1.0),
        ("The cat sat.", "the cat sat", 1.0),
        # 2 shared words; precision 2/3, recall 2/4 -> 2PR/(P+R) = 4/7
        ("the cat ran", "the cat sat down", 4 / 7),
        # Repeats count once per occurrence on both sides: overlap 1, P 1/3, R 1 -> 1/2
        ("cat cat cat", "cat", 0.5),
        ("dog", "cat", 0.0),
        ("", "", 1.0),
        ("", "cat", 0.0),
    ],
)
def test_token_f1_known_values(prediction: str, reference: str, expected: float) -> None:
    assert scoring.token_f1(prediction, reference) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("police killed the gunman", "police killed the gunman", 1.0),
        # The classic ROUGE-L example: LCS "police the gunman" = 3 of 4 words each way -> 0.75
        ("police kill the gunman", "police killed the gunman", 0.75),
        # Same words, other order: LCS 2 ("the gunman") -> P = R = 2/4 -> 0.5 (token F1 would say 1.0)
        ("the gunman police killed", "police killed the gunman", 0.5),
        # LCS 2 of prediction 2 and reference 7 -> P 1, R 2/7 -> 4/9
        ("Open Settings.", "Open Settings, choose Security, then Reset password.", 4 / 9),
        ("", "", 1.0),
        ("words", "", 0.0),
    ],
)
def test_rouge_l_known_values(prediction: str, reference: str, expected: float) -> None:
    assert scoring.rouge_l(prediction, reference) == pytest.approx(expected)


def test_lcs_length() -> None:
    assert scoring.lcs_length(list("ABCBDAB"), list("BDCABA")) == 4
    assert scoring.lcs_length([], ["a"]) == 0


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([15, 20, 35, 40, 50], 5, 15),
        ([15, 20, 35, 40, 50], 30, 20),
        ([15, 20, 35, 40, 50], 40, 20),
        ([15, 20, 35, 40, 50], 50, 35),
        ([15, 20, 35, 40, 50], 100, 50),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 25, 7),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 50, 8),
        ([3, 6, 7, 8, 8, 10, 13, 15, 16, 20], 95, 20),
        ([42], 95, 42),
        ([], 50, None),
    ],
)
def test_nearest_rank_percentiles(values: list[float], p: float, expected: float | None) -> None:
    assert scoring.percentile(values, p) == expected


def test_percentile_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="0-100"):
        scoring.percentile([1.0], 101)


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1), st.floats(0, 100))
def test_a_percentile_is_always_an_observed_value_and_monotonic(values: list[float], p: float) -> None:
    result = scoring.percentile(values, p)
    assert result in values
    assert result <= (scoring.percentile(values, min(100.0, p + 10)) or 0)


@given(st.text(max_size=40), st.text(max_size=40))
def test_scores_are_symmetric_bounded_and_deterministic(a: str, b: str) -> None:
    for metric in (scoring.token_f1, scoring.rouge_l):
        assert 0.0 <= metric(a, b) <= 1.0
        assert metric(a, b) == pytest.approx(metric(b, a))
        assert metric(a, b) == metric(a, b)
    assert scoring.rouge_l(a, a) == 1.0


def test_on_demand_cost_per_1000_requests() -> None:
    # 500 in at $0.035/1M + 100 out at $0.14/1M = $0.0000315 per request -> $0.0315 per 1,000
    assert scoring.on_demand_cost_per_1000(500, 100, 0.035, 0.14) == pytest.approx(0.0315)
    assert scoring.on_demand_cost_per_1000(500, 100, None, 0.14) is None


def test_provisioned_cost_per_1000_requests_at_full_sequential_utilization() -> None:
    # 1,000 requests of 1.8 s = 0.5 h busy; 2 MU at $20/MU-hour -> $20
    assert scoring.provisioned_cost_per_1000(20.0, 2, 1800) == pytest.approx(20.0)
    assert scoring.provisioned_cost_per_1000(None, 2, 1800) is None
    assert scoring.provisioned_cost_per_1000(20.0, 2, None) is None


def test_aggregate_leaves_failed_calls_out_of_every_mean_and_counts_them() -> None:
    observations = [
        Observation(quality=1.0, token_f1=1.0, latency_ms=100, input_tokens=10, output_tokens=5),
        Observation(quality=0.5, token_f1=0.6, latency_ms=300, input_tokens=30, output_tokens=15),
        Observation.failed("ValidationException: too long"),
    ]
    agg = scoring.aggregate(
        "m", observations, Pricing("on-demand", input_per_1m_tokens=1.0, output_per_1m_tokens=2.0)
    )
    assert agg["quality"] == 0.75
    assert agg["tokenF1"] == pytest.approx(0.8)
    assert (agg["prompts"], agg["answered"], agg["errors"], agg["paired"]) == (3, 2, 1, 2)
    assert agg["latencyMs"] == {"p50": 100, "p95": 300, "mean": 200.0}
    assert agg["inputTokens"] == {"mean": 20.0, "total": 40}
    # (20 * $1 + 10 * $2) / 1M * 1,000
    assert agg["costPer1000RequestsUsd"] == pytest.approx(0.04)


def test_a_base_model_that_fails_some_prompts_hands_the_custom_model_no_free_improvement() -> None:
    # Given: both models answer the same way, but the base model fails one prompt in ten
    good = Observation(quality=0.6, token_f1=0.6, latency_ms=200, input_tokens=10, output_tokens=10)
    custom = [good] * 10
    base = [good] * 9 + [Observation.failed("ModelErrorException: the model failed")]
    pricing = Pricing("on-demand")

    # When: both are aggregated over the prompts both answered
    counted = scoring.paired({"custom": custom, "base": base})
    custom_agg = scoring.aggregate("custom", custom, pricing, counted)
    base_agg = scoring.aggregate("base", base, pricing, counted)

    # Then: the same quality (no +0.06 "improvement" from the base model's failure), errors reported
    assert counted == [True] * 9 + [False]
    assert custom_agg["quality"] == base_agg["quality"] == 0.6
    assert (custom_agg["paired"], base_agg["paired"]) == (9, 9)
    assert (custom_agg["errors"], base_agg["errors"]) == (0, 1)
    assert base_agg["answered"] == 9


def test_answered_is_one_rule_for_observations_and_comparison_rows() -> None:
    assert scoring.answered(Observation(quality=0.0, token_f1=0.0))  # an empty or bad answer is an answer
    assert not scoring.answered(Observation.failed("ThrottlingException: slow down"))
    row = {"custom": {"text": "", "error": None}, "base": {"text": "x", "error": "ModelErrorException: no"}}
    assert scoring.answered(row["custom"]) and not scoring.answered(row["base"])
    assert not scoring.answered_by_all(row, ("custom", "base"))
    assert scoring.answered_by_all(row, ("custom",))
    assert not scoring.answered(None)


def test_aggregate_of_nothing_is_unknown_not_zero() -> None:
    agg = scoring.aggregate("m", [], Pricing("provisioned", hourly_per_model_unit=20.0, model_units=1))
    assert agg["quality"] is None
    assert agg["costPer1000RequestsUsd"] is None
    assert agg["latencyMs"]["p50"] is None


def test_quality_gate() -> None:
    bar = QualityBar(min_quality=0.5, min_improvement_over_base=0.05)
    assert decide_quality(bar, 0.62, 0.48) == (
        True,
        "Custom model meets the bar (rougeL): custom model quality 0.620 meets the minimum 0.500; "
        "improvement over the base model +0.140 (0.620 vs 0.480) meets the minimum +0.050.",
    )
    passed, summary = decide_quality(bar, 0.45, 0.48)
    assert passed is False
    assert summary.startswith(
        "Custom model below the bar (rougeL): custom model quality 0.450 is below the minimum 0.500; "
        "improvement over the base model -0.030 (0.450 vs 0.480) is below the minimum +0.050"
    )


def test_equal_to_base_meets_a_zero_improvement_bar() -> None:
    assert decide_quality(QualityBar(min_improvement_over_base=0.0), 0.4, 0.4)[0] is True
    # A difference far below the shown precision does not decide the gate either way.
    assert decide_quality(QualityBar(min_improvement_over_base=0.0), 0.1 + 0.2, 0.3)[0] is True


def test_unknown_quality_fails_a_set_bar_and_passes_no_bar() -> None:
    assert decide_quality(QualityBar(min_quality=0.1), None, 0.3)[0] is False
    assert decide_quality(QualityBar(min_improvement_over_base=0.0), 0.5, None)[0] is False
    assert decide_quality(QualityBar(), None, None) == (
        True,
        "Custom model meets the bar (rougeL): no quality bar set (custom unknown, base unknown).",
    )


def test_bar_from_the_plan() -> None:
    assert QualityBar.from_plan({"minQuality": None, "minImprovementOverBase": 0}) == QualityBar(None, 0.0)
    assert not QualityBar.from_plan(None).is_set
