"""The sandbox runs each handler from its own synthesized asset: a broken asset stops it from starting."""

from __future__ import annotations

from pathlib import Path

from tests.sandbox.conftest import sandbox_exit
from tests.simulation.conftest import assembly_without


def test_a_sandbox_whose_asset_misses_a_module_refuses_to_start(
    sandbox_template: Path, tmp_path: Path
) -> None:
    broken = assembly_without(sandbox_template, "check_status", "pipeline/poll.py", tmp_path / "cdk.out")
    done = sandbox_exit(broken, tmp_path)
    assert done.returncode != 0
    assert "sandbox ready" not in done.stdout
    assert "lambdas.check_status.handler" in done.stderr
    assert "poll" in done.stderr
