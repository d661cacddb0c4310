"""pipeline.pricelist: GetProducts documents mapped onto the catalog's prices (pure, no AWS).

The documents are hand-written in the documented PriceList shape (tests/recorded_prices.py).
"""

from __future__ import annotations

import json

import pytest

from pipeline import pricelist
from pipeline.catalog import all_models, get_model
from pipeline.pricelist import CACHED, CATALOG, PriceBook, parse
from pipeline.runspec import load_run_spec
from tests import recorded_prices as rec
from tests.operate.helpers import EXAMPLES


def _parsed() -> pricelist.Parsed:
    return parse(rec.DOCUMENTS, region=rec.REGION, fetched=rec.FETCHED, models=all_models())


def test_each_kind_of_product_becomes_the_catalog_figure_in_the_catalogs_unit() -> None:
    prices = _parsed().prices[rec.NOVA_MICRO]

    assert prices.training is not None and prices.training.value == pytest.approx(rec.TRAINING_PER_1K)
    assert prices.training.unit == "USD per 1K tokens"
    assert prices.storage_per_month is not None and prices.storage_per_month.value == rec.STORAGE_PER_MONTH
    assert prices.storage_per_month.unit == "USD per month"
    assert prices.pt_no_commit_per_mu_hour is not None
    assert prices.pt_no_commit_per_mu_hour.value == rec.PT_NO_COMMIT_PER_HOUR
    assert prices.pt_one_month_per_mu_hour is not None
    assert prices.pt_one_month_per_mu_hour.value == rec.PT_ONE_MONTH_PER_HOUR
    assert prices.pt_six_month_per_mu_hour is None  # not in the documents: unknown, not zero
    # Per 1K tokens in the Price List, per 1M in the catalog.
    assert prices.on_demand_input_per_1m_tokens is not None
    assert prices.on_demand_input_per_1m_tokens.value == pytest.approx(0.035)
    assert prices.on_demand_input_per_1m_tokens.unit == "USD per 1M input tokens"
    assert prices.on_demand_output_per_1m_tokens is not None
    assert prices.on_demand_output_per_1m_tokens.value == pytest.approx(0.14)


def test_every_figure_names_the_price_list_and_the_day_it_was_fetched() -> None:
    prices = _parsed().prices[rec.NOVA_MICRO]

    for price in (prices.training, prices.storage_per_month, prices.pt_no_commit_per_mu_hour):
        assert price is not None
        assert price.as_of == "2026-11-28"
        assert price.source == "AWS Price List API (GetProducts AmazonBedrock), us-east-1"


def test_batch_cross_region_zero_and_other_region_products_are_not_used() -> None:
    prices = _parsed().prices[rec.NOVA_MICRO]

    # The batch (0.0175/1M) and global (0.04/1M) input rates did not replace the in-Region one.
    assert prices.on_demand_input_per_1m_tokens is not None
    assert prices.on_demand_input_per_1m_tokens.value == pytest.approx(0.035)
    # The $0 storage row is not a price, and us-west-2's training price is not us-east-1's.
    assert prices.storage_per_month is not None and prices.storage_per_month.value == 1.95
    assert prices.training is not None and prices.training.value == pytest.approx(rec.TRAINING_PER_1K)


def test_a_usage_type_naming_nova_2_0_lite_is_nova_2_lite_and_unknown_models_are_listed() -> None:
    parsed = _parsed()

    nova2 = parsed.prices[rec.NOVA_2_LITE]
    assert nova2.pt_no_commit_per_mu_hour is not None
    assert nova2.pt_no_commit_per_mu_hour.value == rec.NOVA_2_LITE_PT_PER_HOUR
    assert nova2.training is None
    assert parsed.unmatched == ("USE1-NovaUltra-Customization-Training",)
    assert parsed.items == len(rec.DOCUMENTS)


def test_conflicting_figures_keep_the_highest_and_say_so() -> None:
    cheaper = rec.product(
        "NMTRAIN0002",
        "USE1-NovaMicro-Customization-Training",
        "0.0008000000",
        "1K tokens",
        "another tier",
        model="Nova Micro",
    )

    parsed = parse([*rec.DOCUMENTS, cheaper], region=rec.REGION, fetched=rec.FETCHED, models=all_models())

    training = parsed.prices[rec.NOVA_MICRO].training
    assert training is not None and training.value == pytest.approx(rec.TRAINING_PER_1K)
    assert any("training: 2 different prices" in note for note in parsed.notes)


def test_a_unit_that_cannot_be_read_leaves_the_price_unknown() -> None:
    vague = rec.product(
        "NMTRAIN0003",
        "USE1-NovaMicro-Customization-Training",
        "0.0010000000",
        "Units",
        "customization",
        model="Nova Micro",
    )
    per_million = rec.product(
        "NMIN0000002",
        "USE1-NovaMicro-input-tokens",
        "0.0350000000",
        "1M tokens",
        "per million input tokens",
        model="Nova Micro",
        inferenceType="Input tokens",
    )

    parsed = parse(
        [vague, per_million, "not json", json.dumps([1])],
        region=rec.REGION,
        fetched=rec.FETCHED,
        models=all_models(),
    )

    prices = parsed.prices[rec.NOVA_MICRO]
    assert prices.training is None
    assert prices.on_demand_input_per_1m_tokens is not None
    assert prices.on_demand_input_per_1m_tokens.value == pytest.approx(0.035)


