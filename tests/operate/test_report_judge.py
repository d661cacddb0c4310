"""`report` of a run judged by an LLM: per-metric scores (base vs custom, bars) and the judge's
explanations of the worst prompts, checked in headless Chromium like the main report test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipeline import judge
from pipeline.operate import report
from tests.operate.test_report import EXAMPLE, _chromium_or_skip, generator, parse

JUDGE_PLAN: dict[str, Any] = {
    "model": "amazon.nova-pro-v1:0",
    "metrics": ["Builtin.Correctness", "Builtin.Completeness"],
    "customMetrics": [],
    "bars": {"Builtin.Correctness": {"minScore": 0.7, "minImprovementOverBase": 0.0}},
}


def _results(scores: list[float], who: str) -> dict[str, Any]:
    lines = [
        json.dumps(
            {
                "automatedEvaluationResult": {
                    "scores": [
                        {
                            "metricName": metric,
                            "result": score,
                            "evaluatorDetails": [
                                {"explanation": f"{who} answer {i} misses the refund window"}
                            ],
                        }
                        for metric in ("Builtin.Correctness", "Builtin.Completeness")
                    ]
                },
                "inputRecord": {"prompt": f"How do I return order {i}?"},
            }
        )
        for i, score in enumerate(scores)
    ]
    return judge.parse_results(
        [("o/j/u/models/m/taskTypes/General/datasets/d/f_output.jsonl", "\n".join(lines))]
    )


@pytest.fixture(scope="module")
def judged_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("judged-run")
    for name in ("record.json", "loss-curves.json", "evaluation.json"):
        shutil.copy(EXAMPLE / name, directory / name)
    custom = _results([0.95, 0.9, 0.4, 0.85], "custom")
    base = _results([0.6, 0.5, 0.6, 0.6], "base")
    verdict = judge.verdict(JUDGE_PLAN, custom, base, worst=2)
    (directory / "judge.json").write_text(
        json.dumps({"runId": "support-bot-judged", "judge": JUDGE_PLAN["model"], **verdict}), encoding="utf-8"
    )
    return directory


@pytest.fixture(scope="module")
def rendered(judged_run: Path, tmp_path_factory: pytest.TempPathFactory) -> report.Written:
    return report.render_run(report.load_dir(judged_run), tmp_path_factory.mktemp("report"))


def _assert_judge_dom(text: str) -> None:
    dom = parse(text)
    table = dom.words("judge-table")
    assert dom.count("judge-table", "tr") == 3  # header, Correctness, Completeness
    assert "Correctness 0.575 0.775 +0.200 min 0.700, improvement >= +0 passed" in table
    assert "Completeness 0.575 0.775 +0.200 none (reported only) -" in table
    worst = dom.words("judge-worst-table")
    assert dom.count("judge-worst-table", "tr") == 3  # header, the two worst prompts
    assert "How do I return order 2?" in worst
    assert "Correctness 0.400: custom answer 2 misses the refund window" in worst
    assert "every bar met" in dom.words("judge")


def test_the_report_shows_the_judges_scores_bars_and_explanations(rendered: report.Written) -> None:
    _assert_judge_dom(rendered.html.read_text(encoding="utf-8"))
    markdown = rendered.markdown.read_text(encoding="utf-8")
    assert "## Judged by an LLM" in markdown
    assert "| Correctness | 0.575 | 0.775 | +0.200 | min 0.700, improvement >= +0 | passed |" in markdown


def test_a_run_without_a_judge_has_no_judge_section(tmp_path: Path) -> None:
    written = report.render_run(report.load_dir(EXAMPLE), tmp_path)
    assert 'id="judge"' not in written.html.read_text(encoding="utf-8")


def test_the_judge_section_renders_in_headless_chromium(rendered: report.Written, tmp_path: Path) -> None:
    _chromium_or_skip()
    dom_text = generator().chromium(rendered.html, "--dump-dom", profile=tmp_path / "profile")
    _assert_judge_dom(dom_text)


def test_in_a_serving_slot_the_champions_judged_scores_stand_beside_base_and_custom(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    directory.mkdir()
    for name in ("record.json", "loss-curves.json", "evaluation.json"):
        shutil.copy(EXAMPLE / name, directory / name)
    plan = JUDGE_PLAN | {
        "bars": {
            "Builtin.Correctness": {
                "minScore": 0.7,
                "minImprovementOverBase": 0.0,
                "minImprovementOverChampion": 0.0,
            }
        }
    }
    custom = _results([0.95, 0.9, 0.4, 0.85], "custom")
    base = _results([0.6, 0.5, 0.6, 0.6], "base")
    champion = _results([0.9, 0.9, 0.8, 0.8], "champion")
    verdict = judge.verdict(plan, custom, base, champion, worst=2)
    (directory / "judge.json").write_text(
        json.dumps({"runId": "support-bot-judged", "judge": plan["model"], **verdict}), encoding="utf-8"
    )
    written = report.render_run(report.load_dir(directory), tmp_path / "report")
    markdown = written.markdown.read_text(encoding="utf-8")
    assert (
        "| Metric | Base model | Champion | Custom model | Custom - base | Custom - champion | Bar "
        "| Verdict |" in markdown
    )
    assert (
        "| Correctness | 0.575 | 0.850 | 0.775 | +0.200 | -0.075 | min 0.700, improvement >= +0, "
        "over champion >= +0 | failed |" in markdown
    )
    assert "| Completeness | 0.575 | 0.850 | 0.775 | +0.200 | -0.075 | none (reported only) | - |" in markdown
    assert "Correctness: custom 0.775 is 0.075 below the champion's 0.850" in markdown
    assert "Correctness 0.775 (base 0.575, champion 0.850)" in markdown
