"""The simulation runs each handler from its own synthesized asset, alone: a broken asset breaks it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from pipeline.simulation.cli import EXIT_OPERATIONAL, add_simulate_parser
from pipeline.simulation.lambdas import FunctionLoadError
from pipeline.simulation.runner import simulate
from pipeline.simulation.scenarios import get_scenario
from tests.simulation.conftest import ROOT, assembly_without

FINE_TUNING = ROOT / "examples" / "runs" / "fine-tuning.yaml"


def test_an_asset_missing_a_module_fails_the_simulation_before_the_run_starts(
    template: Path, tmp_path: Path
) -> None:
    broken = assembly_without(
        template, "evaluate_loss", "lambdas/common/metric_names.py", tmp_path / "cdk.out"
    )
    with pytest.raises(FunctionLoadError) as failed:
        simulate(FINE_TUNING, get_scenario("happy"), broken, out_dir=tmp_path / "out", report=False)
    message = str(failed.value)
    assert "lambdas.evaluate_loss.handler" in message
    assert "metric_names" in message
    assert not (tmp_path / "out" / "simulation.json").exists()


def test_simulate_exits_operational_on_a_broken_asset(
    template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = assembly_without(template, "run_ended", "pipeline/release.py", tmp_path / "cdk.out")
    parser = argparse.ArgumentParser()
    add_simulate_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["simulate", str(FINE_TUNING), "--template", str(broken), "--out", str(tmp_path)]
    )
    assert args.handler(args) == EXIT_OPERATIONAL
    err = capsys.readouterr().err
    assert "lambdas.run_ended.handler" in err and "pipeline.release" in err


def test_the_handlers_run_from_their_assets_not_from_the_repository(template: Path, tmp_path: Path) -> None:
    result = simulate(FINE_TUNING, get_scenario("happy"), template, out_dir=tmp_path, report=False)
    assert result.status == "SUCCEEDED"
    log = (tmp_path / "logs" / "cleanup.log").read_text(encoding="utf-8")
    assert log  # the evaluation vehicle was released by the cleanup handler
    import sys

    loaded = [
        m.__file__
        for name, m in list(sys.modules.items())
        if name.startswith("_lambda_asset_") and name.endswith(".lambdas.cleanup.handler")
    ]
    assert loaded and all(str(ROOT) not in str(path) for path in loaded)
