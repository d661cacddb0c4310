"""Cost estimates from catalog prices, and the throughput approval decision."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.catalog import CONTINUED_PRE_TRAINING, DISTILLATION, FINE_TUNING, get_model
from pipeline.costs import (
    HOURS_PER_MONTH,
    approval_decision,
    epochs_for,
    format_usd,
    pt_commitment_cost,
    pt_hourly_cost,
    pt_monthly_cost,
    storage_monthly_cost,
    training_cost,
)
from pipeline.runspec import RunSpec

EXPRESS = "amazon.titan-text-express-v1:0:8k"
NOVA_MICRO = "amazon.nova-micro-v1:0:128k"


def spec(model: str = EXPRESS, **changes: Any) -> RunSpec:
    data: dict[str, Any] = {
        "name": "cost-run",
        "region": "us-east-1",
        "baseModel": model,
        "customizationType": "FINE_TUNING",
        "training": "s3://my-bucket/train.jsonl",
    }
    data.update(changes)
    return RunSpec.from_dict(data)


def test_training_cost_is_tokens_times_epochs_times_price_per_1k() -> None:
    cost = training_cost(get_model(EXPRESS), 2_000_000, 3)

    assert cost is not None
    assert cost.usd == pytest.approx(2_000_000 / 1000 * 3 * 0.008)
    assert cost.basis.startswith("2,000,000 tokens x 3 epochs x $0.008/1K tokens")
    assert cost.prices[0].as_of == "2024-04"


def test_unknown_training_price_or_epochs_is_none_not_zero() -> None:
    assert training_cost(get_model(NOVA_MICRO), 1_000, 2) is None
    assert training_cost(get_model(EXPRESS), 1_000, None) is None


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
    assert storage_monthly_cost(get_model(NOVA_MICRO)) is None


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


def test_no_throughput_needs_no_approval() -> None:
    decision = approval_decision(spec())

    assert not decision.required
    assert "no Provisioned Throughput" in decision.reason


def test_throughput_without_approval_section_defaults_to_always() -> None:
    decision = approval_decision(spec(throughput={"modelUnits": 1}))

    assert decision.required and decision.policy == "always"
    assert "default" in decision.reason


def test_never_policy_for_no_commitment() -> None:
    assert not approval_decision(spec(throughput={"modelUnits": 1}, approval={"policy": "never"})).required


def test_above_cost_with_an_unknown_price_requires_approval() -> None:
    decision = approval_decision(
        spec(
            NOVA_MICRO,
            throughput={"modelUnits": 1},
            approval={"policy": "above-cost", "monthlyCostThreshold": 1_000_000},
        )
    )

    assert decision.required
    assert decision.monthly_cost is None
    assert "unknown" in decision.reason


@pytest.mark.parametrize(("threshold", "required"), [(20_000, False), (10_000, True)])
def test_above_cost_compares_the_monthly_estimate(threshold: float, required: bool) -> None:
    # Titan Text Express: $20.50/MU-hour x 730 h = $14,965 a month
    decision = approval_decision(
        spec(
            throughput={"modelUnits": 1}, approval={"policy": "above-cost", "monthlyCostThreshold": threshold}
        )
    )

    assert decision.required is required
    assert decision.monthly_cost is not None and decision.monthly_cost.usd == pytest.approx(14_965.0)
    assert decision.to_dict()["monthlyCost"]["usd"] == pytest.approx(14_965.0)


def test_format_usd_shows_sub_cent_amounts() -> None:
    assert format_usd(0.0012) == "$0.0012"
    assert format_usd(1234.5) == "$1,234.50"
    assert format_usd(0) == "$0.00"
