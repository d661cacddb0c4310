"""Amazon Nova 2 Lite through the CLI: `validate` accepts reasoning turns and refuses tool use by line,
`models` describes it [UG:nova-2-sft-data-prep], [NOVA2:nova-data-prep-sft-2]."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import cli

NOVA2_LITE = "amazon.nova-2-lite-v1:0:256k"


def record(i: int, *extra_assistant_blocks: dict[str, Any], with_reasoning: bool = True) -> dict[str, Any]:
    assistant: list[dict[str, Any]] = [{"text": f"The answer is {i}."}]
    if with_reasoning:
        assistant.insert(0, {"reasoningContent": {"reasoningText": {"text": f"{i} plus 0 is {i}."}}})
    return {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "You answer arithmetic questions."}],
        "messages": [
            {"role": "user", "content": [{"text": f"What is {i} plus 0?"}]},
            {"role": "assistant", "content": assistant + list(extra_assistant_blocks)},
        ],
    }


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def test_validate_accepts_reasoning_and_plain_turns(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # 8 records: the documented minimum; half of them with reasoning, half without.
    path = write(tmp_path / "train.jsonl", [record(i, with_reasoning=i % 2 == 0) for i in range(8)])

    code, out = run(capsys, "validate", "--model", NOVA2_LITE, "--region", "us-east-1", str(path), "--json")

    report = json.loads(out)
    assert code == 0, report["errors"]
    assert report["ok"] and report["datasets"][0]["validRecords"] == 8
    # Below the 200 samples AWS recommends: a warning, not an error.
    assert [w["kind"] for w in report["datasets"][0]["warnings"]] == ["record-count"]


def test_validate_refuses_tool_use_with_the_line_number(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    records = [record(i) for i in range(10)]
    records[6] = record(6, {"toolUse": {"toolUseId": "add_0", "name": "add", "input": {"a": 6, "b": 0}}})
    path = write(tmp_path / "train.jsonl", records)

    code, out = run(capsys, "validate", "--model", NOVA2_LITE, str(path))

    assert code == 2
    assert (
        f"{path}:7: messages[1].content[2].toolUse: tool use (toolUse block) is not supported in "
        f"{NOVA2_LITE} training data"
    ) in out


def test_validate_refuses_a_validation_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", [record(i) for i in range(8)])

    code, out = run(capsys, "validate", "--model", NOVA2_LITE, str(path), "--validation", str(path))

    assert code == 2
    assert f"{NOVA2_LITE} does not accept a validation dataset for FINE_TUNING" in out


def test_models_lists_its_customization_types(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(capsys, "models", NOVA2_LITE, "--json")

    (model,) = json.loads(out)
    assert code == 0
    assert model["customizationTypes"] == ["FINE_TUNING", "REINFORCEMENT_FINE_TUNING"]
    assert set(model["hyperParametersByType"]) == {"REINFORCEMENT_FINE_TUNING"}
    assert model["regions"] == ["us-east-1"]
    assert model["onDemandDeploymentRegions"] == ["us-east-1"]
    assert model["baseInvokedThroughProfile"] is True
