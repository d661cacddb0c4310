"""Spec problems carry ``file:line`` (pipeline.spec_lines): the line of the field, from YAML node marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.problems import Problem
from pipeline.spec_lines import field_lines, line_of, located

ROOT = Path(__file__).resolve().parents[2]
SPEC = """\
name: support-bot
region: us-east-1
hyperParameters:
  epochCount: 2
validation:
  - a.jsonl
  - b.jsonl
evaluation:
  judge:
    bars:
      Builtin.Correctness: {minScore: 0.7}
"""


def test_every_key_and_list_item_has_its_line() -> None:
    lines = field_lines(SPEC)

    assert lines["name"] == 1
    assert lines["hyperParameters.epochCount"] == 4
    assert lines["validation[1]"] == 7
    assert lines["evaluation.judge.bars.Builtin.Correctness"] == 11
    assert lines["evaluation.judge.bars.Builtin.Correctness.minScore"] == 11


def test_a_missing_field_points_at_the_section_that_should_hold_it() -> None:
    lines = field_lines(SPEC)

    assert line_of(lines, "hyperParameters.learningRate") == 3
    assert line_of(lines, "evaluation.judge.customMetrics[0].name") == 9
    assert line_of(lines, "serving.mode") is None  # nothing to point at
    assert field_lines("name: [unclosed\n") == {}


def test_json_specs_have_lines_too() -> None:
    lines = field_lines('{\n  "name": "x",\n  "serving": {\n    "modelUnits": 0\n  }\n}\n')

    assert lines["serving.modelUnits"] == 4


def test_problems_get_the_line_of_their_field(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(SPEC, encoding="utf-8")

    found = located(
        [Problem("hyperParameters.epochCount", 200, "1-5", "out of range"), Problem("", "x", "", "file")],
        path,
    )

    assert [p.line for p in found] == [4, None]


def test_check_prints_file_line_field_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "examples" / "runs" / "fine-tuning.yaml").read_text(encoding="utf-8")
    text = text.replace("epochCount: 2 ", "epochCount: 200").replace("../", f"{ROOT / 'examples'}/")
    path = tmp_path / "run.yaml"
    path.write_text(text, encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), start=1) if "epochCount" in row)

    code = main(["check", str(path), "--offline"])

    out = capsys.readouterr().out
    assert code == 2
    assert f"{path}:{line}: hyperParameters.epochCount: epochCount=200 is out of range" in out


def test_a_syntax_error_says_where_and_nothing_about_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("name: x\nregion: us-east-1\nbaseModel: [oops\n", encoding="utf-8")

    code = main(["check", str(path), "--offline"])

    out = capsys.readouterr().out
    assert code == 2
    assert f"{path}:4: not valid YAML: expected ',' or ']', but got '<stream end>' (column 1)" in out
    # No dataset was read, so nothing about how dataset tokens are counted.
    assert "token estimate" not in out
