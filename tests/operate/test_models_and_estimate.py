"""`models` (the catalog as tables) and `estimate` (costs from catalog prices, unknown never zero)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pipeline import costs
from pipeline.catalog import all_models, get_model
from pipeline.problems import DASH
from tests.operate.helpers import EXAMPLES, run_cli


def test_models_lists_every_catalog_model_with_types_formats_and_prices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_cli(capsys, "models")

    assert result.code == 0
    for model in all_models():
        assert model.model_id in result.out
    assert "FINE_TUNING (bedrock-conversation-2024)" in result.out
    assert "CONTINUED_PRE_TRAINING (continued-pretraining)" in result.out
    # Known prices carry their date; unknown ones say so.
    express = next(
        line
        for line in result.out.splitlines()
        if line.startswith("amazon.titan-text-express") and "$" in line
    )
    assert "$0.008 per 1K tokens" in express and "$20.5" in express and "2024-04" in express
    assert "unknown" in express
    assert "cannot be customized through this pipeline" in result.out


def test_models_answers_which_models_can_be_distilled(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "models", "--type", "DISTILLATION", "--json")

    ids = {m["modelId"] for m in result.json()}
    assert ids == {m.model_id for m in all_models() if m.supports("DISTILLATION")}
    assert "anthropic.claude-3-haiku-20240307-v1:0:200k" not in ids
    assert "amazon.nova-canvas-v1:0" not in ids


def test_models_filters_by_region(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "models", "--region", "us-west-2", "--json")

    assert {m["modelId"] for m in result.json()} == {
        m.model_id for m in all_models() if "us-west-2" in m.regions
    }


def test_models_says_a_model_cannot_be_customized_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "models", "amazon.nova-premier-v1:0")

    assert result.code == 2
    assert "'amazon.nova-premier-v1:0' cannot be customized through this pipeline" in result.err
    assert "distillation teacher for" in result.err


def test_models_shows_everything_about_one_model(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "models", "amazon.titan-text-express-v1:0:8k")

    assert result.code == 0
    assert "CONTINUED_PRE_TRAINING:" in result.out
    assert f"epochCount: 1{DASH}10 (default 5)" in result.out
    assert "PT no commitment: 20.5 USD per model-unit hour (as of 2024-04" in result.out


def _express_spec(tmp_path: Path, **extra: object) -> Path:
    data = {
        "name": "faq-express",
        "region": "us-east-1",
        "baseModel": "amazon.titan-text-express-v1:0:8k",
        "customizationType": "FINE_TUNING",
        "training": str(EXAMPLES / "datasets" / "prompt-completion-train.jsonl"),
        "hyperParameters": {"epochCount": 3},
        **extra,
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_estimate_prices_training_storage_and_throughput(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = _express_spec(
        tmp_path,
        throughput={"modelUnits": 2, "commitment": "none"},
        approval={"policy": "above-cost", "monthlyCostThreshold": 100},
    )

    result = run_cli(capsys, "estimate", str(spec), "--json")

    assert result.code == 0, result.err
    doc = result.json()
    model = get_model("amazon.titan-text-express-v1:0:8k")
    tokens = doc["trainingTokens"]
    assert tokens > 0
    assert doc["trainingUsd"] == pytest.approx(round(tokens / 1000 * 3 * 0.008, 4))
    assert doc["trainingUsd"] == pytest.approx(costs.training_cost(model, tokens, 3).usd, abs=1e-4)  # type: ignore[union-attr]
    assert doc["throughputHourlyUsd"] == 41.0
    assert doc["throughputDailyUsd"] == 984.0
    assert doc["throughputMonthlyUsd"] == 41.0 * 730
    assert doc["storageMonthlyUsd"] == 1.95
    assert doc["commitmentTermUsd"] is None
    assert "as of 2024-04" in doc["basis"]["throughputHourly"]
    assert doc["approval"]["required"] is True
    assert doc["firstMonth"]["complete"] is True


def test_estimate_shows_unknown_prices_as_unknown_not_zero(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "estimate", str(EXAMPLES / "runs" / "fine-tuning.yaml"))

    assert result.code == 0, result.err
    assert "$0.00" not in result.out
    assert re.search(r"Training\s+unknown\s+no training price for amazon.nova-micro-v1:0:128k", result.out)
    assert re.search(r"Throughput per hour\s+unknown", result.out)
    assert "First month           unknown (training, storage, throughput unknown)" in result.out


def test_estimate_of_a_commitment_shows_the_term(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = _express_spec(
        tmp_path, throughput={"modelUnits": 1, "commitment": "SixMonths"}, approval={"policy": "always"}
    )

    result = run_cli(capsys, "estimate", str(spec))

    assert result.code == 0
    # No six-month price in the catalog: the term is unknown, and said to be.
    assert re.search(r"Commitment term\s+unknown\s+no SixMonths Provisioned Throughput price", result.out)


def test_estimate_of_an_invalid_spec_exits_2_and_points_to_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = _express_spec(tmp_path, hyperParameters={"epochCount": 99})

    result = run_cli(capsys, "estimate", str(spec))

    assert result.code == 2
    assert "epochCount=99 is out of range" in result.err
    assert f"bedrock-customize check {spec}" in result.err
