"""Cost estimates from catalog prices, and the approval decision for each throughput purchase."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline import catalog
from pipeline.catalog import CONTINUED_PRE_TRAINING, DISTILLATION, FINE_TUNING, get_model
from pipeline.costs import (
    EVALUATION_MAX_OUTPUT_TOKENS,
    EVALUATION_THROUGHPUT_HOURS,
    HOURS_PER_MONTH,
    PLANNING_INPUT_TOKENS_PER_PROMPT,
    approval_decision,
    epochs_for,
    evaluation_throughput_cost,
    on_demand_evaluation_cost,
    pt_commitment_cost,
    pt_hourly_cost,
    pt_monthly_cost,
    storage_monthly_cost,
    training_cost,
)
from pipeline.money import format_usd
from pipeline.runspec import RunSpec

EXPRESS = "amazon.titan-text-express-v1:0:8k"  # the one base with a known PT price: $20.50/MU-hour
NOVA_MICRO = "amazon.nova-micro-v1:0:128k"  # deploys on demand in us-east-1; PT price unknown
LLAMA_31 = "meta.llama3-1-8b-instruct-v1:0:128k"  # no on-demand deployment; no price known
BAR: dict[str, Any] = {"prompts": "s3://my-bucket/prompts.jsonl", "minQuality": 0.5}
ONE_MU: dict[str, Any] = {"mode": "provisioned", "modelUnits": 1}
TWO_MU: dict[str, Any] = {"mode": "provisioned", "modelUnits": 2}
MONTHLY_1_MU = 20.5 * HOURS_PER_MONTH  # $14,965


@pytest.fixture(autouse=True)
def _while_titan_was_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    # Titan Text Express left the customization guide on 2026-11-28 (catalog lifecycle); these
    # tests need its known prices, so they run on a day it was still offered.
    monkeypatch.setattr(catalog, "today_utc", lambda: dt.date(2026, 1, 5))


def spec(model: str = EXPRESS, **changes: Any) -> RunSpec:
    data: dict[str, Any] = {
        "name": "cost-run",
        "region": "us-east-1",
        "baseModel": model,
        "customizationType": "FINE_TUNING",
        "training": "s3://my-bucket/train.jsonl",
    }
    if model == LLAMA_31:
        data["region"] = "us-west-2"
    data.update(changes)
    if (data.get("serving") or {}).get("mode") == "provisioned":
        data.setdefault("evaluation", BAR)  # nothing is bought without a quality verdict
    return RunSpec.from_dict(data)


def test_training_cost_is_tokens_times_epochs_times_price_per_1k() -> None:
    cost = training_cost(get_model(EXPRESS), 2_000_000, 3)

    assert cost is not None
    assert cost.usd == pytest.approx(2_000_000 / 1000 * 3 * 0.008)
    assert cost.basis.startswith("2,000,000 tokens x 3 epochs x $0.008/1K tokens")
    assert cost.prices[0].as_of == "2024-04"


def test_unknown_training_price_or_epochs_is_none_not_zero() -> None:
    assert training_cost(get_model(LLAMA_31), 1_000, 2) is None
    assert training_cost(get_model(EXPRESS), 1_000, None) is None


def test_nova_micro_training_is_priced_and_cited_as_unconfirmed() -> None:
    # $0.001 per 1K tokens: a third party's Price List reading that AWS's text-to-SQL blog's worked
    # cost agrees with ($8.00 for 2,000 examples x 5 epochs at ~800 tokens each).
    cost = training_cost(get_model(NOVA_MICRO), 2_000 * 800, 5)

    assert cost is not None and cost.usd == pytest.approx(8.00)
    assert cost.basis.startswith("1,600,000 tokens x 5 epochs x $0.001/1K tokens (price as of 2026-08, [3P] ")
    assert cost.basis.endswith("; UNCONFIRMED)")


def test_per_image_prices_do_not_pretend_to_be_per_token() -> None:
    assert training_cost(get_model("amazon.titan-image-generator-v1:0"), 1_000, 2) is None


def test_provisioned_throughput_hourly_monthly_and_term() -> None:
    model = get_model(EXPRESS)

    hourly = pt_hourly_cost(model, 2)
    monthly = pt_monthly_cost(model, 2)

    assert hourly is not None and hourly.usd == pytest.approx(41.0)
    assert monthly is not None and monthly.usd == pytest.approx(41.0 * HOURS_PER_MONTH)
    assert "no commitment" in monthly.basis
    # no commitment has no term; commitment rates are unknown for every model in the catalog
    assert pt_commitment_cost(model, 2, "none") is None
    assert pt_monthly_cost(model, 2, "SixMonths") is None
    assert pt_commitment_cost(model, 2, "SixMonths") is None


def test_storage_cost() -> None:
    storage = storage_monthly_cost(get_model(EXPRESS))

    assert storage is not None and storage.usd == 1.95
    micro = storage_monthly_cost(get_model(NOVA_MICRO))
    assert micro is not None and micro.usd == 1.95 and "UNCONFIRMED" in micro.basis
    assert storage_monthly_cost(get_model(LLAMA_31)) is None


@pytest.mark.parametrize(
    ("model", "ctype", "values", "epochs"),
    [
        (EXPRESS, FINE_TUNING, {}, 5),
        (EXPRESS, CONTINUED_PRE_TRAINING, {"epochCount": "2"}, 2),
        (NOVA_MICRO, DISTILLATION, {}, None),
        ("amazon.titan-embed-image-v1:0", FINE_TUNING, {"epochCount": "Auto"}, None),
    ],
)
def test_epochs_for(model: str, ctype: str, values: dict[str, str], epochs: int | None) -> None:
    assert epochs_for(get_model(model), ctype, values) == epochs


def test_evaluation_throughput_is_one_unit_for_the_longest_it_can_live() -> None:
    cost = evaluation_throughput_cost(get_model(EXPRESS))

    # Released right after the comparison: at most the wait to come online (3 h) plus the
    # comparison (15 min), counted in whole hours
    assert EVALUATION_THROUGHPUT_HOURS == 4
    assert cost is not None
    assert cost.usd == pytest.approx(20.5 * EVALUATION_THROUGHPUT_HOURS) == pytest.approx(82.0)
    assert cost.basis.startswith(
        "at most 4 h (coming online: up to 3 h; the comparison: up to 15 min) x 1 MU x $20.5/MU-hour"
    )
    assert evaluation_throughput_cost(get_model(LLAMA_31)) is None


def test_on_demand_evaluation_is_both_models_at_the_base_rate() -> None:
    # Nova Micro: $0.035 input, $0.14 output per 1M tokens; 50 prompts planned at 500 tokens in
    # and at most 512 out, for the custom model and for the base
    cost = on_demand_evaluation_cost(get_model(NOVA_MICRO), 50)

    tokens_in, tokens_out = 50 * PLANNING_INPUT_TOKENS_PER_PROMPT, 50 * EVALUATION_MAX_OUTPUT_TOKENS
    assert cost is not None
    assert cost.usd == pytest.approx(2 * (tokens_in * 0.035 + tokens_out * 0.14) / 1_000_000)
    assert cost.usd == pytest.approx(0.008918)
    assert "2 models x (25,000 input tokens x $0.035/1M + at most 25,600 output tokens" in cost.basis
    measured = on_demand_evaluation_cost(get_model(NOVA_MICRO), 50, input_tokens=1_000)
    assert measured is not None
    assert measured.usd == pytest.approx(2 * (1_000 * 0.035 + tokens_out * 0.14) / 1_000_000)


def test_on_demand_evaluation_bills_the_deployment_at_its_own_rate() -> None:
    # Nova 2 Lite: the base in-Region at $0.33 / $2.75, a custom model's deployment at $0.30 / $2.50
    # per 1M tokens (Price List reading of 2026-08-02).
    cost = on_demand_evaluation_cost(get_model("amazon.nova-2-lite-v1:0:256k"), 10, input_tokens=5_000)

    tokens_out = 10 * EVALUATION_MAX_OUTPUT_TOKENS
    assert cost is not None
    assert cost.usd == pytest.approx(
        (5_000 * 0.33 + tokens_out * 2.75) / 1e6 + (5_000 * 0.30 + tokens_out * 2.50) / 1e6
    )
    assert (
        "on the base model at $0.33 / $2.75 per 1M and on the deployment at $0.3 / $2.5 per 1M" in cost.basis
    )
    assert "base: as of 2026-08-02" in cost.basis and "deployment: as of 2026-08-02" in cost.basis
    assert [p.value for p in cost.prices] == [0.33, 2.75, 0.30, 2.50]


def test_on_demand_evaluation_with_unknown_token_prices_is_none() -> None:
    assert on_demand_evaluation_cost(get_model(LLAMA_31), 50) is None
    assert on_demand_evaluation_cost(get_model(EXPRESS), 50) is None


# --------------------------------------------------------------------------------------------------
# Approval: one decision per purchase, asked where the workflow buys it
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "changes", "why"),
    [
        pytest.param(NOVA_MICRO, {}, "the model is not served", id="nothing-served"),
        pytest.param(
            NOVA_MICRO, {"evaluation": BAR}, "the model is not served", id="evaluated-on-a-deployment"
        ),
        pytest.param(
            NOVA_MICRO,
            {"serving": {"mode": "on-demand"}, "approval": {"policy": "always"}},
            "on-demand serving is billed per token",
            id="on-demand-serving-even-under-always",
        ),
    ],
)
def test_a_run_that_buys_no_throughput_needs_no_approval(
    model: str, changes: dict[str, Any], why: str
) -> None:
    decision = approval_decision(spec(model, **changes))

    assert not decision.required
    assert not decision.before_evaluation and not decision.before_serving
    assert decision.reason == f"the run buys no Provisioned Throughput ({why})"
    assert decision.monthly_cost is None


def test_without_an_approval_section_every_purchase_is_asked() -> None:
    decision = approval_decision(spec(NOVA_MICRO, serving=ONE_MU))

    assert decision.required and decision.policy == "always"
    assert "(the default when no approval is given)" in decision.reason
    # Evaluated on a deployment (nothing bought), so only the serving purchase is asked
    assert (decision.before_evaluation, decision.before_serving) == (False, True)


@pytest.mark.parametrize(
    ("model", "changes", "before_evaluation", "before_serving"),
    [
        pytest.param(NOVA_MICRO, {"serving": ONE_MU}, False, True, id="deployment-then-buy"),
        pytest.param(EXPRESS, {"evaluation": BAR}, True, False, id="evaluation-throughput-only"),
        pytest.param(
            EXPRESS, {"evaluation": BAR, "serving": ONE_MU}, True, False, id="evaluation-kept-to-serve"
        ),
        pytest.param(EXPRESS, {"evaluation": BAR, "serving": TWO_MU}, True, True, id="two-purchases"),
        pytest.param(LLAMA_31, {"evaluation": BAR}, True, False, id="unknown-price"),
    ],
)
def test_policy_always_asks_before_each_purchase(
    model: str, changes: dict[str, Any], before_evaluation: bool, before_serving: bool
) -> None:
    decision = approval_decision(spec(model, **changes, approval={"policy": "always"}))

    assert decision.required
    assert (decision.before_evaluation, decision.before_serving) == (before_evaluation, before_serving)
    assert decision.reason == "approval policy is 'always'"
    assert decision.to_dict()["beforeEvaluation"] is before_evaluation
    assert decision.to_dict()["beforeServing"] is before_serving


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"evaluation": BAR, "serving": TWO_MU}, id="known-price"),
        pytest.param({"evaluation": BAR, "serving": {**TWO_MU, "commitment": "none"}}, id="explicit-none"),
    ],
)
def test_policy_never_asks_for_nothing_without_a_commitment(changes: dict[str, Any]) -> None:
    decision = approval_decision(spec(**changes, approval={"policy": "never"}))

    assert not decision.required
    assert not decision.before_evaluation and not decision.before_serving
    assert decision.reason == "approval policy is 'never'"


def test_policy_never_with_unknown_prices_still_asks_for_nothing() -> None:
    decision = approval_decision(spec(LLAMA_31, evaluation=BAR, serving=TWO_MU, approval={"policy": "never"}))

    assert not decision.required


@pytest.mark.parametrize(
    ("threshold", "before_evaluation", "before_serving"),
    [
        # 1 MU to evaluate, released after the comparison: $82 for its at most 4 h; 2 MU to serve:
        # $29,930/month
        pytest.param(40_000, False, False, id="both-within"),
        pytest.param(20_000, False, True, id="only-serving-above"),
        pytest.param(80, True, True, id="both-above"),
    ],
)
def test_above_cost_compares_each_purchase_with_the_threshold(
    threshold: float, before_evaluation: bool, before_serving: bool
) -> None:
    decision = approval_decision(
        spec(
            evaluation=BAR,
            serving=TWO_MU,
            approval={"policy": "above-cost", "monthlyCostThreshold": threshold},
        )
    )

    assert (decision.before_evaluation, decision.before_serving) == (before_evaluation, before_serving)
    assert decision.required is (before_evaluation or before_serving)
    # The serving purchase is the one shown: it is the larger, later decision
    assert decision.monthly_cost is not None and decision.monthly_cost.usd == pytest.approx(2 * MONTHLY_1_MU)
    assert decision.to_dict()["monthlyCost"]["usd"] == pytest.approx(29_930.0)
    word = "exceeds" if before_serving else "is within"
    assert (
        f"2 MU of throughput to serve with (no commitment): estimated $29,930.00/month {word}"
        in decision.reason
    )
    word = "exceeds" if before_evaluation else "is within"
    # The evaluation throughput is compared at what it adds to the month: the longest it can live.
    assert (
        "1 MU of no-commitment throughput to evaluate on (released right after the comparison): estimated "
        f"$82.00 for at most 4 h (coming online: up to 3 h; the comparison: up to 15 min) {word}"
        in decision.reason
    )


def test_above_cost_with_an_evaluation_throughput_kept_for_serving_is_one_purchase() -> None:
    decision = approval_decision(
        spec(
            evaluation=BAR, serving=ONE_MU, approval={"policy": "above-cost", "monthlyCostThreshold": 10_000}
        )
    )

    assert (decision.before_evaluation, decision.before_serving) == (True, False)
    assert "(kept for serving if the model passes)" in decision.reason
    assert decision.monthly_cost is not None and decision.monthly_cost.usd == pytest.approx(MONTHLY_1_MU)


def test_above_cost_with_an_unknown_serving_price_requires_approval_before_serving() -> None:
    decision = approval_decision(
        spec(
            NOVA_MICRO,
            serving=ONE_MU,
            approval={"policy": "above-cost", "monthlyCostThreshold": 1_000_000},
        )
    )

    assert decision.required
    assert (decision.before_evaluation, decision.before_serving) == (False, True)
    assert decision.monthly_cost is None
    assert decision.reason == (
        "the Provisioned Throughput price of amazon.nova-micro-v1:0:128k (no commitment) is unknown, "
        "so the cost threshold cannot be shown to hold"
    )


def test_above_cost_with_an_unknown_evaluation_price_requires_approval_before_evaluation() -> None:
    decision = approval_decision(
        spec(LLAMA_31, evaluation=BAR, approval={"policy": "above-cost", "monthlyCostThreshold": 1_000_000})
    )

    assert (decision.before_evaluation, decision.before_serving) == (True, False)
    assert "meta.llama3-1-8b-instruct-v1:0:128k (no commitment) is unknown" in decision.reason


def test_above_cost_with_an_unknown_commitment_price_asks_only_for_the_commitment() -> None:
    # The no-commitment evaluation price is known and within; the SixMonths rate is not in the catalog
    decision = approval_decision(
        spec(
            evaluation=BAR,
            serving={**ONE_MU, "commitment": "SixMonths"},
            approval={"policy": "above-cost", "monthlyCostThreshold": 20_000},
        )
    )

    assert (decision.before_evaluation, decision.before_serving) == (False, True)
    assert "(SixMonths commitment) is unknown" in decision.reason
    assert decision.monthly_cost is None


def test_format_usd_shows_sub_cent_amounts() -> None:
    assert format_usd(0.0012) == "$0.0012"
    assert format_usd(1234.5) == "$1,234.50"
    assert format_usd(0) == "$0.00"


# --------------------------------------------------------------------------------------------------
# The prices AWS publishes for the Nova family, in the catalog with their sources (issue 21)
# --------------------------------------------------------------------------------------------------

NOVA_2_LITE = "amazon.nova-2-lite-v1:0:256k"


@pytest.mark.parametrize(
    ("model_id", "field", "value", "as_of"),
    [
        (NOVA_MICRO, "training", 0.001, "2026-08"),
        (NOVA_MICRO, "storage_per_month", 1.95, "2026-08-02"),
        (NOVA_MICRO, "on_demand_input_per_1m_tokens", 0.035, "2026-09-01"),
        (NOVA_MICRO, "on_demand_output_per_1m_tokens", 0.14, "2026-09-01"),
        (NOVA_MICRO, "deployment_input_per_1m_tokens", 0.035, "2026-04-16"),
        (NOVA_MICRO, "deployment_output_per_1m_tokens", 0.14, "2026-04-16"),
        ("amazon.nova-lite-v1:0:300k", "storage_per_month", 1.95, "2025-05-05"),
        ("amazon.nova-lite-v1:0:300k", "pt_no_commit_per_mu_hour", 108.15, "2025-05-05"),
        ("amazon.nova-lite-v1:0:300k", "on_demand_input_per_1m_tokens", 0.06, "2026-09-01"),
        ("amazon.nova-lite-v1:0:300k", "deployment_output_per_1m_tokens", 0.24, "2026-08-20"),
        ("amazon.nova-pro-v1:0:300k", "on_demand_output_per_1m_tokens", 3.20, "2026-09-01"),
        ("amazon.nova-pro-v1:0:300k", "deployment_input_per_1m_tokens", 0.80, "2026-09-01"),
        (NOVA_2_LITE, "training", 0.00378, "2026-08-02"),
        (NOVA_2_LITE, "storage_per_month", 1.95, "2026-08-02"),
        (NOVA_2_LITE, "pt_no_commit_per_mu_hour", 60.50, "2026-08-02"),
        (NOVA_2_LITE, "pt_one_month_per_mu_hour", 55.00, "2026-08-02"),
        (NOVA_2_LITE, "on_demand_input_per_1m_tokens", 0.33, "2026-08-02"),
        (NOVA_2_LITE, "deployment_output_per_1m_tokens", 2.50, "2026-08-02"),
    ],
)
def test_nova_prices_carry_their_value_date_and_source(
    model_id: str, field: str, value: float, as_of: str
) -> None:
    price = getattr(get_model(model_id).prices, field)

    assert price is not None
    assert (price.value, price.as_of) == (value, as_of)
    assert price.source and price.unconfirmed  # none is AWS's own published page: each says why


def test_nova_prices_no_source_gives_stay_unknown_with_what_was_searched() -> None:
    for model_id, field in (
        (NOVA_MICRO, "pt_no_commit_per_mu_hour"),
        ("amazon.nova-lite-v1:0:300k", "training"),
        ("amazon.nova-pro-v1:0:300k", "training"),
        (NOVA_2_LITE, "pt_six_month_per_mu_hour"),
    ):
        model = get_model(model_id)
        assert getattr(model.prices, field) is None
        unknown = getattr(model.entry.prices, field)
        assert "searched" in unknown.reason and unknown.checked == "2026-12-07", (model_id, field)


def test_the_judge_is_priced_from_its_model_entry() -> None:
    judge = catalog.judge_of("us.amazon.nova-pro-v1:0")
    nova_pro = get_model("amazon.nova-pro-v1:0:300k")

    assert judge is not None
    assert judge.prices.on_demand_input_per_1m_tokens is nova_pro.prices.on_demand_input_per_1m_tokens
    assert judge.lifecycle is nova_pro.lifecycle


def test_estimate_offline_prices_nova_micro_training_and_storage_with_sources(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pipeline import cli

    example = Path(__file__).resolve().parents[2] / "examples" / "runs" / "fine-tuning.yaml"

    assert cli.main(["estimate", str(example), "--offline", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert cli.main(["estimate", str(example), "--offline"]) == 0
    text = capsys.readouterr().out

    assert doc["priceSource"]["status"] == "catalog"
    assert doc["trainingUsd"] > 0 and doc["storageMonthlyUsd"] == 1.95
    assert "training" not in doc["unknown"] and "storage" not in doc["unknown"]
    assert (
        "$0.001/1K tokens (price as of 2026-08, [3P] Price List reading in bedrock.md"
        in doc["basis"]["training"]
    )
    assert "(as of 2026-08-02, [3P] the fee every source bills" in doc["basis"]["storageMonthly"]
    assert re.search(r"Training\s+\$0\.0\d+ ", text)
    assert re.search(r"Custom model storage\s+\$1\.95/month", text)
    assert "UNCONFIRMED" in text
