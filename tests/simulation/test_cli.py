"""``bedrock-customize simulate``: what a person sees, the exit codes, the files written."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from pipeline.simulation.cli import EXIT_INVALID, EXIT_OK, EXIT_OPERATIONAL, add_simulate_parser

ROOT = Path(__file__).resolve().parents[2]
FINE_TUNING = str(ROOT / "examples" / "runs" / "fine-tuning.yaml")


def simulate(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_simulate_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["simulate", *argv])
    return int(args.handler(args))


def test_happy_demo_prints_a_timeline_and_ends_with_the_status(
    template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = simulate(FINE_TUNING, "--template", str(template), "--out", str(tmp_path))
    out = capsys.readouterr().out
    lines = out.rstrip("\n").splitlines()
    assert code == EXIT_OK, out
    assert lines[-1] == "SUCCEEDED"
    assert lines[-2].startswith("State transitions: ")
    for state in ("Train the custom model (with validation data)", "Ask for approval", "Record the run"):
        assert state in out
    assert "3h 00m" in out  # the training wait, in simulated time
    record = next(tmp_path.glob("runs/*/record.json"))
    assert f"run record  {record}" in out
    report = next(tmp_path.glob("report/*.html"))
    assert str(report) in out
    assert "<html" in report.read_text(encoding="utf-8").lower()
    summary = json.loads((tmp_path / "simulation.json").read_text(encoding="utf-8"))
    assert summary["status"] == "SUCCEEDED"
    assert (tmp_path / "logs" / "preflight.log").is_file()


def test_a_failure_scenario_that_fails_as_designed_exits_0(
    template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = simulate(
        FINE_TUNING,
        "--scenario",
        "pt-failed",
        "--template",
        str(template),
        "--out",
        str(tmp_path),
        "--no-report",
    )
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert out.rstrip("\n").splitlines()[-1] == "FAILED"
    assert "Error: ThroughputFailed" in out
    assert "throughput  " in out and "deleted" in out


def test_json_output(template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = simulate(
        FINE_TUNING,
        "--scenario",
        "eval-below-bar",
        "--json",
        "--template",
        str(template),
        "--out",
        str(tmp_path),
    )
    document = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK
    assert document["status"] == "FAILED"
    assert document["expectationProblems"] == []
    assert document["transitions"] == len(document["timeline"]) + document["retries"]


def test_operational_and_input_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate(FINE_TUNING, "--template", str(tmp_path / "none.json")) == EXIT_OPERATIONAL
    assert "make synth" in capsys.readouterr().err
    assert simulate(FINE_TUNING, "--scenario", "no-such-scenario") == EXIT_INVALID
    assert "happy" in capsys.readouterr().err
    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_text("name: Not Valid\n", encoding="utf-8")
    assert simulate(str(bad_spec), "--template", str(tmp_path / "none.json")) == EXIT_INVALID
    assert simulate() == EXIT_INVALID


def test_list_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate("--list-scenarios") == EXIT_OK
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names[0] == "happy"
    assert {"pt-timeout", "duplicate-start", "throttling"} <= set(names)
