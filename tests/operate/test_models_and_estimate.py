"""`models` (the catalog as tables) and `estimate` (costs from catalog prices, unknown never zero)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from pipeline import catalog, costs
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


def test_models_shows_each_models_lifecycle_as_of_today(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "today_utc", lambda: dt.date(2026, 11, 28))

    result = run_cli(capsys, "models")

    assert result.code == 0
    assert "LIFECYCLE" in result.out
    lines = result.out.splitlines()
    haiku = lines.index(next(line for line in lines if line.startswith("anthropic.claude-3-haiku")))
    assert "END_OF_LIFE" in lines[haiku]
    assert "legacy 2026-03-10" in lines[haiku + 1] and "end of life 2026-09-10" in lines[haiku + 3]
    assert "NOT_OFFERED" in next(line for line in lines if line.startswith("amazon.titan-text-express"))
    assert "ACTIVE" in next(line for line in lines if line.startswith("amazon.nova-2-lite"))
    assert "7 of them open to new customization jobs on 2026-11-28" in result.out
    assert "amazon.nova-premier-v1:0 (END_OF_LIFE)" in result.out  # teachers too


def test_models_json_carries_the_lifecycle(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "today_utc", lambda: dt.date(2026, 5, 1))

    result = run_cli(capsys, "models", "llama3-3", "--json")

    (llama33,) = result.json()
    assert llama33["lifecycle"]["status"] == "LEGACY"
    assert llama33["lifecycle"]["endOfLifeDate"] == "2027-03-30"
    assert llama33["lifecycle"]["asOf"] == "2026-05-01"
    assert llama33["lifecycle"]["source"].startswith("[UG:model-card-meta-llama-3-3-70b-instruct]")


def test_models_details_nova2_lite(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "models", "amazon.nova-2-lite-v1:0:256k")

    assert result.code == 0
    assert "FINE_TUNING:" in result.out and "format bedrock-conversation-2024" in result.out
    assert f"training records 8{DASH}20,000 (at least 200 advised)" in result.out
    assert "validation not accepted" in result.out
    assert f"learningRateWarmupSteps: 0{DASH}20 (default 10)" in result.out
    assert "reasoningContent" in result.out and "Lifecycle" in result.out


def test_models_says_when_a_teacher_reached_end_of_life(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "today_utc", lambda: dt.date(2026, 11, 28))

    result = run_cli(capsys, "models", "amazon.nova-premier-v1:0")

    assert result.code == 2
    assert "END_OF_LIFE (legacy 2026-03-13, end of life 2026-09-14)" in result.err


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
    if (data.get("serving") or {}).get("mode") == "provisioned":  # type: ignore[attr-defined]
        # Nothing is bought without a quality verdict: a bar measured on validation data.
        data |= {
            "validation": str(EXAMPLES / "datasets" / "prompt-completion-validation.jsonl"),
            "evaluation": {"minImprovementOverBase": 0.0},
        }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.usefixtures("titan_offered")
def test_estimate_prices_training_storage_evaluation_and_serving(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = _express_spec(
        tmp_path,
        serving={"mode": "provisioned", "modelUnits": 2, "commitment": "none"},
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
    # No on-demand deployment for Titan Text Express: 1 MU bought to evaluate on, released right after
    # the comparison: at most 4 h (3 h to come online, 15 min of comparison).
    assert doc["evaluationVehicle"] == "throughput"
    assert doc["evaluationThroughputHourlyUsd"] == 20.5
    assert doc["evaluationUsd"] == 82.0
    assert "at most 4 h" in doc["basis"]["evaluation"]
    assert doc["servingMode"] == "provisioned"
    assert doc["serving"]["modelUnits"] == 2
    assert doc["throughputHourlyUsd"] == 41.0
    assert doc["throughputDailyUsd"] == 984.0
    assert doc["throughputMonthlyUsd"] == 41.0 * 730
    assert doc["storageMonthlyUsd"] == 1.95
    assert doc["commitmentTermUsd"] is None
    assert "as of 2024-04" in doc["basis"]["throughputHourly"]
    # The evaluation's at most 4 h ($82) are within the threshold; a month of serving is not.
    assert doc["approval"]["required"] is True
    assert doc["approval"]["beforeEvaluation"] is False and doc["approval"]["beforeServing"] is True
    assert doc["firstMonth"]["complete"] is True
    assert doc["firstMonth"]["usd"] == pytest.approx(doc["trainingUsd"] + 1.95 + 82.0 + 41.0 * 730, abs=0.01)

    text = run_cli(capsys, "estimate", str(spec)).out
    assert re.search(r"Evaluation throughput\s+\$82.00\s+\$82.00 \(at most 4 h", text)
    assert "$20.50/hour until released right after the comparison" in text
    assert re.search(r"Serving throughput per hour\s+\$41.00", text)
    assert "Approval:   required before the serving throughput is bought (after the quality bar)" in text


@pytest.mark.usefixtures("titan_offered")
def test_estimate_of_a_run_that_serves_on_its_evaluation_throughput_counts_it_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = _express_spec(
        tmp_path, serving={"mode": "provisioned", "modelUnits": 1}, approval={"policy": "never"}
    )

    doc = run_cli(capsys, "estimate", str(spec), "--json").json()
    text = run_cli(capsys, "estimate", str(spec)).out

    assert doc["evaluationVehicle"] == "throughput"
    assert doc["evaluationUsd"] is None and "evaluation" not in doc["unknown"]  # in serving, not unknown
    assert doc["firstMonth"]["usd"] == pytest.approx(doc["trainingUsd"] + 1.95 + 20.5 * 730, abs=0.01)
    assert "kept to serve with if the model passes" in text
    assert re.search(
        r"Evaluation throughput\s+\$20.50/hour from purchase\s+1 MU, no commitment: the throughput", text
    )


def test_estimate_shows_unknown_prices_as_unknown_not_zero(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "estimate", str(EXAMPLES / "runs" / "fine-tuning.yaml"))

    assert result.code == 0, result.err
    assert "$0.00 " not in result.out
    assert re.search(r"Training\s+\$0\.0\d+ ", result.out)  # the catalog's dated (UNCONFIRMED) price
    assert re.search(r"Serving throughput per hour\s+unknown", result.out)
    # Evaluated on an on-demand deployment: Nova Micro's token prices are known, so that part is not.
    assert re.search(r"Evaluation \(on demand\)\s+\$0.00\d\d\s+\$0.00\d\d \(2 models x", result.out)
    # Training and storage are priced now (Nova Micro, sourced); the serving throughput is named
    assert re.search(r"First month\s+at least \$1\.9\d \+ serving throughput \(no price\)", result.out)
    assert (
        "Approval:   required before the serving throughput is bought (after the quality bar)" in result.out
    )


def test_estimate_of_on_demand_serving_shows_token_rates_and_no_fixed_cost(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_cli(capsys, "estimate", str(EXAMPLES / "runs" / "distillation.yaml"), "--json")

    doc = result.json()
    assert doc["servingMode"] == "on-demand" and doc["evaluationVehicle"] == "deployment"
    assert doc["onDemandPer1MTokensUsd"] == {"input": 0.035, "output": 0.14}
    assert doc["throughputHourlyUsd"] is None and "serving throughput" not in doc["unknown"]
    assert doc["approval"]["required"] is False
    text = run_cli(capsys, "estimate", str(EXAMPLES / "runs" / "distillation.yaml")).out
    assert re.search(r"Serving \(on demand\)\s+\$0.035 / \$0.14 per 1M tokens\s+input / output tokens", text)
    assert "Serving throughput" not in text


@pytest.mark.usefixtures("titan_offered")
def test_estimate_of_a_commitment_shows_the_term(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = _express_spec(
        tmp_path,
        serving={"mode": "provisioned", "modelUnits": 1, "commitment": "SixMonths"},
        approval={"policy": "always"},
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


def test_estimate_of_a_judged_slot_run_counts_the_champions_judge_job(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (EXAMPLES / "runs" / "serving-slot.yaml").read_text(encoding="utf-8")
    text = text.replace("../", f"{EXAMPLES}/").replace(
        "  minImprovementOverChampion: 0.02", "  minImprovementOverChampion: 0.02\n  judge: {}"
    )
    spec = tmp_path / "run.yaml"
    spec.write_text(text, encoding="utf-8")

    result = run_cli(capsys, "estimate", str(spec), "--json")

    assert result.code == 0, result.err
    doc = result.json()
    # Whether the slot has a champion is known only to the preflight: its job is counted.
    assert "16 prompt(s) x 3 models x 2 metric(s) = 96 judge calls" in doc["basis"]["judge"]
    out = run_cli(capsys, "estimate", str(spec)).out
    assert "Judge (LLM, up to 3 evaluation jobs)" in out