def test_the_cached_form_round_trips() -> None:
    parsed = _parsed()

    again = pricelist.from_json(json.loads(json.dumps(pricelist.to_json(parsed))))

    assert again == parsed
    assert pricelist.from_json({"version": 2}) is None
    assert pricelist.from_json("garbage") is None


def test_a_price_book_takes_each_live_figure_and_keeps_the_catalogs_elsewhere() -> None:
    model = get_model(rec.NOVA_MICRO)
    book = PriceBook(rec.REGION, CACHED, parsed=_parsed(), cache_path="/tmp/prices.json", max_age_days=7)

    priced = book.priced(model)

    assert priced.prices.training is not None and priced.prices.training.source.startswith("AWS Price List")
    assert priced.model_id == model.model_id and priced.customizations is model.customizations
    assert "fetched 2026-11-28" in book.describe(model)
    assert "training, storage, PT no commitment, PT 1 month" in book.describe(model)
    assert book.describe(model).endswith("; unknown (no source): PT 6 months")
    # A model the Price List says nothing about keeps the catalog's figures, and the book says so.
    llama = get_model("meta.llama3-1-8b-instruct-v1:0:128k")
    assert book.priced(llama) is llama
    assert "has no price it can read for meta.llama3-1-8b" in book.describe(llama)


def test_a_priced_spec_carries_the_live_prices_into_the_plan_estimate() -> None:
    from pipeline import plan

    spec = load_run_spec(EXAMPLES / "runs" / "fine-tuning.yaml")
    book = PriceBook(rec.REGION, CACHED, parsed=_parsed(), cache_path="/tmp/prices.json", max_age_days=7)

    priced = book.priced_spec(spec)
    numbers = plan.estimate(priced, 10_000, 2)

    assert priced.name == spec.name and priced.model.prices.training is not None
    assert numbers["trainingUsd"] == pytest.approx(10_000 / 1000 * 2 * rec.TRAINING_PER_1K)
    assert numbers["throughputHourlyUsd"] == pytest.approx(60.5)
    assert numbers["storageMonthlyUsd"] == pytest.approx(1.95)
    assert "AWS Price List API" in numbers["basis"]["training"]
    # Without the live figure, the catalog's dated one (its source, not the Price List API's).
    offline_numbers = plan.estimate(spec, 10_000, 2)
    assert offline_numbers["trainingUsd"] == pytest.approx(10_000 / 1000 * 2 * 0.001)
    assert "AWS Price List API" not in offline_numbers["basis"]["training"]
    offline = PriceBook(rec.REGION, CATALOG, reason="offline (--offline)")
    assert offline.priced_spec(spec) is spec
    assert offline.describe(spec.model).endswith("offline (--offline)")


def test_a_custom_models_deployment_rate_is_read_apart_from_the_base_rate() -> None:
    parsed = parse(rec.DEPLOYMENT_DOCUMENTS, region=rec.REGION, fetched=rec.FETCHED, models=all_models())
    prices = parsed.prices[rec.NOVA_2_LITE]

    assert prices.deployment_input_per_1m_tokens is not None
    assert prices.deployment_input_per_1m_tokens.value == pytest.approx(rec.DEPLOYMENT_INPUT_PER_1K * 1000)
    assert prices.deployment_input_per_1m_tokens.unit == "USD per 1M input tokens"
    assert prices.deployment_output_per_1m_tokens is not None
    assert prices.deployment_output_per_1m_tokens.value == pytest.approx(rec.DEPLOYMENT_OUTPUT_PER_1K * 1000)
    # The base's own rate stays the base's; the cache-read variant is no token rate of either.
    assert prices.on_demand_input_per_1m_tokens is not None
    assert prices.on_demand_input_per_1m_tokens.value == pytest.approx(0.33)
    assert prices.on_demand_output_per_1m_tokens is None


def test_a_live_deployment_rate_replaces_the_catalogs_and_survives_the_cache() -> None:
    parsed = parse(rec.DEPLOYMENT_DOCUMENTS, region=rec.REGION, fetched=rec.FETCHED, models=all_models())
    model = get_model(rec.NOVA_2_LITE)
    book = PriceBook(
        rec.REGION, CACHED, parsed=pricelist.from_json(pricelist.to_json(parsed)), max_age_days=7
    )

    priced = book.prices_for(model)

    assert priced.deployment_input_per_1m_tokens is not None
    assert priced.deployment_input_per_1m_tokens.source.startswith("AWS Price List API")
    # The catalog's dated figure where the Price List gave none.
    assert priced.training == model.prices.training
    assert "on-demand deployment input" in book.describe(model)
