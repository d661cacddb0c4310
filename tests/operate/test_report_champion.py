"""`report` of a run into a serving slot with a champion: base, champion and challenger side by side,
the challenger against each (issue 23)."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

from pipeline.operate import report
from tests.operate.test_report import EXAMPLE

CHAMPION_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/faq-slot"


def _run_dir(tmp_path: Path, *, champion: bool) -> Path:
    directory = tmp_path / ("champion" if champion else "plain")
    directory.mkdir()
    for name in ("record.json", "loss-curves.json", "evaluation.json"):
        shutil.copy(EXAMPLE / name, directory / name)
    if champion:
        evaluation = json.loads((directory / "evaluation.json").read_text(encoding="utf-8"))
        held = copy.deepcopy(evaluation["base"])
        held.update(modelId=CHAMPION_ARN, quality=0.7125)
        evaluation["champion"] = held
        (directory / "evaluation.json").write_text(json.dumps(evaluation), encoding="utf-8")
    return directory


def _comparison_lines(written: report.Written) -> list[str]:
    text = written.markdown.read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.startswith("| Metric") or "Quality (ROUGE-L)" in line]


def test_a_run_into_a_slot_with_a_champion_shows_base_champion_and_challenger(
    tmp_path: Path,
) -> None:
    run = _run_dir(tmp_path, champion=True)
    written = report.render_run(report.load_dir(run), tmp_path / "out")
    header, quality = _comparison_lines(written)
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert cells == ["Metric", "custom", "champion", "base", "custom - champion", "custom - base"]
    custom = json.loads((run / "evaluation.json").read_text(encoding="utf-8"))["custom"]["quality"]
    values = [c.strip() for c in quality.strip("|").split("|")]
    assert values[2] == "0.713"  # the champion's quality, rounded as the table rounds
    assert values[4] == f"{custom - 0.7125:+.3f}"
    assert CHAMPION_ARN in written.markdown.read_text(encoding="utf-8")


def test_a_run_without_a_champion_compares_with_its_base_only(tmp_path: Path) -> None:
    run = _run_dir(tmp_path, champion=False)
    written = report.render_run(report.load_dir(run), tmp_path / "out")
    header, _ = _comparison_lines(written)
    assert [c.strip() for c in header.strip("|").split("|")] == ["Metric", "custom", "base", "custom - base"]
