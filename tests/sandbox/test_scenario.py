"""``sandbox --scenario NAME``: the simulated Bedrock behaves like the named simulation scenario."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sandbox.conftest import Sandbox, run_spec, started_sandbox


@pytest.fixture(scope="module")
def failing_sandbox(sandbox_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with started_sandbox(
        sandbox_template, tmp_path_factory.mktemp("sandbox-job-failed"), "job-failed"
    ) as sandbox:
        yield sandbox


def test_job_failed_scenario_fails_the_run_and_buys_nothing(failing_sandbox: Sandbox) -> None:
    spec = run_spec(failing_sandbox.cwd, "sandbox-job-failed")
    run_id = failing_sandbox.json("start", str(spec), "--env", "sandbox", "--yes")["runId"]
    watched = failing_sandbox.cli(
        "watch", run_id, "--env", "sandbox", "--interval", "1", "--timeout", "60", check=False
    )
    assert watched.returncode == 1, watched.stdout + watched.stderr
    status = failing_sandbox.json("status", run_id, "--env", "sandbox")
    assert status["status"] == "FAILED"
    assert status["job"]["status"] == "Failed"
    assert not status["throughputArn"]
    assert [t for t in failing_sandbox.json("throughput", "list") if t.get("runId") == run_id] == []
